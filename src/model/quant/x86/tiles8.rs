//! AVX2 products on the 8-row tiles of [`crate::model::quant::tiles8`]
//! (AVX2, FMA and F16C; no AVX-512, no VNNI).
//!
//! Four consecutive values of each of the 8 rows fill a 256-bit register;
//! `vpmaddubsw` against four input bytes (broadcast) gives each row two
//! 16-bit partial sums, a few of which are added before `vpmaddwd`
//! multiplies them by the rows' sub-block scales into one 32-bit sum per
//! row. Every row's integer sum is exact (the bounds are stated where the
//! 16-bit sums are added), and the float operations per super-block are
//! those of the scalar dot products in [`super::super::blocks`], in the
//! same order, one row per lane (no fused multiply-add): the outputs are
//! the portable path's, bit for bit.

use std::arch::x86_64::*;

use super::super::blocks::{Block8x32, BlockQ8K};
use super::super::tiles8::{TileQ4Kx8, TileQ4_1x8, TileQ5_0x8, TileQ6Kx8, TileQ8_0x8};
use super::{load, TileGemm, MAX_TILE_ROWS};
use crate::model::kernels::CpuKernels;

/// In-lane shuffles of 16-bit lanes: `DUP[0]` repeats lanes 0–3 of each
/// 128-bit half twice each (the scale of sub-block `2p`, rows 0–3 or 4–7,
/// in both lanes of its row), `DUP[1]` lanes 4–7 (sub-block `2p + 1`),
/// `DUP[2]` interleaves lanes 0–3 with 4–7 (both sub-blocks of a row next
/// to each other).
const DUP: [[u8; 32]; 3] = {
    let lanes: [[u8; 8]; 3] = [
        [0, 0, 1, 1, 2, 2, 3, 3],
        [4, 4, 5, 5, 6, 6, 7, 7],
        [0, 4, 1, 5, 2, 6, 3, 7],
    ];
    let mut masks = [[0u8; 32]; 3];
    let mut m = 0;
    while m < 3 {
        let mut i = 0;
        while i < 16 {
            let lane = lanes[m][i % 8];
            masks[m][2 * i] = 2 * lane;
            masks[m][2 * i + 1] = 2 * lane + 1;
            i += 1;
        }
        m += 1;
    }
    masks
};

/// How far ahead of the tile being read the kernels ask for memory: about
/// three Q4_K tiles (`super::PREFETCH_TILES` of the 16-row tiles of the
/// `avx512` path is as many bytes again).
const PREFETCH_BYTES: usize = 3584;

/// Asks for cache lines `first`, `first + step`, … of the tile's worth of
/// bytes [`PREFETCH_BYTES`] ahead of `tile` to be brought into L2. Tiles
/// of a matrix lie back to back (a row tile's after the previous one's),
/// so every tile asking for its own size ahead, in `step` calls with
/// `first` in `0..step`, keeps the whole stream requested in time. The
/// hardware prefetcher alone leaves memory idle between its requests, and
/// decoding is bound by memory. Prefetches never fault, so asking past a
/// matrix's end is harmless.
///
/// Used by the K-quant kernels (Q4_K, Q6_K): on the 1.5B model (2 threads,
/// avx2 path, alternating runs) decoding went from 25.6 to 26.5 tokens/s
/// and prompts were no slower. The small tiles of the 32-value formats
/// gained nothing (qwen2.5-coder-0.5b, 58.7 against 57.2 tokens/s), so
/// they ask for nothing.
#[inline(always)]
unsafe fn prefetch_ahead<T>(tile: &T, first: usize, step: usize) {
    let ahead = (tile as *const T as *const i8).wrapping_add(PREFETCH_BYTES);
    let mut offset = 64 * first;
    while offset < std::mem::size_of::<T>() {
        _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(offset));
        offset += 64 * step;
    }
}

/// The 32-bit word of `bytes` at byte `at`, in every lane.
#[inline(always)]
unsafe fn broadcast_i32(bytes: *const i8, at: usize) -> __m256i {
    _mm256_set1_epi32((bytes.add(at) as *const i32).read_unaligned())
}

/// The 8 rows' f16 values at `p`, as f32 lanes.
#[inline(always)]
unsafe fn f16x8(p: &[u16; 8]) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p.as_ptr() as *const __m128i))
}

impl TileGemm for TileQ4Kx8 {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx2()
    }

    type Act = BlockQ8K;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[BlockQ8K]; R],
    ) -> [[f32; MAX_TILE_ROWS]; R] {
        gemm_q4k_x8(tiles, rows)
    }
}

impl TileGemm for TileQ6Kx8 {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx2()
    }

    type Act = BlockQ8K;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[BlockQ8K]; R],
    ) -> [[f32; MAX_TILE_ROWS]; R] {
        gemm_q6k_x8(tiles, rows)
    }
}

/// The 8 lanes of each of `acc`, as the first 8 outputs of each row.
#[inline(always)]
unsafe fn store<const R: usize>(acc: [__m256; R]) -> [[f32; MAX_TILE_ROWS]; R] {
    let mut out = [[0f32; MAX_TILE_ROWS]; R];
    for r in 0..R {
        _mm256_storeu_ps(out[r].as_mut_ptr(), acc[r]);
    }
    out
}

/// Q4_K tiles (one row tile: all its super-blocks) · Q8_K inputs: the 8
/// outputs of the tile for each of `R` input rows, as
/// [`blocks::dot_q4k`](super::super::blocks::dot_q4k) computes them.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm_q4k_x8<const R: usize>(
    tiles: &[TileQ4Kx8],
    rows: [&[BlockQ8K]; R],
) -> [[f32; MAX_TILE_ROWS]; R] {
    let m4 = _mm256_set1_epi8(0xF);
    let dup = DUP.map(|mask| load(mask.as_ptr()));
    let mut acc = [_mm256_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        let mut sumi = [_mm256_setzero_si256(); R];
        for p in 0..4 {
            prefetch_ahead(tile, p, 4);
            let scales = _mm256_cvtepu8_epi16(_mm_loadu_si128(tile.scales[p].as_ptr() as _));
            for (h, &dup) in dup[..2].iter().enumerate() {
                let s = 2 * p + h;
                let scale = _mm256_shuffle_epi8(scales, dup);
                // 8 products of 4-bit values (≤ 15) and inputs (≥ −128) of
                // at most 2 · 15 · 128 each: at most 30,720, exact in i16.
                let mut sum16 = [_mm256_setzero_si256(); R];
                for g in 4 * s..4 * s + 4 {
                    let w = load(tile.qs[g].as_ptr());
                    let lo = _mm256_and_si256(w, m4);
                    let hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), m4);
                    for r in 0..R {
                        let y = rows[r][kb].qs.as_ptr();
                        let p_lo = _mm256_maddubs_epi16(lo, broadcast_i32(y, 8 * g));
                        let p_hi = _mm256_maddubs_epi16(hi, broadcast_i32(y, 8 * g + 4));
                        sum16[r] = _mm256_add_epi16(sum16[r], _mm256_add_epi16(p_lo, p_hi));
                    }
                }
                for r in 0..R {
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(sum16[r], scale));
                }
            }
        }
        // Σ min[s] · (the 32 inputs of sub-block s), two sub-blocks per
        // `vpmaddwd`: pairs of 16-input sums (|·| ≤ 4,096) as i16.
        let mut summ = [_mm256_setzero_si256(); R];
        for (r, summ) in summ.iter_mut().enumerate() {
            let bsums = rows[r][kb].bsums.as_ptr() as *const __m128i;
            let pairs = _mm_hadd_epi16(_mm_loadu_si128(bsums), _mm_loadu_si128(bsums.add(1)));
            let mut words = [0i32; 4];
            _mm_storeu_si128(words.as_mut_ptr() as *mut __m128i, pairs);
            for (p, &word) in words.iter().enumerate() {
                let mins = _mm256_cvtepu8_epi16(_mm_loadu_si128(tile.mins[p].as_ptr() as _));
                let prod = _mm256_madd_epi16(mins, _mm256_set1_epi32(word));
                *summ = _mm256_add_epi32(*summ, prod);
            }
        }
        let (d, dmin) = (f16x8(&tile.d), f16x8(&tile.dmin));
        for r in 0..R {
            // y.d · d · sumi − y.d · dmin · summ, as the scalar code.
            let yd = _mm256_set1_ps(rows[r][kb].d);
            let scaled = _mm256_mul_ps(_mm256_mul_ps(yd, d), _mm256_cvtepi32_ps(sumi[r]));
            let mins = _mm256_mul_ps(_mm256_mul_ps(yd, dmin), _mm256_cvtepi32_ps(summ[r]));
            acc[r] = _mm256_add_ps(acc[r], _mm256_sub_ps(scaled, mins));
        }
    }
    store(acc)
}

/// Q6_K tiles (one row tile) · Q8_K inputs: the 8 outputs of the tile for
/// each of `R` input rows, as
/// [`blocks::dot_q6k`](super::super::blocks::dot_q6k) computes them.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm_q6k_x8<const R: usize>(
    tiles: &[TileQ6Kx8],
    rows: [&[BlockQ8K]; R],
) -> [[f32; MAX_TILE_ROWS]; R] {
    let six = _mm256_set1_epi8(0x3F);
    let carried = _mm256_set1_epi8(0xC0u8 as i8);
    let dup = DUP.map(|mask| load(mask.as_ptr()));
    let mut acc = [_mm256_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        // Σ scale · (q + 32) · y, and Σ scale · (sum of a sub-block's
        // inputs), whose 32-fold is taken back out.
        let mut sumi = [_mm256_setzero_si256(); R];
        let mut offset = [_mm256_setzero_si256(); R];
        for p in 0..8 {
            prefetch_ahead(tile, p, 8);
            let scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(tile.scales[p].as_ptr() as _));
            let both = _mm256_shuffle_epi8(scales, dup[2]);
            for (r, offset) in offset.iter_mut().enumerate() {
                let bsums = rows[r][kb].bsums.as_ptr() as *const i8;
                let prod = _mm256_madd_epi16(both, broadcast_i32(bsums, 4 * p));
                *offset = _mm256_add_epi32(*offset, prod);
            }
            for (h, &dup) in dup[..2].iter().enumerate() {
                let s = 2 * p + h;
                let scale = _mm256_shuffle_epi8(scales, dup);
                let sub = tile.q[s].as_ptr();
                let v = [load(sub), load(sub.add(32)), load(sub.add(64))];
                // The fourth group from the top two bits of each vector:
                // those of the third end in bits 0..2, of the second in
                // 2..4, of the first in 4..6. Masked to bits 6..8 of each
                // byte, nothing crosses into the next byte as the 16-bit
                // lanes shift.
                let mut fourth = _mm256_srli_epi16(_mm256_and_si256(v[2], carried), 2);
                fourth = _mm256_or_si256(fourth, _mm256_and_si256(v[1], carried));
                fourth = _mm256_srli_epi16(fourth, 2);
                fourth = _mm256_or_si256(fourth, _mm256_and_si256(v[0], carried));
                fourth = _mm256_srli_epi16(fourth, 2);
                let w = [
                    _mm256_and_si256(v[0], six),
                    _mm256_and_si256(v[1], six),
                    _mm256_and_si256(v[2], six),
                    fourth,
                ];
                for r in 0..R {
                    let y = rows[r][kb].qs.as_ptr();
                    let m = std::array::from_fn::<_, 4, _>(|k| {
                        _mm256_maddubs_epi16(w[k], broadcast_i32(y, 16 * s + 4 * k))
                    });
                    // Two products of values ≤ 63 and inputs ≥ −128: at
                    // most 2 · 2 · 63 · 128 = 32,256, exact in i16.
                    let first = _mm256_madd_epi16(_mm256_add_epi16(m[0], m[1]), scale);
                    let second = _mm256_madd_epi16(_mm256_add_epi16(m[2], m[3]), scale);
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(first, second));
                }
            }
        }
        let d = f16x8(&tile.d);
        for r in 0..R {
            let exact = _mm256_sub_epi32(sumi[r], _mm256_slli_epi32(offset[r], 5));
            // y.d · d · sumi, as the scalar code.
            let yd = _mm256_set1_ps(rows[r][kb].d);
            let block = _mm256_mul_ps(_mm256_mul_ps(yd, d), _mm256_cvtepi32_ps(exact));
            acc[r] = _mm256_add_ps(acc[r], block);
        }
    }
    store(acc)
}

impl TileGemm for TileQ8_0x8 {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx2()
    }

    type Act = Block8x32;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[Block8x32]; R],
    ) -> [[f32; MAX_TILE_ROWS]; R] {
        gemm_q8_0_x8(tiles, rows)
    }
}

/// Σ over a 32-value block of signed weights `w` (8 groups of four values
/// of each of the 8 rows, as whole bytes; their magnitudes `abs`) times the
/// input bytes `y`: one exact 32-bit sum per row. `vpmaddubsw` takes an
/// unsigned operand, so the weights' signs move to the inputs (which the
/// quantizer keeps in −127..=127, so negating one never overflows): each
/// product pair is at most 2 · 128 · 127 = 32,512, exact in i16.
#[inline(always)]
unsafe fn signed_block_sums(w: &[__m256i; 8], abs: &[__m256i; 8], y: *const i8) -> __m256i {
    let ones = _mm256_set1_epi16(1);
    let mut sum = _mm256_setzero_si256();
    for g in 0..8 {
        let signed = _mm256_sign_epi8(broadcast_i32(y, 4 * g), w[g]);
        let pairs = _mm256_maddubs_epi16(abs[g], signed);
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, ones));
    }
    sum
}

/// Q8_0 tiles (one row tile: all its blocks) · Q8_0 inputs: the 8 outputs
/// of the tile for each of `R` input rows, as
/// [`blocks::dot_q8_0`](super::super::blocks::dot_q8_0) computes them.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm_q8_0_x8<const R: usize>(
    tiles: &[TileQ8_0x8],
    rows: [&[Block8x32]; R],
) -> [[f32; MAX_TILE_ROWS]; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        let w: [__m256i; 8] = std::array::from_fn(|g| load(tile.qs[g].as_ptr() as *const u8));
        let abs = w.map(|w| _mm256_sign_epi8(w, w));
        let d = f16x8(&tile.d);
        for r in 0..R {
            let y = &rows[r][kb];
            let sumi = signed_block_sums(&w, &abs, y.qs.as_ptr());
            // d · y.d · sumi, as the scalar code.
            let block = _mm256_mul_ps(
                _mm256_mul_ps(d, _mm256_set1_ps(y.d)),
                _mm256_cvtepi32_ps(sumi),
            );
            acc[r] = _mm256_add_ps(acc[r], block);
        }
    }
    store(acc)
}

impl TileGemm for TileQ5_0x8 {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx2()
    }

    type Act = Block8x32;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[Block8x32]; R],
    ) -> [[f32; MAX_TILE_ROWS]; R] {
        gemm_q5_0_x8(tiles, rows)
    }
}

impl TileGemm for TileQ4_1x8 {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx2()
    }

    type Act = Block8x32;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[Block8x32]; R],
    ) -> [[f32; MAX_TILE_ROWS]; R] {
        gemm_q4_1_x8(tiles, rows)
    }
}

/// The 8 groups of four 4-bit values of each row of a 32-value block
/// (stored as [`tiles8`](super::super::tiles8)' nibbles), as whole bytes.
#[inline(always)]
unsafe fn nibble_groups(qs: &[[u8; 32]; 4]) -> [__m256i; 8] {
    let m4 = _mm256_set1_epi8(0xF);
    let mut groups = [_mm256_setzero_si256(); 8];
    for (p, pair) in qs.iter().enumerate() {
        let bytes = load(pair.as_ptr());
        groups[2 * p] = _mm256_and_si256(bytes, m4);
        groups[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
    }
    groups
}

/// Q5_0 tiles (one row tile) · Q8_0 inputs: the 8 outputs of the tile for
/// each of `R` input rows, as
/// [`blocks::dot_q5_0`](super::super::blocks::dot_q5_0) computes them.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm_q5_0_x8<const R: usize>(
    tiles: &[TileQ5_0x8],
    rows: [&[Block8x32]; R],
) -> [[f32; MAX_TILE_ROWS]; R] {
    let minus16 = _mm256_set1_epi8(0xF0u8 as i8);
    let mut acc = [_mm256_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        let qh = load(tile.qh.as_ptr());
        let mut w = nibble_groups(&tile.qs);
        for (g, w) in w.iter_mut().enumerate() {
            // q − 16 as a signed byte: the nibble with bits 4–7 set where
            // the fifth bit is clear (nibble − 16), left as is where set.
            let bit = _mm256_set1_epi8((1u8 << g) as i8);
            let set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
            *w = _mm256_or_si256(*w, _mm256_andnot_si256(set, minus16));
        }
        let abs = w.map(|w| _mm256_sign_epi8(w, w));
        let d = f16x8(&tile.d);
        for r in 0..R {
            let y = &rows[r][kb];
            let sumi = signed_block_sums(&w, &abs, y.qs.as_ptr());
            // d · y.d · sumi, as the scalar code.
            let scale = _mm256_mul_ps(d, _mm256_set1_ps(y.d));
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(scale, _mm256_cvtepi32_ps(sumi)));
        }
    }
    store(acc)
}

/// Q4_1 tiles (one row tile) · Q8_1 inputs: the 8 outputs of the tile for
/// each of `R` input rows, as
/// [`blocks::dot_q4_1`](super::super::blocks::dot_q4_1) computes them.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm_q4_1_x8<const R: usize>(
    tiles: &[TileQ4_1x8],
    rows: [&[Block8x32]; R],
) -> [[f32; MAX_TILE_ROWS]; R] {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        let w = nibble_groups(&tile.qs);
        let (d, m) = (f16x8(&tile.d), f16x8(&tile.m));
        for r in 0..R {
            let y = &rows[r][kb];
            let yq = y.qs.as_ptr();
            // 16 products of values ≤ 15 and inputs ≥ −128 per row and
            // 16-bit lane: at most 16 · 15 · 128 = 30,720, exact in i16.
            let mut sum16 = _mm256_setzero_si256();
            for (g, &w) in w.iter().enumerate() {
                let pairs = _mm256_maddubs_epi16(w, broadcast_i32(yq, 4 * g));
                sum16 = _mm256_add_epi16(sum16, pairs);
            }
            let sumi = _mm256_madd_epi16(sum16, ones);
            // d · y.d · sumi + m · y.s, as the scalar code.
            let scale = _mm256_mul_ps(d, _mm256_set1_ps(y.d));
            let scaled = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(sumi));
            let block = _mm256_add_ps(scaled, _mm256_mul_ps(m, _mm256_set1_ps(y.s)));
            acc[r] = _mm256_add_ps(acc[r], block);
        }
    }
    store(acc)
}
