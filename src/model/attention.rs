//! Attention of one new position over a sequence's cached keys and values.
//!
//! Decoding adds one position at a time. Going through general tensor ops
//! would copy every cached key and value each step (to make them
//! contiguous and to repeat them for grouped-query heads); here each query
//! head reads its key/value head where it lies in the cache (in f16,
//! widened to f32 eight values at a time).

use half::f16;
use rayon::prelude::*;

use super::softmax::exp_shifted;

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
        let mut weights = vec![0f32; keys.len];
        scores(f16c, q, keys, kv, scale, &mut weights);
        let sum = exp_shifted(&mut weights);
        weighted_sum(f16c, &weights, values, kv, out);
        for o in out.iter_mut() {
            *o /= sum;
        }
    });
    out
}

/// `weights[p] = q · key p of head `kv` · scale` for every cached position.
fn scores(
    f16c: bool,
    q: &[f32],
    keys: CachedHeads<'_>,
    kv: usize,
    scale: f32,
    weights: &mut [f32],
) {
    let dim = q.len();
    #[cfg(target_arch = "x86_64")]
    if f16c && dim.is_multiple_of(8) {
        let done = weights.len() / 4 * 4;
        let mut chunks = weights.chunks_exact_mut(4);
        for (c, four) in (&mut chunks).enumerate() {
            let rows = std::array::from_fn(|i| keys.row(kv, 4 * c + i, dim));
            // SAFETY: `f16c` comes from `has_f16c`; every row is `dim` long,
            // a multiple of 8.
            let dots = unsafe { x86::dot_f16_rows(q, rows) };
            for (w, d) in four.iter_mut().zip(dots) {
                *w = d * scale;
            }
        }
        for (i, w) in chunks.into_remainder().iter_mut().enumerate() {
            *w = dot_f16(f16c, q, keys.row(kv, done + i, dim)) * scale;
        }
        return;
    }
    for (p, w) in weights.iter_mut().enumerate() {
        *w = dot_f16(f16c, q, keys.row(kv, p, dim)) * scale;
    }
}

/// `out = Σ_p weights[p] · value p of head `kv``, `out` starting at zero.
fn weighted_sum(f16c: bool, weights: &[f32], values: CachedHeads<'_>, kv: usize, out: &mut [f32]) {
    let dim = out.len();
    #[cfg(target_arch = "x86_64")]
    if f16c && dim.is_multiple_of(8) {
        // SAFETY: as in `scores`; `out` and every row are `dim` long.
        unsafe { x86::weighted_sum_f16(weights, |p| values.row(kv, p, dim), out) };
        return;
    }
    for (p, &w) in weights.iter().enumerate() {
        add_scaled_f16(f16c, out, w, values.row(kv, p, dim));
    }
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

    /// [`dot_f16`] of `q` with four rows at once (the same sums, in the
    /// same order, for each).
    ///
    /// # Safety
    /// As for [`dot_f16`], for every row.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_f16_rows(q: &[f32], rows: [&[f16]; 4]) -> [f32; 4] {
        let mut acc = [_mm256_setzero_ps(); 4];
        for (i, q) in q.chunks_exact(8).enumerate() {
            let q = _mm256_loadu_ps(q.as_ptr());
            for (acc, row) in acc.iter_mut().zip(&rows) {
                let k = _mm256_cvtph_ps(_mm_loadu_si128(row.as_ptr().add(8 * i).cast()));
                *acc = _mm256_fmadd_ps(q, k, *acc);
            }
        }
        acc.map(|acc| {
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
            lanes.iter().sum()
        })
    }

    /// `out = Σ_p weights[p] · row(p)`: what [`add_scaled_f16`] over every
    /// position from zero gives (the same operations per value), with up
    /// to 64 values of `out` held in registers across the positions.
    ///
    /// # Safety
    /// As for [`dot_f16`]; `out` and every row have the same length.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn weighted_sum_f16<'a>(
        weights: &[f32],
        row: impl Fn(usize) -> &'a [f16],
        out: &mut [f32],
    ) {
        let mut start = 0;
        while start < out.len() {
            if out.len() - start >= 64 {
                accumulate::<8>(weights, &row, start, &mut out[start..start + 64]);
                start += 64;
            } else {
                accumulate::<1>(weights, &row, start, &mut out[start..start + 8]);
                start += 8;
            }
        }
    }

    /// `N` × 8 values of [`weighted_sum_f16`], from value `start` of each row.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn accumulate<'a, const N: usize>(
        weights: &[f32],
        row: &impl Fn(usize) -> &'a [f16],
        start: usize,
        out: &mut [f32],
    ) {
        let mut acc = [_mm256_setzero_ps(); N];
        for (p, &w) in weights.iter().enumerate() {
            let w = _mm256_set1_ps(w);
            let v = row(p).as_ptr().add(start);
            for (i, acc) in acc.iter_mut().enumerate() {
                let v = _mm256_cvtph_ps(_mm_loadu_si128(v.add(8 * i).cast()));
                *acc = _mm256_fmadd_ps(w, v, *acc);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            _mm256_storeu_ps(out.as_mut_ptr().add(8 * i), *acc);
        }
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
    fn blocked_products_equal_position_by_position_ones() {
        // Four keys per call and values summed in registers must give the
        // very bits of one dot product and one scaled add per position.
        let f16c = has_f16c();
        for (dim, len) in [(128, 11), (24, 5), (72, 4)] {
            let value = |i: usize| (((i * 53) % 97) as f32 / 48.0) - 1.0;
            let data: Vec<f16> = (0..len * dim).map(|i| f16::from_f32(value(i))).collect();
            let cached = CachedHeads {
                data: &data,
                head_stride: 0,
                pos_stride: dim,
                len,
            };
            let q: Vec<f32> = (0..dim).map(|i| value(i + 5)).collect();
            let mut weights = vec![0f32; len];
            scores(f16c, &q, cached, 0, 0.7, &mut weights);
            let mut out = vec![0f32; dim];
            weighted_sum(f16c, &weights, cached, 0, &mut out);
            let mut expected = vec![0f32; dim];
            for (p, &w) in weights.iter().enumerate() {
                let row = cached.row(0, p, dim);
                assert_eq!(w, dot_f16(f16c, &q, row) * 0.7, "dim {dim} position {p}");
                add_scaled_f16(f16c, &mut expected, w, row);
            }
            assert_eq!(out, expected, "dim {dim}");
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
