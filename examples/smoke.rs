use kurz::generate::{generate, GenerateOptions};
use kurz::model::{Message, Model};
fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap();
    let t = std::time::Instant::now();
    let model = Model::load(path.as_ref(), &candle_core::Device::Cpu)?;
    eprintln!("loaded in {:?}", t.elapsed());
    let msgs = [Message::system("You are a helpful assistant."), Message::user("Fasse zusammen: Der Bundestag hat am Donnerstag den Haushalt für 2025 beschlossen. Finanzminister Lindner sprach von einem Kraftakt.")];
    let ids = model.chat_tokens(&msgs)?;
    eprintln!("PROMPT {}", ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let mut cache = model.transformer().new_cache();
    let g = generate(&model, &mut cache, &ids, &GenerateOptions { max_new_tokens: 60, ..Default::default() })?;
    println!("{:?}\n{}", g.tokens, g.text);
    eprintln!("prefill {:.2}s decode {:.2}s ({} tok)", g.prefill_seconds, g.decode_seconds, g.tokens.len());
    Ok(())
}
