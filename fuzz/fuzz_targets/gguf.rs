//! The GGUF header/metadata path kurz takes when it opens a model file
//! (`kurz::model::Model::load` → `from_reader`), on arbitrary bytes:
//! kurz's `gguf::read_content` (Candle's reader, its panics turned into
//! errors) on a `Cursor`, then kurz's
//! `Metadata`, `Config::from_metadata`, `TextTokenizer::from_gguf`, the
//! chat template (compile and render) and `Transformer::from_gguf` (CPU,
//! unmapped, so tensors are read from the cursor).
//!
//! Run with `-rss_limit_mb=2048 -malloc_limit_mb=2048`: an allocation of a
//! size chosen by the file is a finding.
#![no_main]

use std::io::Cursor;

use candle_core::Device;
use kurz::model::gguf::{read_content, Metadata};
use kurz::model::{
    ChatTemplate, Config, CpuKernels, Message, PromptPiece, TextTokenizer, Transformer,
};
use libfuzzer_sys::fuzz_target;

/// libfuzzer-sys's panic hook aborts at once, before `read_content` can
/// turn Candle's panics into errors; a quiet hook lets it. A panic nobody
/// catches still aborts (libfuzzer-sys catches it at the target's edge).
fn let_read_content_catch_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|data: &[u8]| {
    let_read_content_catch_panics();
    let mut reader = Cursor::new(data);
    let Ok(content) = read_content(&mut reader) else {
        return;
    };
    let md = Metadata::new(&content);
    let _ = md.architecture();
    let _ = md.opt_string("general.name");
    let _ = Config::from_metadata(&md);
    if let Ok(tokenizer) = TextTokenizer::from_gguf(&md, None) {
        let _ = tokenizer.encode_chat(&[
            PromptPiece::Markup("<|im_start|>user\n"),
            PromptPiece::Text("Ein kurzer Satz. <|im_end|>"),
        ]);
        let llama3_vocab = tokenizer.token_id("<|eot_id|>").is_some();
        let template = md.opt_string("tokenizer.chat_template").ok().flatten();
        if let Ok(template) = ChatTemplate::new(
            template,
            llama3_vocab,
            tokenizer.bos_text(),
            tokenizer.eos_text(),
        ) {
            let _ = template.render(&[Message::system("Sei kurz."), Message::user("Text")]);
        }
    }
    let cpu = CpuKernels::portable();
    let _ = Transformer::from_gguf(&content, &mut reader, &Device::Cpu, None, 1, cpu);
});
