//! Attention of one new position over a sequence's cached keys and values.
//!
//! Decoding adds one position at a time. Going through general tensor ops
//! would copy every cached key and value each step (to make them
//! contiguous and to repeat them for grouped-query heads); here each query
//! head reads its key/value head where it lies in the cache.

use rayon::prelude::*;

/// The cached keys (or values) of one layer: `kv_heads` heads of `len`
/// positions of `dim` values, head `h` position `p` starting at
/// `h * head_stride + p * pos_stride` in `data`.
#[derive(Debug, Clone, Copy)]
pub struct CachedHeads<'a> {
    /// The cache's storage.
    pub data: &'a [f32],
    /// Distance between heads.
    pub head_stride: usize,
    /// Distance between positions.
    pub pos_stride: usize,
    /// Positions held.
    pub len: usize,
}

impl CachedHeads<'_> {
    fn row(&self, head: usize, pos: usize, dim: usize) -> &[f32] {
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
    let mut out = vec![0f32; q.len()];
    out.par_chunks_mut(dim).enumerate().for_each(|(h, out)| {
        let kv = h / group;
        let q = &q[h * dim..(h + 1) * dim];
        let mut weights: Vec<f32> = (0..keys.len)
            .map(|p| dot(q, keys.row(kv, p, dim)) * scale)
            .collect();
        let max = weights.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for w in &mut weights {
            *w = (*w - max).exp();
            sum += *w;
        }
        for (p, &w) in weights.iter().enumerate() {
            for (o, &v) in out.iter_mut().zip(values.row(kv, p, dim)) {
                *o += w * v;
            }
        }
        for o in out.iter_mut() {
            *o /= sum;
        }
    });
    out
}

/// Dot product in eight lanes (so the compiler can vectorize it).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() / 8 * 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (a, b) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += a[i] * b[i];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
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
        let kdata: Vec<f32> = (0..kv_heads * capacity * dim).map(value).collect();
        let vdata: Vec<f32> = (0..kv_heads * capacity * dim)
            .map(|i| value(i + 7))
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
            let rows = |data: &[f32]| -> Vec<Vec<f32>> {
                (0..len)
                    .map(|p| data[kv * capacity * dim + p * dim..][..dim].to_vec())
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
}
