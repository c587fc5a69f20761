//! Attention of one new position over a sequence's cached keys and values
//! (CPU only: [`attend_cache`] reads the cache where it lies in memory).
//!
//! Decoding adds one position at a time. Going through general tensor ops
//! would copy every cached key and value each step (to make them
//! contiguous and to repeat them for grouped-query heads); here the query
//! heads read their key/value head where it lies in the cache (in f16,
//! widened to f32 in registers).
//!
//! The kernel follows the process's kernel path ([`CpuKernels`]) and the
//! head size. On the `avx512` path the query heads of a group go together:
//! each cached key and value is widened once for all of them, and their
//! scores are summed in registers; `avx2` takes one head at a time. Every
//! kernel gives the same bits: a score is
//! eight lanes of multiply-adds over the head's values, the lanes then
//! added in order; an output value is the weights' multiply-adds over the
//! positions in order.

use candle_core::{Layout, Result, Storage, Tensor};
use half::f16;
use rayon::prelude::*;

use super::kernels::CpuKernels;
use super::quant::MatMul;
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
/// query head `h` uses key/value head `h / (heads / kv_heads)`. The heads
/// are split into tasks on the current rayon pool; neither the split nor
/// the kernel path `cpu` changes a bit of the result.
pub fn attend_one(
    cpu: CpuKernels,
    q: &[f32],
    dim: usize,
    keys: CachedHeads<'_>,
    values: CachedHeads<'_>,
    kv_heads: usize,
    scale: f32,
) -> Vec<f32> {
    let kernel = Kernel::for_heads(cpu, dim);
    let heads = q.len() / dim;
    let group = heads / kv_heads.max(1);
    let run = match kernel {
        Kernel::Avx512 => heads_per_task(group, kv_heads, rayon::current_num_threads()),
        Kernel::Avx2 | Kernel::Scalar => 1,
    };
    let len = keys.len;
    let mut out = vec![0f32; q.len()];
    out.par_chunks_mut(run * dim)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * run;
            let kv = first / group;
            let qs = &q[first * dim..(first + run) * dim];
            let mut weights = vec![0f32; run * len];
            scores(kernel, qs, keys, kv, scale, &mut weights);
            let sums: Vec<f32> = weights
                .chunks_exact_mut(len.max(1))
                .map(|w| exp_shifted(cpu, w))
                .collect();
            weighted_sum(kernel, &weights, values, kv, out);
            for (out, sum) in out.chunks_exact_mut(dim).zip(sums) {
                for o in out {
                    *o /= sum;
                }
            }
        });
    out
}

/// [`attend_one`] over one layer of a sequence's cache, on `kernels`' pool
/// and path: the query row `q` (`heads × dim` values) against the f16 keys
/// `k` and values `v` (`[1, kv_heads, positions, dim]` tensors in CPU
/// memory) where they lie. Keys or values anywhere but in CPU memory are an
/// error.
pub fn attend_cache(
    kernels: &MatMul,
    q: &[f32],
    k: &Tensor,
    v: &Tensor,
    dim: usize,
    kv_heads: usize,
) -> Result<Vec<f32>> {
    let (k_storage, k_layout) = k.storage_and_layout();
    let (v_storage, v_layout) = v.storage_and_layout();
    let (Storage::Cpu(k_data), Storage::Cpu(v_data)) = (&*k_storage, &*v_storage) else {
        candle_core::bail!("in-place decode attention runs on the CPU");
    };
    let keys = cached_heads(k_data.as_slice::<f16>()?, k_layout)?;
    let values = cached_heads(v_data.as_slice::<f16>()?, v_layout)?;
    let scale = 1.0 / (dim as f32).sqrt();
    let cpu = kernels.cpu();
    Ok(kernels.install(|| attend_one(cpu, q, dim, keys, values, kv_heads, scale)))
}

/// A `[1, kv_heads, len, dim]` cache view as strided rows.
fn cached_heads<'a>(data: &'a [f16], layout: &Layout) -> Result<CachedHeads<'a>> {
    let (dims, stride) = (layout.dims(), layout.stride());
    if dims.len() != 4 || dims[0] != 1 || stride[3] != 1 {
        candle_core::bail!("unexpected key/value cache layout {dims:?} / {stride:?}");
    }
    Ok(CachedHeads {
        data: &data[layout.start_offset()..],
        head_stride: stride[1],
        pos_stride: stride[2],
        len: dims[2],
    })
}

/// The code that computes attention, chosen per call from the kernel path
/// and the head size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum Kernel {
    /// Portable code (eight lanes kept in an array).
    Scalar,
    /// One query head at a time, AVX2 with F16C and FMA (`dim` a multiple
    /// of 8).
    Avx2,
    /// Runs of query heads sharing each widened key and value, with
    /// AVX-512's 32 registers (`dim` a multiple of 16).
    Avx512,
}

impl Kernel {
    /// The fastest kernel `cpu` allows for heads of `dim` values. A
    /// [`CpuKernels`] allows SIMD code only on CPUs that run it, so
    /// `Avx512` and `Avx2` are only chosen where their instructions exist.
    fn for_heads(cpu: CpuKernels, dim: usize) -> Self {
        if cpu.avx512() && dim.is_multiple_of(16) {
            Self::Avx512
        } else if cpu.avx2() && dim.is_multiple_of(8) {
            Self::Avx2
        } else {
            Self::Scalar
        }
    }
}

/// Query heads per task: the longest run that divides the group (so a run
/// never spans two key/value heads) while leaving every thread a task, at
/// most [`MAX_RUN`].
fn heads_per_task(group: usize, kv_heads: usize, threads: usize) -> usize {
    let runs_per_group = threads.div_ceil(kv_heads.max(1)).max(1);
    (1..=group.min(MAX_RUN))
        .rev()
        .find(|&run| group.is_multiple_of(run) && group / run >= runs_per_group)
        .unwrap_or(1)
}

/// Most query heads computed together (registers hold one accumulator per
/// head and key).
const MAX_RUN: usize = 8;

/// `weights[h * len + p] = query h · key p of head `kv` · scale` for each
/// query of `qs` (a run of heads, `dim` values each) and every cached
/// position `p`.
fn scores(
    kernel: Kernel,
    qs: &[f32],
    keys: CachedHeads<'_>,
    kv: usize,
    scale: f32,
    weights: &mut [f32],
) {
    let len = keys.len;
    let dim = qs.len() / (weights.len() / len.max(1)).max(1);
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Avx512 => {
            let row = |p: usize| keys.row(kv, p, dim).as_ptr();
            // SAFETY: `Avx512` is only chosen on the `avx512` path (AVX-512
            // F/VL, AVX2, FMA and F16C present), for `dim` a multiple of
            // 16; every query and key row is `dim` long and `weights` holds
            // a run of `len` scores per query.
            unsafe { x86::scores_run(qs, dim, row, len, scale, weights) };
            return;
        }
        Kernel::Avx2 => {
            for (q, weights) in qs
                .chunks_exact(dim)
                .zip(weights.chunks_exact_mut(len.max(1)))
            {
                scores_avx2(q, keys, kv, scale, weights);
            }
            return;
        }
        Kernel::Scalar => {}
    }
    let _ = kernel;
    for (q, weights) in qs
        .chunks_exact(dim)
        .zip(weights.chunks_exact_mut(len.max(1)))
    {
        for (p, w) in weights.iter_mut().enumerate() {
            *w = dot_f16_scalar(q, keys.row(kv, p, dim)) * scale;
        }
    }
}

/// [`scores`] of one query head with AVX2, four keys per pass.
#[cfg(target_arch = "x86_64")]
fn scores_avx2(q: &[f32], keys: CachedHeads<'_>, kv: usize, scale: f32, weights: &mut [f32]) {
    let dim = q.len();
    let done = weights.len() / 4 * 4;
    let mut chunks = weights.chunks_exact_mut(4);
    for (c, four) in (&mut chunks).enumerate() {
        let rows = std::array::from_fn(|i| keys.row(kv, 4 * c + i, dim));
        // SAFETY: `Avx2` is only chosen on the `avx2` or `avx512` path
        // (AVX2, FMA and F16C present), for `dim` a multiple of 8; every
        // row is `dim` long.
        let dots = unsafe { x86::dot_f16_rows(q, rows) };
        for (w, d) in four.iter_mut().zip(dots) {
            *w = d * scale;
        }
    }
    for (i, w) in chunks.into_remainder().iter_mut().enumerate() {
        // SAFETY: as above.
        *w = unsafe { x86::dot_f16(q, keys.row(kv, done + i, dim)) } * scale;
    }
}

/// `out[h * dim..][..dim] = Σ_p weights[h * len + p] · value p of head
/// `kv`` for each query head `h` of the run, `out` starting at zero.
fn weighted_sum(
    kernel: Kernel,
    weights: &[f32],
    values: CachedHeads<'_>,
    kv: usize,
    out: &mut [f32],
) {
    let len = values.len;
    let heads = weights.len() / len.max(1);
    let dim = out.len() / heads.max(1);
    let row = |p: usize| values.row(kv, p, dim);
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Avx512 => {
            // SAFETY: as in `scores`; `out` holds `heads` rows of `dim`
            // values, `weights` `heads` runs of `len`.
            unsafe { x86::weighted_sum_run(weights, len, |p| row(p).as_ptr(), dim, out) };
            return;
        }
        Kernel::Avx2 => {
            for (weights, out) in weights
                .chunks_exact(len.max(1))
                .zip(out.chunks_exact_mut(dim))
            {
                // SAFETY: as in `scores_avx2`; `out` and every row are
                // `dim` long.
                unsafe { x86::weighted_sum_f16(weights, row, out) };
            }
            return;
        }
        Kernel::Scalar => {}
    }
    let _ = kernel;
    for (weights, out) in weights
        .chunks_exact(len.max(1))
        .zip(out.chunks_exact_mut(dim))
    {
        for (p, &w) in weights.iter().enumerate() {
            for (o, &v) in out.iter_mut().zip(row(p)) {
                *o = w.mul_add(v.to_f32(), *o);
            }
        }
    }
}

/// `q · k` with `k` in f16: eight lanes of multiply-adds, then the lanes
/// added in order (what the SIMD kernels compute).
fn dot_f16_scalar(q: &[f32], k: &[f16]) -> f32 {
    let mut lanes = [0f32; 8];
    let (q8, q_rest) = q.split_at(q.len() / 8 * 8);
    let (k8, k_rest) = k.split_at(q8.len());
    for (q, k) in q8.chunks_exact(8).zip(k8.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] = q[i].mul_add(k[i].to_f32(), lanes[i]);
        }
    }
    let tail: f32 = q_rest.iter().zip(k_rest).map(|(x, y)| x * y.to_f32()).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use half::f16;
    use std::arch::x86_64::*;

    /// How many cached positions ahead the run kernels ask for: about
    /// 3 KB. Each key and value is read once per run, straight from memory,
    /// and the hardware prefetcher alone left the kernels waiting: asking
    /// ahead took a quarter off decode attention (alternating passes in one
    /// process on the 1.5B model; 6 to 16 positions ahead all did as well).
    fn positions_ahead(dim: usize) -> usize {
        (3072 / (2 * dim)).max(4)
    }

    /// Asks for the cache lines of the `dim` f16 values at `row`.
    #[inline(always)]
    unsafe fn prefetch_row(row: *const f16, dim: usize) {
        for line in (0..dim * 2).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(row.cast::<i8>().add(line));
        }
    }

    /// The eight lanes of `acc` added in order.
    #[inline(always)]
    unsafe fn lane_sum(acc: __m256) -> f32 {
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
        lanes.iter().sum()
    }

    /// `q · k`: [`super::dot_f16_scalar`] in SIMD.
    ///
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
        lane_sum(acc)
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
        acc.map(|acc| lane_sum(acc))
    }

    /// `out = Σ_p weights[p] · row(p)`, one multiply-add per position and
    /// value in position order, with up to 64 values of `out` held in
    /// registers across the positions.
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

    /// Scores of a run of query heads (`qs`, `dim` values each) against
    /// `len` keys, times `scale`, into `weights[h * len + p]`: each key
    /// widened once for every head of the run, [`dot_f16`]'s sums.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and VL, AVX2, FMA and F16C; `dim` is a
    /// multiple of 8, `row(p)` points at `dim` values for every `p <
    /// len`, `qs` holds 1 to 8 queries and `weights` `len` per query.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma,f16c")]
    pub unsafe fn scores_run(
        qs: &[f32],
        dim: usize,
        row: impl Fn(usize) -> *const f16,
        len: usize,
        scale: f32,
        weights: &mut [f32],
    ) {
        // Keys per pass: as many as leave the accumulators (heads × keys),
        // the widened keys and a query in the 32 registers.
        match qs.len() / dim {
            1 => scores_blocks::<1, 8>(qs, dim, row, len, scale, weights),
            2 => scores_blocks::<2, 8>(qs, dim, row, len, scale, weights),
            3 => scores_blocks::<3, 7>(qs, dim, row, len, scale, weights),
            4 => scores_blocks::<4, 5>(qs, dim, row, len, scale, weights),
            5 => scores_blocks::<5, 4>(qs, dim, row, len, scale, weights),
            6 => scores_blocks::<6, 4>(qs, dim, row, len, scale, weights),
            7 => scores_blocks::<7, 3>(qs, dim, row, len, scale, weights),
            _ => scores_blocks::<8, 3>(qs, dim, row, len, scale, weights),
        }
    }

    /// [`scores_run`] for `G` heads, `K` keys per pass.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma,f16c")]
    unsafe fn scores_blocks<const G: usize, const K: usize>(
        qs: &[f32],
        dim: usize,
        row: impl Fn(usize) -> *const f16,
        len: usize,
        scale: f32,
        weights: &mut [f32],
    ) {
        let q = qs.as_ptr();
        let blocked = len / K * K;
        let ahead = positions_ahead(dim);
        for first in (0..blocked).step_by(K) {
            for p in first + ahead..(first + ahead + K).min(len) {
                prefetch_row(row(p), dim);
            }
            let rows: [*const f16; K] = std::array::from_fn(|j| row(first + j));
            let acc = dot_block::<G, K>(q, dim, &rows);
            store_scores(&acc, first, len, scale, weights);
        }
        for first in blocked..len {
            let acc = dot_block::<G, 1>(q, dim, &[row(first)]);
            store_scores(&acc, first, len, scale, weights);
        }
    }

    /// The eight-lane sums of `G` queries (`dim` apart from `q`) with `K`
    /// keys: `acc[j][h]` for key `j` and query `h`.
    #[inline(always)]
    unsafe fn dot_block<const G: usize, const K: usize>(
        q: *const f32,
        dim: usize,
        rows: &[*const f16; K],
    ) -> [[__m256; G]; K] {
        let mut acc = [[_mm256_setzero_ps(); G]; K];
        for i in (0..dim).step_by(8) {
            let keys: [__m256; K] =
                std::array::from_fn(|j| _mm256_cvtph_ps(_mm_loadu_si128(rows[j].add(i).cast())));
            for h in 0..G {
                let q = _mm256_loadu_ps(q.add(h * dim + i));
                for (acc, &key) in acc.iter_mut().zip(&keys) {
                    acc[h] = _mm256_fmadd_ps(q, key, acc[h]);
                }
            }
        }
        acc
    }

    /// Writes the scores of keys `first..first + K` for `G` heads: each
    /// accumulator's lanes added in order, eight accumulators at a time.
    #[inline(always)]
    unsafe fn store_scores<const G: usize, const K: usize>(
        acc: &[[__m256; G]; K],
        first: usize,
        len: usize,
        scale: f32,
        weights: &mut [f32],
    ) {
        let scale = _mm256_set1_ps(scale);
        let flat = acc.as_flattened();
        for (c, chunk) in flat.chunks(8).enumerate() {
            let eight: [__m256; 8] =
                std::array::from_fn(|i| chunk.get(i).copied().unwrap_or(_mm256_setzero_ps()));
            let mut sums = [0f32; 8];
            _mm256_storeu_ps(sums.as_mut_ptr(), _mm256_mul_ps(lane_sums(eight), scale));
            for (i, &sum) in sums.iter().enumerate().take(chunk.len()) {
                let (j, h) = ((8 * c + i) / G, (8 * c + i) % G);
                *weights.get_unchecked_mut(h * len + first + j) = sum;
            }
        }
    }

    /// Lane `i` of the result is the sum of `acc[i]`'s eight lanes added in
    /// order (as [`lane_sum`]), for eight accumulators at once: a transpose,
    /// then seven vector adds.
    #[inline(always)]
    unsafe fn lane_sums(acc: [__m256; 8]) -> __m256 {
        // Pairs interleaved: lanes 0,1 | 4,5 and 2,3 | 6,7 of a and b.
        let t: [__m256; 8] = std::array::from_fn(|i| {
            let (a, b) = (acc[i / 2 * 2], acc[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                _mm256_unpacklo_ps(a, b)
            } else {
                _mm256_unpackhi_ps(a, b)
            }
        });
        // Four accumulators' lane k (low half) and k + 4 (high half), for
        // k = 0, 1, 2, 3 from accumulators 0–3 and again from 4–7.
        let quads = |x: __m256, y: __m256| {
            (
                _mm256_shuffle_ps::<0x44>(x, y),
                _mm256_shuffle_ps::<0xEE>(x, y),
            )
        };
        let (u0, u1) = quads(t[0], t[2]);
        let (u2, u3) = quads(t[1], t[3]);
        let (u4, u5) = quads(t[4], t[6]);
        let (u6, u7) = quads(t[5], t[7]);
        // Lane k of all eight accumulators.
        let lanes = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        lanes[1..]
            .iter()
            .fold(lanes[0], |sum, &lane| _mm256_add_ps(sum, lane))
    }

    /// `out[h * dim..][..dim] = Σ_p weights[h * len + p] · row(p)` for a run
    /// of heads, one multiply-add per position and value in position order
    /// (as [`weighted_sum_f16`]), each value widened once for every head.
    ///
    /// # Safety
    /// As for [`scores_run`], with `dim` a multiple of 16; `weights` holds
    /// `len` weights per head and `out` `dim` values per head.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma,f16c")]
    pub unsafe fn weighted_sum_run(
        weights: &[f32],
        len: usize,
        row: impl Fn(usize) -> *const f16,
        dim: usize,
        out: &mut [f32],
    ) {
        // Sixteen-value slices per pass over the positions: as many as
        // leave the accumulators (heads × slices) in the registers.
        match out.len() / dim {
            1 => weighted_blocks::<1, 8>(weights, len, row, dim, out),
            2 => weighted_blocks::<2, 8>(weights, len, row, dim, out),
            3 => weighted_blocks::<3, 8>(weights, len, row, dim, out),
            4 => weighted_blocks::<4, 4>(weights, len, row, dim, out),
            5 => weighted_blocks::<5, 4>(weights, len, row, dim, out),
            6 => weighted_blocks::<6, 4>(weights, len, row, dim, out),
            7 => weighted_blocks::<7, 2>(weights, len, row, dim, out),
            _ => weighted_blocks::<8, 2>(weights, len, row, dim, out),
        }
    }

    /// [`weighted_sum_run`] for `G` heads, `N` × 16 values per pass.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma,f16c")]
    unsafe fn weighted_blocks<const G: usize, const N: usize>(
        weights: &[f32],
        len: usize,
        row: impl Fn(usize) -> *const f16,
        dim: usize,
        out: &mut [f32],
    ) {
        let mut start = 0;
        while start < dim {
            if dim - start >= 16 * N {
                weighted_slice::<G, N>(weights, len, &row, start, dim, out);
                start += 16 * N;
            } else {
                weighted_slice::<G, 1>(weights, len, &row, start, dim, out);
                start += 16;
            }
        }
    }

    /// Values `start..start + 16 * N` of each head's [`weighted_sum_run`].
    #[inline(always)]
    unsafe fn weighted_slice<const G: usize, const N: usize>(
        weights: &[f32],
        len: usize,
        row: &impl Fn(usize) -> *const f16,
        start: usize,
        dim: usize,
        out: &mut [f32],
    ) {
        let mut acc = [[_mm512_setzero_ps(); N]; G];
        let w = weights.as_ptr();
        let ahead = positions_ahead(dim);
        for p in 0..len {
            if p + ahead < len {
                prefetch_row(row(p + ahead), dim);
            }
            let v = row(p).add(start);
            let values: [__m512; N] =
                std::array::from_fn(|i| _mm512_cvtph_ps(_mm256_loadu_si256(v.add(16 * i).cast())));
            for (h, acc) in acc.iter_mut().enumerate() {
                let w = _mm512_set1_ps(*w.add(h * len + p));
                for (acc, &v) in acc.iter_mut().zip(&values) {
                    *acc = _mm512_fmadd_ps(w, v, *acc);
                }
            }
        }
        for (h, acc) in acc.iter().enumerate() {
            for (i, acc) in acc.iter().enumerate() {
                _mm512_storeu_ps(out.as_mut_ptr().add(h * dim + start + 16 * i), *acc);
            }
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

    /// A cache of `kv_heads` heads laid out `[kv_head][capacity][dim]` with
    /// `len` positions used, and queries for `heads` heads.
    struct Case {
        heads: usize,
        kv_heads: usize,
        dim: usize,
        len: usize,
        capacity: usize,
        keys: Vec<f16>,
        values: Vec<f16>,
        q: Vec<f32>,
    }

    impl Case {
        fn new(heads: usize, kv_heads: usize, dim: usize, len: usize) -> Self {
            let capacity = len + 3;
            let value = |i: usize, salt: usize| {
                (((i * 2_654_435_761 + salt * 40_503) % 10_007) as f32 / 5_003.0) - 1.0
            };
            let cache = |salt| {
                (0..kv_heads * capacity * dim)
                    .map(|i| f16::from_f32(value(i, salt) * 2.5))
                    .collect()
            };
            Self {
                heads,
                kv_heads,
                dim,
                len,
                capacity,
                keys: cache(1),
                values: cache(2),
                q: (0..heads * dim).map(|i| value(i, 3) * 1.7).collect(),
            }
        }

        fn cached<'a>(&self, data: &'a [f16]) -> CachedHeads<'a> {
            CachedHeads {
                data,
                head_stride: self.capacity * self.dim,
                pos_stride: self.dim,
                len: self.len,
            }
        }

        fn attend(&self, cpu: CpuKernels, threads: usize) -> Vec<f32> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            let (keys, values) = (self.cached(&self.keys), self.cached(&self.values));
            pool.install(|| attend_one(cpu, &self.q, self.dim, keys, values, self.kv_heads, 0.3))
        }
    }

    #[test]
    fn grouped_heads_read_their_shared_cache_rows() {
        let case = Case::new(6, 2, 16, 5);
        let dim = case.dim;
        for cpu in CpuKernels::available() {
            let got = case.attend(cpu, 2);
            for h in 0..case.heads {
                let kv = h / (case.heads / case.kv_heads);
                let rows = |data: &[f16]| -> Vec<Vec<f32>> {
                    (0..case.len)
                        .map(|p| {
                            data[kv * case.capacity * dim + p * dim..][..dim]
                                .iter()
                                .map(|x| x.to_f32())
                                .collect()
                        })
                        .collect()
                };
                let q = &case.q[h * dim..(h + 1) * dim];
                let expected = naive(q, &rows(&case.keys), &rows(&case.values), 0.3);
                for (g, e) in got[h * dim..(h + 1) * dim].iter().zip(&expected) {
                    assert!((g - e).abs() < 1e-4, "{cpu} head {h}: {g} vs {e}");
                }
            }
        }
    }

    #[test]
    fn every_kernel_and_thread_count_gives_the_portable_bits() {
        // Groups of 1 to 8 query heads per key/value head and one of 11
        // (split into single heads); head sizes of 128, 64 and 16 (AVX-512
        // runs), 24 (AVX2 only) and 12 (portable only); positions not a
        // multiple of the keys per pass.
        let shapes = [
            (12, 2, 128),
            (9, 3, 64),
            (14, 2, 64),
            (8, 2, 16),
            (5, 1, 16),
            (16, 2, 16),
            (4, 4, 128),
            (22, 2, 16),
            (6, 2, 24),
            (4, 2, 12),
        ];
        for (heads, kv_heads, dim) in shapes {
            for len in [1, 2, 3, 4, 7, 9, 37] {
                let case = Case::new(heads, kv_heads, dim, len);
                let reference = case.attend(CpuKernels::portable(), 1);
                assert!(reference.iter().all(|x| x.is_finite()));
                for cpu in CpuKernels::available() {
                    for threads in [1, 2, 3, 5] {
                        let got = case.attend(cpu, threads);
                        let same = got
                            .iter()
                            .zip(&reference)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(
                            same,
                            "{cpu} ({:?}), {threads} threads, {heads} heads over \
                             {kv_heads}, dim {dim}, {len} positions",
                            Kernel::for_heads(cpu, dim)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_kernel_follows_the_path_and_the_head_size() {
        use crate::model::kernels::Isa;
        for cpu in CpuKernels::available() {
            let kernel = |dim| Kernel::for_heads(cpu, dim);
            assert_eq!(kernel(12), Kernel::Scalar, "{cpu}");
            match cpu.isa() {
                Isa::Portable | Isa::Candle => assert_eq!(kernel(64), Kernel::Scalar),
                Isa::Avx2 => assert_eq!(kernel(64), Kernel::Avx2),
                Isa::Avx512 => {
                    assert_eq!(kernel(64), Kernel::Avx512);
                    assert_eq!(kernel(24), Kernel::Avx2);
                }
            }
        }
    }

    #[test]
    fn runs_of_heads_divide_the_group_and_leave_every_thread_work() {
        // (group, kv_heads, threads) -> heads per task
        assert_eq!(heads_per_task(6, 2, 2), 6);
        assert_eq!(heads_per_task(6, 2, 4), 3);
        assert_eq!(heads_per_task(6, 2, 6), 2);
        assert_eq!(heads_per_task(6, 2, 16), 1);
        assert_eq!(heads_per_task(3, 3, 2), 3);
        assert_eq!(heads_per_task(7, 2, 2), 7);
        assert_eq!(heads_per_task(16, 2, 2), 8);
        assert_eq!(heads_per_task(11, 2, 2), 1);
        assert_eq!(heads_per_task(1, 4, 8), 1);
    }

    #[test]
    fn products_on_the_portable_path_match_plain_sums() {
        let q: Vec<f32> = (0..132).map(|i| (i as f32 * 0.37).sin()).collect();
        let k: Vec<f16> = (0..132)
            .map(|i| f16::from_f32((i as f32 * 0.11).cos()))
            .collect();
        let plain: f32 = q.iter().zip(&k).map(|(a, b)| a * b.to_f32()).sum();
        let lanes = dot_f16_scalar(&q, &k);
        assert!((plain - lanes).abs() < 1e-4, "{plain} vs {lanes}");
    }
}
