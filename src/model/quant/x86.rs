//! SIMD kernels: AVX2/FMA dot products on the block formats of
//! [`super::blocks`], AVX-512 VNNI products on [`super::tiles`], and AVX2
//! products on the 8-row tiles of [`super::tiles8`] (submodule `tiles8`).
//!
//! Every dot kernel takes one weight row (raw GGUF block bytes) and `R` input
//! rows quantized to the matching activation format, and returns the `R`
//! dot products. Taking several input rows at once lets prompt processing
//! unpack each weight block once for several tokens; decoding uses `R = 1`.
//!
//! Integer products are exact; only the per-block float accumulation differs
//! from the scalar reference in rounding, which the tests bound.
//!
//! # Safety
//! The dot kernels require AVX2, FMA and F16C, the tile kernels AVX-512
//! F/BW and VNNI; callers only run them on the path a
//! [`CpuKernels`](crate::model::kernels::CpuKernels) allows, which is
//! checked against the CPU once, when the model loads. Slices are
//! read with unaligned loads within their bounds: `w` must hold a whole
//! number of blocks and every input row at least as many blocks as `w`.

use std::arch::x86_64::*;

use super::blocks::{q4k_scales_mins, round_f16, Block8x32, BlockQ8K, QK32, QK_K};
use super::tiles::{Tile, TileQ4K, TileQ6K, TILE_ROWS};
use crate::model::kernels::CpuKernels;

mod tiles8;

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

/// The f16 at `p[at..at + 2]`, converted with F16C.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_le(p: &[u8], at: usize) -> f32 {
    let bits = u16::from_le_bytes([p[at], p[at + 1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// Shuffle masks repeating 16-bit lane `k` of a 128-bit half everywhere
/// (`LANE_BROADCAST[k]`), for applying per-sub-block scales.
const fn lane_broadcast_masks() -> [[u8; 32]; 8] {
    let mut masks = [[0u8; 32]; 8];
    let mut k = 0;
    while k < 8 {
        let mut i = 0;
        while i < 16 {
            masks[k][2 * i] = 2 * k as u8;
            masks[k][2 * i + 1] = 2 * k as u8 + 1;
            i += 1;
        }
        k += 1;
    }
    masks
}

const LANE_BROADCAST: [[u8; 32]; 8] = lane_broadcast_masks();

/// Masks whose low 128-bit half repeats 16-bit lane `2k` and high half lane
/// `2k + 1` (Q6_K: two scales per 32 values).
const fn pair_broadcast_masks() -> [[u8; 32]; 4] {
    let mut masks = [[0u8; 32]; 4];
    let mut k = 0;
    while k < 4 {
        let mut i = 0;
        while i < 8 {
            masks[k][2 * i] = 4 * k as u8;
            masks[k][2 * i + 1] = 4 * k as u8 + 1;
            masks[k][16 + 2 * i] = 4 * k as u8 + 2;
            masks[k][16 + 2 * i + 1] = 4 * k as u8 + 3;
            i += 1;
        }
        k += 1;
    }
    masks
}

const PAIR_BROADCAST: [[u8; 32]; 4] = pair_broadcast_masks();

/// Q4_K weights · Q8_K inputs.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4k<const R: usize>(w: &[u8], rows: [&[BlockQ8K]; R]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0xF);
    let mut acc = [_mm256_setzero_ps(); R];
    let mut acc_min = [_mm_setzero_ps(); R];
    for (i, b) in w.chunks_exact(144).enumerate() {
        let (d, dmin) = (f16_le(b, 0), f16_le(b, 2));
        let packed = q4k_scales_mins(&b[4..16]);
        let scales_mins = _mm256_cvtepu8_epi16(_mm_loadu_si128(packed.as_ptr() as *const __m128i));
        let mins16 = _mm256_extracti128_si256(scales_mins, 1);
        let scales = _mm256_permute2x128_si256(scales_mins, scales_mins, 0);
        let mut quants = [_mm256_setzero_si256(); 8];
        let mut scale16 = [_mm256_setzero_si256(); 8];
        for j in 0..4 {
            let bits = load(b.as_ptr().add(16 + 32 * j));
            quants[2 * j] = _mm256_and_si256(bits, m4);
            quants[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
        }
        for (k, v) in scale16.iter_mut().enumerate() {
            *v = _mm256_shuffle_epi8(scales, load(LANE_BROADCAST[k].as_ptr()));
        }
        for r in 0..R {
            let y = &rows[r][i];
            // Minimums: Σ min[s] · (sum of the 32 inputs of sub-block s).
            let bsums = _mm256_loadu_si256(y.bsums.as_ptr() as *const __m256i);
            let pair_sums = _mm_hadd_epi16(
                _mm256_castsi256_si128(bsums),
                _mm256_extracti128_si256(bsums, 1),
            );
            let prod = _mm_madd_epi16(mins16, pair_sums);
            acc_min[r] = _mm_fmadd_ps(_mm_set1_ps(-y.d * dmin), _mm_cvtepi32_ps(prod), acc_min[r]);
            let mut sumi = _mm256_setzero_si256();
            for s in 0..8 {
                let ys = load(y.qs.as_ptr().add(32 * s) as *const u8);
                let p = _mm256_madd_epi16(scale16[s], _mm256_maddubs_epi16(quants[s], ys));
                sumi = _mm256_add_epi32(sumi, p);
            }
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y.d * d), _mm256_cvtepi32_ps(sumi), acc[r]);
        }
    }
    let mut out = [0f32; R];
    for r in 0..R {
        let m = acc_min[r];
        let m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[r] = hsum_ps(acc[r]) + _mm_cvtss_f32(m);
    }
    out
}

/// Q6_K weights · Q8_K inputs.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q6k<const R: usize>(w: &[u8], rows: [&[BlockQ8K]; R]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0xF);
    let m2 = _mm256_set1_epi8(3);
    let m32 = _mm256_set1_epi8(32);
    let mut acc = [_mm256_setzero_ps(); R];
    for (i, b) in w.chunks_exact(210).enumerate() {
        let d = f16_le(b, 208);
        // 16 unsigned 6-bit vectors of 32 values, in element order.
        let mut quants = [_mm256_setzero_si256(); 8];
        let mut scales = [_mm256_setzero_si256(); 8];
        for n in 0..2 {
            let ql = b.as_ptr().add(64 * n);
            let qh = load(b.as_ptr().add(128 + 32 * n));
            let (lo1, lo2) = (load(ql), load(ql.add(32)));
            let h0 = _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4);
            let h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4);
            let h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4);
            let h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4);
            quants[4 * n] = _mm256_or_si256(_mm256_and_si256(lo1, m4), h0);
            quants[4 * n + 1] = _mm256_or_si256(_mm256_and_si256(lo2, m4), h1);
            quants[4 * n + 2] =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo1, 4), m4), h2);
            quants[4 * n + 3] =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo2, 4), m4), h3);
            let sc8 = _mm_loadl_epi64(b.as_ptr().add(192 + 8 * n) as *const __m128i);
            let sc16 = _mm_cvtepi8_epi16(sc8);
            let sc16 = _mm256_set_m128i(sc16, sc16);
            for k in 0..4 {
                scales[4 * n + k] = _mm256_shuffle_epi8(sc16, load(PAIR_BROADCAST[k].as_ptr()));
            }
        }
        for r in 0..R {
            let y = &rows[r][i];
            let mut sumi = _mm256_setzero_si256();
            for g in 0..8 {
                let ys = load(y.qs.as_ptr().add(32 * g) as *const u8);
                let p = _mm256_sub_epi16(
                    _mm256_maddubs_epi16(quants[g], ys),
                    _mm256_maddubs_epi16(m32, ys),
                );
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scales[g], p));
            }
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y.d * d), _mm256_cvtepi32_ps(sumi), acc[r]);
        }
    }
    let mut out = [0f32; R];
    for r in 0..R {
        out[r] = hsum_ps(acc[r]);
    }
    out
}

/// Q4_1 weights · Q8_1 inputs.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_1<const R: usize>(w: &[u8], rows: [&[Block8x32]; R]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0xF);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    let mut acc_min = [0f32; R];
    for (i, b) in w.chunks_exact(20).enumerate() {
        let (d, m) = (f16_le(b, 0), f16_le(b, 2));
        let raw = _mm_loadu_si128(b.as_ptr().add(4) as *const __m128i);
        let quants = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), m4);
        for r in 0..R {
            let y = &rows[r][i];
            let ys = load(y.qs.as_ptr() as *const u8);
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(quants, ys), ones);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(p), acc[r]);
            acc_min[r] += m * y.s;
        }
    }
    let mut out = acc_min;
    for r in 0..R {
        out[r] += hsum_ps(acc[r]);
    }
    out
}

/// Q5_0 weights · Q8_0 inputs.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q5_0<const R: usize>(w: &[u8], rows: [&[Block8x32]; R]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0xF);
    // Byte `j` of a block picks byte `j / 8` of the fifth bits (in both
    // 128-bit lanes: elements 0–15, then 16–31) and tests bit `j % 8`.
    let pick = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, //
        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
    );
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let low = _mm256_set1_epi8(0xF0u8 as i8);
    dot_signed_32(w, 22, rows, |b| {
        let high = _mm256_set1_epi32(i32::from_le_bytes([b[2], b[3], b[4], b[5]]));
        let fifth = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(high, pick), bit), bit);
        let raw = _mm_loadu_si128(b.as_ptr().add(6) as *const __m128i);
        let nibbles = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), m4);
        // q − 16: the nibble where the fifth bit is set, else the nibble
        // with the top four bits set (two's complement of nibble − 16).
        _mm256_or_si256(nibbles, _mm256_andnot_si256(fifth, low))
    })
}

/// Q8_0 weights · Q8_0 inputs.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q8_0<const R: usize>(w: &[u8], rows: [&[Block8x32]; R]) -> [f32; R] {
    dot_signed_32(w, 34, rows, |b| load(b.as_ptr().add(2)))
}

/// Weights in blocks of `block_bytes` that start with an f16 scale and
/// unpack (`values`) to 32 signed bytes, · Q8_0 inputs.
#[inline(always)]
unsafe fn dot_signed_32<const R: usize>(
    w: &[u8],
    block_bytes: usize,
    rows: [&[Block8x32]; R],
    values: impl Fn(&[u8]) -> __m256i,
) -> [f32; R] {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    for (i, b) in w.chunks_exact(block_bytes).enumerate() {
        let d = f16_le(b, 0);
        let xs = values(b);
        let abs = _mm256_sign_epi8(xs, xs);
        for r in 0..R {
            let y = &rows[r][i];
            let ys = _mm256_sign_epi8(load(y.qs.as_ptr() as *const u8), xs);
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(abs, ys), ones);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    let mut out = [0f32; R];
    for r in 0..R {
        out[r] = hsum_ps(acc[r]);
    }
    out
}

/// One Q8_K super-block of `xs` (256 values), eight values per
/// instruction: the operations of [`super::blocks`]' portable quantizer
/// (largest magnitude, its first value's sign, scale, rounding half away
/// from zero, clamping, NaN to 0), so the same bits. The portable loop
/// compiles to scalar code for the rounding and the saturating cast; this
/// one takes about a twentieth of the time, which matters most in decoding,
/// where the other threads wait while one row is quantized.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn quantize_q8k_block(xs: &[f32; QK_K]) -> BlockQ8K {
    let amax = max_abs(xs);
    let mut block = BlockQ8K {
        d: 0.0,
        qs: [0; QK_K],
        bsums: [0; QK_K / 16],
    };
    // The first value of the largest magnitude, sign kept.
    let target = _mm256_set1_ps(amax);
    let first = (0..QK_K / 8).find_map(|i| {
        let x = _mm256_loadu_ps(xs.as_ptr().add(8 * i));
        let hits = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(abs_ps(x), target));
        (hits != 0).then(|| xs[8 * i + hits.trailing_zeros() as usize])
    });
    let Some(max) = first.filter(|&max| max != 0.0) else {
        return block;
    };
    let iscale = -127.0 / max;
    for (run, out) in xs.chunks_exact(32).zip(block.qs.chunks_exact_mut(32)) {
        let bytes = round_to_bytes(run.as_ptr(), iscale);
        _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, bytes);
    }
    for (sum, qs) in block.bsums.iter_mut().zip(block.qs.chunks_exact(16)) {
        *sum = qs.iter().map(|&q| q as i16).sum();
    }
    block.d = 1.0 / iscale;
    block
}

/// One Q8_0 (or, `with_sum`, Q8_1) block of `xs` (32 values): the
/// portable quantizer's operations eight values at a time, as
/// [`quantize_q8k_block`] is for Q8_K.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn quantize_q8_32_block(xs: &[f32; QK32], with_sum: bool) -> Block8x32 {
    let d = max_abs(xs) / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut block = Block8x32 {
        d: round_f16(d),
        s: 0.0,
        qs: [0; QK32],
    };
    let bytes = round_to_bytes(xs.as_ptr(), id);
    _mm256_storeu_si256(block.qs.as_mut_ptr() as *mut __m256i, bytes);
    if with_sum {
        let sum: i32 = block.qs.iter().map(|&q| q as i32).sum();
        block.s = round_f16(round_f16(sum as f32) * round_f16(d));
    }
    block
}

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn abs_ps(v: __m256) -> __m256 {
    _mm256_andnot_ps(_mm256_set1_ps(-0.0), v)
}

/// The largest magnitude in `xs` (a multiple of 8 long), NaNs skipped as
/// [`f32::max`] skips them.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn max_abs(xs: &[f32]) -> f32 {
    let mut lanes = _mm256_setzero_ps();
    for eight in xs.chunks_exact(8) {
        // `max` returns its second operand when either is NaN.
        lanes = _mm256_max_ps(abs_ps(_mm256_loadu_ps(eight.as_ptr())), lanes);
    }
    let half = _mm_max_ps(
        _mm256_castps256_ps128(lanes),
        _mm256_extractf128_ps(lanes, 1),
    );
    let half = _mm_max_ps(half, _mm_movehl_ps(half, half));
    _mm_cvtss_f32(_mm_max_ss(half, _mm_movehdup_ps(half)))
}

/// The 32 values from `p`, times `scale`, rounded half away from zero,
/// clamped to `-128..=127` (NaN to 0) and packed to bytes in order.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn round_to_bytes(p: *const f32, scale: f32) -> __m256i {
    let scale = _mm256_set1_ps(scale);
    let sign = _mm256_set1_ps(-0.0);
    let (one, half) = (_mm256_set1_ps(1.0), _mm256_set1_ps(0.5));
    let (lowest, highest) = (_mm256_set1_ps(-128.0), _mm256_set1_ps(127.0));
    let ints: [__m256i; 4] = std::array::from_fn(|k| {
        let v = _mm256_mul_ps(scale, _mm256_loadu_ps(p.add(8 * k)));
        let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(v);
        let up = _mm256_cmp_ps::<_CMP_GE_OQ>(abs_ps(_mm256_sub_ps(v, t)), half);
        let step = _mm256_or_ps(one, _mm256_and_ps(v, sign));
        let rounded = _mm256_add_ps(t, _mm256_and_ps(up, step));
        let clamped = _mm256_min_ps(_mm256_max_ps(rounded, lowest), highest);
        let ordered = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_ORD_Q>(v, v));
        _mm256_and_si256(_mm256_cvttps_epi32(clamped), ordered)
    });
    // Packing works within 128-bit halves; the permute puts the four
    // groups of four back in order.
    let bytes = _mm256_packs_epi16(
        _mm256_packs_epi32(ints[0], ints[1]),
        _mm256_packs_epi32(ints[2], ints[3]),
    );
    _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// The most outputs a tile kernel returns per input row (the rows of the
/// largest tile); a tile of fewer rows fills the first [`Tile::ROWS`].
pub const MAX_TILE_ROWS: usize = TILE_ROWS;

/// A tile format's product kernel: one row tile (all its super-blocks) ·
/// `R` input rows ([`Self::Act`]), the tile's [`Tile::ROWS`] outputs for each row.
pub trait TileGemm: Tile {
    /// Whether `cpu`'s path may run [`Self::gemm`]: the AVX-512 VNNI
    /// kernels of the 16-row tiles need `avx512`, the AVX2 kernels of the
    /// 8-row tiles `avx2` (which `avx512` includes).
    fn runs_on(cpu: CpuKernels) -> bool;

    /// An input block (of the activation format of the tile's weights).
    type Act;

    /// # Safety
    /// The CPU must have the features [`Self::runs_on`] asks of its path
    /// (a [`CpuKernels`] for which it returns true); every input row holds
    /// as many blocks as `tiles` has tiles.
    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[Self::Act]; R],
    ) -> [[f32; MAX_TILE_ROWS]; R];
}

impl TileGemm for TileQ4K {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx512()
    }

    type Act = BlockQ8K;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[BlockQ8K]; R],
    ) -> [[f32; TILE_ROWS]; R] {
        gemm_q4k_tiles(tiles, rows)
    }
}

impl TileGemm for TileQ6K {
    fn runs_on(cpu: CpuKernels) -> bool {
        cpu.avx512()
    }

    type Act = BlockQ8K;

    unsafe fn gemm<const R: usize>(
        tiles: &[Self],
        rows: [&[BlockQ8K]; R],
    ) -> [[f32; TILE_ROWS]; R] {
        gemm_q6k_tiles(tiles, rows)
    }
}

/// The 16 rows' `d` and `dmin` of a Q4_K tile, from the spare top bits of
/// its header: the sign bits of the header's four lines are `d`'s 256 bits
/// in order, the next bits `dmin`'s.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn block_scales(tile: &TileQ4K) -> (__m512, __m512) {
    let header = tile.header.as_ptr() as *const u8;
    let lines: [__m512i; 4] =
        std::array::from_fn(|i| _mm512_loadu_si512(header.add(64 * i) as *const _));
    let d = lines.map(|line| _mm512_movepi8_mask(line) as i64);
    let dmin = lines.map(|line| _mm512_movepi8_mask(_mm512_add_epi8(line, line)) as i64);
    let f16s = |w: [i64; 4]| _mm512_cvtph_ps(_mm256_setr_epi64x(w[0], w[1], w[2], w[3]));
    (f16s(d), f16s(dmin))
}

/// Q4_K tiles (one row tile: all its super-blocks) · Q8_K inputs: the 16
/// outputs of the tile for each of `R` input rows. Requires AVX-512 F/BW
/// and VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn gemm_q4k_tiles<const R: usize>(
    tiles: &[TileQ4K],
    rows: [&[BlockQ8K]; R],
) -> [[f32; TILE_ROWS]; R] {
    let m4 = _mm512_set1_epi8(0xF);
    let six_bits = |row: &[u8; TILE_ROWS]| {
        let bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(row.as_ptr() as *const __m128i));
        let six = _mm512_set1_epi32(TileQ4K::SIX_BITS as i32);
        _mm512_cvtepi32_ps(_mm512_and_si512(bytes, six))
    };
    let mut acc = [_mm512_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        let mut scaled = [_mm512_setzero_ps(); R];
        let mut mins = [_mm512_setzero_ps(); R];
        for s in 0..8 {
            let mut isum = [_mm512_setzero_si512(); R];
            for g4 in 0..4 {
                let g = 4 * s + g4;
                prefetch_ahead(tile, g, 32);
                let w = _mm512_loadu_si512(tile.qs.as_ptr().add(64 * g) as *const _);
                let lo = _mm512_and_si512(w, m4);
                let hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
                for r in 0..R {
                    let y = rows[r][kb].qs.as_ptr().add(8 * g);
                    let y_lo = _mm512_set1_epi32((y as *const i32).read_unaligned());
                    let y_hi = _mm512_set1_epi32((y.add(4) as *const i32).read_unaligned());
                    isum[r] = _mm512_dpbusd_epi32(isum[r], lo, y_lo);
                    isum[r] = _mm512_dpbusd_epi32(isum[r], hi, y_hi);
                }
            }
            let scale = six_bits(&tile.header[s]);
            let min = six_bits(&tile.header[8 + s]);
            for r in 0..R {
                let y = &rows[r][kb];
                scaled[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), scale, scaled[r]);
                let bsum = y.bsums[2 * s] as i32 + y.bsums[2 * s + 1] as i32;
                mins[r] = _mm512_fmadd_ps(min, _mm512_set1_ps(bsum as f32), mins[r]);
            }
        }
        let (d, dmin) = block_scales(tile);
        for r in 0..R {
            let block = _mm512_fmsub_ps(d, scaled[r], _mm512_mul_ps(dmin, mins[r]));
            acc[r] = _mm512_fmadd_ps(block, _mm512_set1_ps(rows[r][kb].d), acc[r]);
        }
    }
    let mut out = [[0f32; TILE_ROWS]; R];
    for r in 0..R {
        _mm512_storeu_ps(out[r].as_mut_ptr(), acc[r]);
    }
    out
}

/// Q6_K tiles (one row tile) · Q8_K inputs: the 16 outputs of the tile for
/// each of `R` input rows. Requires AVX-512 F/BW and VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn gemm_q6k_tiles<const R: usize>(
    tiles: &[TileQ6K],
    rows: [&[BlockQ8K]; R],
) -> [[f32; TILE_ROWS]; R] {
    let low4 = _mm512_set1_epi8(0x0F);
    let top2 = _mm512_set1_epi8(0x30);
    let mut acc = [_mm512_setzero_ps(); R];
    for (kb, tile) in tiles.iter().enumerate() {
        let mut scaled = [_mm512_setzero_ps(); R];
        for s in 0..16 {
            // 53 lines a tile: four a sub-block covers them.
            prefetch_ahead(tile, 4 * s, 2);
            prefetch_ahead(tile, 4 * s + 1, 2);
            let sub = tile.q[s].as_ptr();
            let a = _mm512_loadu_si512(sub as *const _);
            let b = _mm512_loadu_si512(sub.add(64) as *const _);
            let h = _mm512_loadu_si512(sub.add(TileQ6K::TOP_BITS) as *const _);
            // The four groups of the sub-block, 4 values per row each,
            // rebuilt as whole bytes (q + 32): low nibble | top bits moved
            // to bits 4..6.
            let whole = |nibbles, top| {
                // `(a & b) | c` in one ternary-logic instruction.
                _mm512_ternarylogic_epi32::<0xEA>(nibbles, low4, _mm512_and_si512(top, top2))
            };
            let w = [
                whole(a, _mm512_slli_epi16(h, 4)),
                whole(_mm512_srli_epi16(a, 4), _mm512_slli_epi16(h, 2)),
                whole(b, h),
                whole(_mm512_srli_epi16(b, 4), _mm512_srli_epi16(h, 2)),
            ];
            let mut isum = [_mm512_setzero_si512(); R];
            for (g4, w) in w.into_iter().enumerate() {
                let g = 4 * s + g4;
                for r in 0..R {
                    let y = rows[r][kb].qs.as_ptr().add(4 * g) as *const i32;
                    isum[r] =
                        _mm512_dpbusd_epi32(isum[r], w, _mm512_set1_epi32(y.read_unaligned()));
                }
            }
            let scale = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                tile.scales[s].as_ptr() as *const __m128i,
            )));
            for r in 0..R {
                // Stored values are q + 32: take 32 · Σy back out.
                let offset = _mm512_set1_epi32(32 * rows[r][kb].bsums[s] as i32);
                let exact = _mm512_sub_epi32(isum[r], offset);
                scaled[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scale, scaled[r]);
            }
        }
        let d = _mm512_cvtph_ps(_mm256_loadu_si256(tile.d.as_ptr() as *const __m256i));
        for r in 0..R {
            let block = _mm512_mul_ps(d, scaled[r]);
            acc[r] = _mm512_fmadd_ps(block, _mm512_set1_ps(rows[r][kb].d), acc[r]);
        }
    }
    let mut out = [[0f32; TILE_ROWS]; R];
    for r in 0..R {
        _mm512_storeu_ps(out[r].as_mut_ptr(), acc[r]);
    }
    out
}

/// How many tiles ahead of the one being read [`prefetch_ahead`] asks for.
const PREFETCH_TILES: usize = 3;

/// Asks for cache lines `line` and `line + lines_per_pass` of the tile
/// [`PREFETCH_TILES`] ahead of `tile` to be brought into L2 (tiles of a
/// matrix lie back to back, and the next row tile's follow the current
/// one's). The hardware prefetcher alone leaves memory idle between its
/// requests; these keep more of them in flight. Measured over 12 distinct
/// matrices on 2 threads, alternating within one process, against asking
/// for nothing with one input row and for lines 2 tiles ahead into L1 with
/// more:
/// - one row: 7–10% less time for Q4_K tiles of `ffn_up`'s shape
///   (8960 × 1536), 17–22% for `ffn_down`'s (1536 × 8960), 16–26% for
///   Q6_K tiles of `ffn_down`'s;
/// - two rows (two files decoding together): 6–13% less;
/// - four rows: 0–18% less;
/// - prompt chunks (64 rows): the same time within 2.5%.
///
/// Prefetches never fault, so asking past the matrix's end is harmless.
#[inline(always)]
unsafe fn prefetch_ahead<T>(tile: &T, line: usize, lines_per_pass: usize) {
    let size = std::mem::size_of::<T>();
    let ahead = (tile as *const T as *const i8).wrapping_add(PREFETCH_TILES * size);
    for offset in [64 * line, 64 * (line + lines_per_pass)] {
        if offset < size {
            _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(offset));
        }
    }
}
