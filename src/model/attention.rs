//! Attention of one new position over a sequence's cached keys and values.
//!
//! Decoding adds one position at a time. Going through general tensor ops
//! would copy every cached key and value each step (to make them
//! contiguous and to repeat them for grouped-query heads); here each query
//! head reads its key/value head where it lies in the cache (in f16,
//! widened to f32 eight values at a time).

use half::f16;
use rayon::prelude::*;

/// The cached keys (or values) of one layer, stored as f16: `kv_heads`
/// heads of `len` positions of `dim` values, head `h` position `p` starting
/// at `h * head_stride + p * pos_stride` in `data`.
#[derive(Debug, Clone, Copy)]
pub struct CachedHeads<'a> {
    /// The cache's storage.
    pub data: &'a [f16],
    /// Distance between heads.
    pub head_stride: usize,
    /// Distance between positions.
    pub pos_stride: usize,
    /// Positions held.
    pub len: usize,
}

impl CachedHeads<'_> {
    fn row(&self, head: usize, pos: usize, dim: usize) -> &[f16] {
        let start = head * self.head_stride + pos * self.pos_stride;
        &self.data[start..start + dim]
    }
}

/// Softmax(q·Kᵀ·scale)·V for one position: `q` holds `heads × dim` values,
/// query head `h` uses key/value head `h / (heads / kv_heads)`. Heads are
/// computed in parallel on the current rayon pool.
pub fn attend_one(
    q: &[f32],
    dim: usize,
    keys: CachedHeads<'_>,
    values: CachedHeads<'_>,
    kv_heads: usize,
    scale: f32,
) -> Vec<f32> {
    let heads = q.len() / dim;
    let group = heads / kv_heads;
    let f16c = has_f16c();
    let mut out = vec![0f32; q.len()];
    out.par_chunks_mut(dim).enumerate().for_each(|(h, out)| {
        let kv = h / group;
        let q = &q[h * dim..(h + 1) * dim];
        let mut weights: Vec<f32> = (0..keys.len)
            .map(|p| dot_f16(f16c, q, keys.row(kv, p, dim)) * scale)
            .collect();
        let max = weights.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for w in &mut weights {
            *w = (*w - max).exp();
            sum += *w;
        }
        for (p, &w) in weights.iter().enumerate() {
            add_scaled_f16(f16c, out, w, values.row(kv, p, dim));
        }
        for o in out.iter_mut() {
            *o /= sum;
        }
    });
    out
}

fn has_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `q · k` with `k` in f16, in eight lanes.
fn dot_f16(f16c: bool, q: &[f32], k: &[f16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if f16c && q.len().is_multiple_of(8) {
        // SAFETY: `f16c` comes from `has_f16c` (AVX2, FMA and F16C present)
        // and the lengths are equal multiples of 8.
        return unsafe { x86::dot_f16(q, k) };
    }
    let _ = f16c;
    let mut lanes = [0f32; 8];
    let (q8, q_rest) = q.split_at(q.len() / 8 * 8);
    let (k8, k_rest) = k.split_at(q8.len());
    for (q, k) in q8.chunks_exact(8).zip(k8.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += q[i] * k[i].to_f32();
        }
    }
    let tail: f32 = q_rest.iter().zip(k_rest).map(|(x, y)| x * y.to_f32()).sum();
    lanes.iter().sum::<f32>() + tail
}

/// `out += w · v` with `v` in f16.
fn add_scaled_f16(f16c: bool, out: &mut [f32], w: f32, v: &[f16]) {
    #[cfg(target_arch = "x86_64")]
    if f16c && out.len().is_multiple_of(8) {
        // SAFETY: as in `dot_f16`.
        return unsafe { x86::add_scaled_f16(out, w, v) };
    }
    let _ = f16c;
    for (o, &v) in out.iter_mut().zip(v) {
        *o += w * v.to_f32();
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use half::f16;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX2, FMA and F16C; `q.len() == k.len()`, a
    /// multiple of 8.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_f16(q: &[f32], k: &[f16]) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for (q, k) in q.chunks_exact(8).zip(k.chunks_exact(8)) {
            let kv = _mm256_cvtph_ps(_mm_loadu_si128(k.as_ptr().cast()));
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q.as_ptr()), kv, acc);
        }
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
        lanes.iter().sum()
    }

    /// # Safety
    /// As for [`dot_f16`], with `out` in place of `q`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn add_scaled_f16(out: &mut [f32], w: f32, v: &[f16]) {
        let w = _mm256_set1_ps(w);
        for (o, v) in out.chunks_exact_mut(8).zip(v.chunks_exact(8)) {
            let vv = _mm256_cvtph_ps(_mm_loadu_si128(v.as_ptr().cast()));
            let acc = _mm256_fmadd_ps(w, vv, _mm256_loadu_ps(o.as_ptr()));
            _mm256_storeu_ps(o.as_mut_ptr(), acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain softmax attention over contiguous per-head rows.
    fn naive(q: &[f32], k: &[Vec<f32>], v: &[Vec<f32>], scale: f32) -> Vec<f32> {
        let scores: Vec<f32> = k
            .iter()
            .map(|k| q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * scale)
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        (0..q.len())
            .map(|d| exps.iter().zip(v).map(|(e, v)| e * v[d]).sum::<f32>() / sum)
            .collect()
    }

    #[test]
    fn grouped_heads_read_their_shared_cache_rows() {
        let (heads, kv_heads, dim, len, capacity) = (6, 2, 12, 5, 8);
        let value = |i: usize| ((i * 37 % 101) as f32 / 50.0) - 1.0;
        // Cache laid out [kv_head][capacity][dim], only `len` positions used.
        let kdata: Vec<f16> = (0..kv_heads * capacity * dim)
            .map(|i| f16::from_f32(value(i)))
            .collect();
        let vdata: Vec<f16> = (0..kv_heads * capacity * dim)
            .map(|i| f16::from_f32(value(i + 7)))
            .collect();
        let cached = |data| CachedHeads {
            data,
            head_stride: capacity * dim,
            pos_stride: dim,
            len,
        };
        let q: Vec<f32> = (0..heads * dim).map(|i| value(i + 3)).collect();
        let got = attend_one(&q, dim, cached(&kdata), cached(&vdata), kv_heads, 0.3);
        for h in 0..heads {
            let kv = h / (heads / kv_heads);
            let rows = |data: &[f16]| -> Vec<Vec<f32>> {
                (0..len)
                    .map(|p| {
                        data[kv * capacity * dim + p * dim..][..dim]
                            .iter()
                            .map(|x| x.to_f32())
                            .collect()
                    })
                    .collect()
            };
            let expected = naive(
                &q[h * dim..(h + 1) * dim],
                &rows(&kdata),
                &rows(&vdata),
                0.3,
            );
            for (g, e) in got[h * dim..(h + 1) * dim].iter().zip(&expected) {
                assert!((g - e).abs() < 1e-5, "head {h}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn simd_and_scalar_f16_products_agree() {
        let q: Vec<f32> = (0..128).map(|i| (i as f32 * 0.37).sin()).collect();
        let k: Vec<f16> = (0..128)
            .map(|i| f16::from_f32((i as f32 * 0.11).cos()))
            .collect();
        let fast = dot_f16(has_f16c(), &q, &k);
        let slow = dot_f16(false, &q, &k);
        assert!((fast - slow).abs() < 1e-4, "{fast} vs {slow}");
        let mut a = q.clone();
        let mut b = q.clone();
        add_scaled_f16(has_f16c(), &mut a, 0.3, &k);
        add_scaled_f16(false, &mut b, 0.3, &k);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }
}
