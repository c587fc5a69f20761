use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};
fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap();
    let ids: Vec<u32> = std::env::args().nth(2).unwrap().split(',').map(|s| s.parse().unwrap()).collect();
    let mut f = std::fs::File::open(&path)?;
    let ct = candle_core::quantized::gguf_file::Content::read(&mut f)?;
    let qwen = path.contains("qwen");
    let mut l = None; let mut q = None;
    if qwen { q = Some(quantized_qwen2::ModelWeights::from_gguf(ct, &mut f, &Device::Cpu)?); } else { l = Some(quantized_llama::ModelWeights::from_gguf(ct, &mut f, &Device::Cpu)?); }
    let mut fwd = |x: &Tensor, p: usize| -> candle_core::Result<Tensor> { match (&mut l, &mut q) { (Some(m), _) => m.forward(x, p), (_, Some(m)) => m.forward(x, p), _ => unreachable!() } };
    let t = std::time::Instant::now();
    let x = Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
    let mut logits = fwd(&x, 0)?.squeeze(0)?;
    eprintln!("prefill {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut out = vec![];
    let mut pos = ids.len();
    for _ in 0..60 {
        let next = logits.argmax(0)?.to_scalar::<u32>()?;
        out.push(next);
        logits = fwd(&Tensor::new(&[next], &Device::Cpu)?.unsqueeze(0)?, pos)?.squeeze(0)?;
        pos += 1;
    }
    eprintln!("decode {:?}", t.elapsed());
    println!("{:?}", out);
    Ok(())
}
