//! Decode's small operations on plain row buffers, each giving the bits of
//! the Candle op it stands in for.
//!
//! A decode pass holds one row per sequence. Between the matrix products,
//! each layer normalizes, adds biases, rotates queries and keys and adds
//! residuals. As Candle tensor ops those cost an allocation, a layout check
//! and a dispatch each, about 3% of a pass on the 1.5B model; here they are
//! loops over slices. Each computes the same expression, in the same order,
//! as Candle's CPU kernel (`candle_nn::ops::rms_norm`, `rope`, `rope_i`,
//! `broadcast_add`), so the decode path and the general one agree to the
//! bit, which the tests check against Candle itself.

use super::config::RopeStyle;

/// RMS normalization of each row of `xs` (rows of `weight.len()` values),
/// scaled by `weight`: `x / sqrt(mean(x²) + eps) · weight`, the mean's sum
/// taken in order in f32.
pub fn rms_norm(xs: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    let width = weight.len();
    let mut out = vec![0f32; xs.len()];
    for (row, out) in xs.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let sum2: f32 = row.iter().map(|&x| x * x).sum();
        let m = (sum2 / width as f32 + eps).sqrt();
        for ((o, &x), &w) in out.iter_mut().zip(row).zip(weight) {
            *o = x / m * w;
        }
    }
    out
}

/// `xs[i] += other[i]` (a residual connection).
pub fn add(xs: &mut [f32], other: &[f32]) {
    assert_eq!(xs.len(), other.len(), "add: lengths differ");
    for (x, &o) in xs.iter_mut().zip(other) {
        *x += o;
    }
}

/// Adds `bias` to each row of `xs` (rows of `bias.len()` values).
pub fn add_bias(xs: &mut [f32], bias: &[f32]) {
    for row in xs.chunks_exact_mut(bias.len()) {
        add(row, bias);
    }
}

/// Rotates every head (`cos.len() * 2` values) of one position's row `xs`
/// by that position's angles.
pub fn rope(xs: &mut [f32], style: RopeStyle, cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    for head in xs.chunks_exact_mut(2 * half) {
        for (i, (&c, &s)) in cos.iter().zip(sin).enumerate() {
            let (a, b) = match style {
                RopeStyle::Neox => (i, i + half),
                RopeStyle::Interleaved => (2 * i, 2 * i + 1),
            };
            let (x, y) = (head[a], head[b]);
            head[a] = x * c - y * s;
            head[b] = x * s + y * c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn values(n: usize, salt: u64) -> Vec<f32> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0
            })
            .collect()
    }

    fn bits(xs: &[f32]) -> Vec<u32> {
        xs.iter().map(|x| x.to_bits()).collect()
    }

    fn tensor_bits(t: &Tensor) -> Vec<u32> {
        bits(&t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
    }

    #[test]
    fn rms_norm_gives_candles_bits() {
        let dev = Device::Cpu;
        for (rows, width) in [(1, 1536), (3, 576), (2, 128), (5, 7)] {
            let xs = values(rows * width, 1);
            let weight = values(width, 2);
            let expected = candle_nn::ops::rms_norm(
                &Tensor::from_slice(&xs, (rows, width), &dev).unwrap(),
                &Tensor::from_slice(&weight, width, &dev).unwrap(),
                1e-6,
            )
            .unwrap();
            assert_eq!(bits(&rms_norm(&xs, &weight, 1e-6)), tensor_bits(&expected));
        }
    }

    #[test]
    fn bias_and_residual_adds_give_candles_bits() {
        let dev = Device::Cpu;
        let (rows, width) = (3, 256);
        let xs = values(rows * width, 3);
        let bias = values(width, 4);
        let other = values(rows * width, 5);
        let t = |v: &[f32], shape: (usize, usize)| Tensor::from_slice(v, shape, &dev).unwrap();
        let expected = t(&xs, (rows, width))
            .broadcast_add(&Tensor::from_slice(&bias, width, &dev).unwrap())
            .unwrap();
        let mut got = xs.clone();
        add_bias(&mut got, &bias);
        assert_eq!(bits(&got), tensor_bits(&expected));
        // Candle's residual is `layer output + xs`.
        let expected = (t(&other, (rows, width)) + expected).unwrap();
        add(&mut got, &other);
        assert_eq!(bits(&got), tensor_bits(&expected));
    }

    #[test]
    fn rope_gives_candles_bits_in_both_styles() {
        let dev = Device::Cpu;
        let (heads, dim) = (3, 64);
        let xs = values(heads * dim, 6);
        let angles: Vec<f32> = values(dim / 2, 7).iter().map(|a| a * 40.0).collect();
        let cos: Vec<f32> = angles.iter().map(|a| a.cos()).collect();
        let sin: Vec<f32> = angles.iter().map(|a| a.sin()).collect();
        let input = Tensor::from_slice(&xs, (1, heads, 1, dim), &dev).unwrap();
        let cs = |v: &[f32]| Tensor::from_slice(v, (1, dim / 2), &dev).unwrap();
        for (style, expected) in [
            (
                RopeStyle::Neox,
                candle_nn::rotary_emb::rope(&input, &cs(&cos), &cs(&sin)).unwrap(),
            ),
            (
                RopeStyle::Interleaved,
                candle_nn::rotary_emb::rope_i(&input, &cs(&cos), &cs(&sin)).unwrap(),
            ),
        ] {
            let mut got = xs.clone();
            rope(&mut got, style, &cos, &sin);
            assert_eq!(bits(&got), tensor_bits(&expected), "{style:?}");
            assert_ne!(bits(&got), bits(&xs), "{style:?} rotated nothing");
        }
    }
}
