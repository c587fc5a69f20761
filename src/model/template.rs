//! Chat prompts: the model's own Jinja chat template from GGUF metadata
//! (`tokenizer.chat_template`), rendered with minijinja, or a built-in
//! template for the architecture when the file has none.

use minijinja::{context, Environment, ErrorKind};
use serde::Serialize;

use super::ModelError;

/// Who says a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions framing the conversation.
    System,
    /// The person asking.
    User,
    /// The model.
    Assistant,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// ChatML, used by Qwen and SmolLM when a file carries no template.
const CHATML: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// Llama 3 instruct format.
const LLAMA3: &str = "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

/// A compiled chat template.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: TemplateSource,
    bos_token: String,
    eos_token: String,
}

/// Where a chat template came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSource {
    /// `tokenizer.chat_template` in the GGUF file.
    Model,
    /// kurz's built-in template for the architecture.
    BuiltIn,
}

impl ChatTemplate {
    /// Compiles the model's template, or the built-in one for the
    /// architecture (ChatML unless the vocabulary is Llama 3's).
    pub fn new(
        model_template: Option<String>,
        llama3_vocab: bool,
        bos_token: String,
        eos_token: String,
    ) -> Result<Self, ModelError> {
        let (text, source) = match model_template {
            Some(t) if !t.trim().is_empty() => (t, TemplateSource::Model),
            _ if llama3_vocab => (LLAMA3.to_string(), TemplateSource::BuiltIn),
            _ => (CHATML.to_string(), TemplateSource::BuiltIn),
        };
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_template_owned("chat", text)
            .map_err(|e| ModelError::Template(e.to_string()))?;
        Ok(Self {
            env,
            source,
            bos_token,
            eos_token,
        })
    }

    /// Where the template came from.
    pub fn source(&self) -> TemplateSource {
        self.source
    }

    /// Renders `messages` followed by the opening of the assistant's turn.
    pub fn render(&self, messages: &[Message]) -> Result<String, ModelError> {
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| ModelError::Template(e.to_string()))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
                tools => minijinja::Value::UNDEFINED,
            })
            .map_err(|e| ModelError::Template(format!("cannot render chat template: {e}")))
    }
}

fn raise_exception(message: String) -> Result<String, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN_LIKE: &str = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}{%- endif %}{%- for message in messages %}{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    #[test]
    fn renders_model_template_with_system_message() {
        let t =
            ChatTemplate::new(Some(QWEN_LIKE.into()), false, String::new(), String::new()).unwrap();
        assert_eq!(t.source(), TemplateSource::Model);
        let out = t
            .render(&[Message::system("Be brief."), Message::user("Hallo")])
            .unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHallo<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn falls_back_to_chatml() {
        let t = ChatTemplate::new(None, false, String::new(), String::new()).unwrap();
        assert_eq!(t.source(), TemplateSource::BuiltIn);
        let out = t.render(&[Message::user("Hi")]).unwrap();
        assert_eq!(
            out,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn llama3_fallback_uses_bos_and_headers() {
        let t = ChatTemplate::new(None, true, "<|begin_of_text|>".into(), String::new()).unwrap();
        let out = t.render(&[Message::user(" Hi ")]).unwrap();
        assert_eq!(
            out,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn python_string_methods_work() {
        let t = ChatTemplate::new(
            Some("{{ messages[0].content.strip() }}|{{ messages[0].role.upper() }}".into()),
            false,
            String::new(),
            String::new(),
        )
        .unwrap();
        assert_eq!(t.render(&[Message::user("  x  ")]).unwrap(), "x|USER");
    }

    #[test]
    fn raise_exception_becomes_an_error() {
        let t = ChatTemplate::new(
            Some("{{ raise_exception('no system role') }}".into()),
            false,
            String::new(),
            String::new(),
        )
        .unwrap();
        let err = t.render(&[Message::user("x")]).unwrap_err().to_string();
        assert!(err.contains("no system role"), "{err}");
    }
}
