//! GGML block formats: their byte layouts, how activations are quantized to
//! meet them, and plain scalar code for dequantization and dot products.
//!
//! The scalar code is the reference the SIMD kernels are tested against and
//! the fallback on CPUs without AVX2. Layouts follow GGML exactly, so weight
//! bytes are used as they lie in the GGUF file:
//!
//! | type | elements | bytes | layout |
//! |---|---|---|---|
//! | Q4_1 | 32 | 20 | f16 d, f16 m, 16 × two 4-bit quants; x = d·q + m |
//! | Q5_0 | 32 | 22 | f16 d, 32 fifth bits, 16 × two 4-bit quants; x = d·(q − 16) |
//! | Q8_0 | 32 | 34 | f16 d, 32 × i8; x = d·q |
//! | Q4_K | 256 | 144 | f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 × two 4-bit quants |
//! | Q6_K | 256 | 210 | 128 bytes low 4 bits, 64 bytes high 2 bits, 16 × i8 scales, f16 d |

use candle_core::quantized::GgmlDType;
use half::f16;

use super::formats::FormatKernels;
use crate::model::kernels::CpuKernels;

/// Elements in a K-quant super-block.
pub const QK_K: usize = 256;
/// Elements in a Q4_1 / Q5_0 / Q8_0 block.
pub const QK32: usize = 32;

/// A weight format kurz has its own kernels for (each described in one
/// place: [`super::formats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantType {
    /// 4-bit with per-block scale and minimum (blocks of 32).
    Q4_1,
    /// 5-bit with per-block scale (blocks of 32).
    Q5_0,
    /// 8-bit with per-block scale (blocks of 32).
    Q8_0,
    /// 4-bit K-quant (super-blocks of 256).
    Q4K,
    /// 6-bit K-quant (super-blocks of 256).
    Q6K,
}

/// The quantized form a matrix's input (activation) rows take for the dot
/// products with a weight format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationFormat {
    /// Blocks of 32 with a scale and the scaled sum (GGML's Q8_1).
    Q8_1,
    /// Blocks of 32 with a scale (GGML's Q8_0).
    Q8_0,
    /// Super-blocks of 256 with a scale and sums of 16 (GGML's Q8_K).
    Q8K,
}

impl ActivationFormat {
    /// Elements per block.
    pub fn block_elems(self) -> usize {
        match self {
            Self::Q8K => QK_K,
            Self::Q8_0 | Self::Q8_1 => QK32,
        }
    }
}

impl QuantType {
    /// The kurz kernel format for a GGML type, if there is one.
    pub fn from_ggml(dtype: GgmlDType) -> Option<Self> {
        FormatKernels::find(dtype).map(|format| format.ty)
    }

    /// The GGML type.
    pub fn ggml(self) -> GgmlDType {
        FormatKernels::of(self).ggml
    }

    /// Elements per block.
    pub fn block_elems(self) -> usize {
        FormatKernels::of(self).block_elems
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        FormatKernels::of(self).block_bytes
    }

    /// How input rows are quantized for this format's dot products.
    pub fn activation_format(self) -> ActivationFormat {
        FormatKernels::of(self).activation
    }

    /// Bytes taken by one row of `cols` elements (`cols` must be a multiple
    /// of the block size).
    pub fn row_bytes(self, cols: usize) -> usize {
        cols / self.block_elems() * self.block_bytes()
    }
}

/// An activation super-block of 256 8-bit values (GGML's `block_q8_K`).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8K {
    /// Scale.
    pub d: f32,
    /// Quantized values.
    pub qs: [i8; QK_K],
    /// Sum of each run of 16 quantized values.
    pub bsums: [i16; QK_K / 16],
}

/// An activation block of 32 8-bit values (GGML's `block_q8_0` / `block_q8_1`;
/// `s` is only filled for Q8_1). Scales are rounded through f16 as GGML stores them.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Block8x32 {
    /// Scale.
    pub d: f32,
    /// `d` times the sum of the quantized values (Q8_1 only).
    pub s: f32,
    /// Quantized values.
    pub qs: [i8; QK32],
}

/// Reads the little-endian f16 at `bytes[at..at + 2]` as f32.
#[inline]
pub fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// `x` rounded to the nearest f16, as f32 (how GGML stores block scales).
pub(super) fn round_f16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// The largest magnitude in `xs`, in eight lanes so it vectorizes.
#[inline(always)]
fn max_abs(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(x.abs());
        }
    }
    let tail = chunks.remainder().iter().fold(0f32, |m, x| m.max(x.abs()));
    lanes.iter().fold(tail, |m, &l| m.max(l))
}

/// `x.round()` (halves away from zero), written so it vectorizes: `round`
/// itself compiles to a library call per value. `x - x.trunc()` is exact.
#[inline(always)]
fn round_half_away(x: f32) -> f32 {
    let t = x.trunc();
    if (x - t).abs() >= 0.5 {
        t + 1f32.copysign(x)
    } else {
        t
    }
}

/// Quantizes `xs` (a multiple of 256 long) into Q8_K super-blocks, with
/// `cpu`'s code (every path gives the same bits).
pub fn quantize_q8k(cpu: CpuKernels, xs: &[f32]) -> Vec<BlockQ8K> {
    #[cfg(target_arch = "x86_64")]
    if cpu.avx2() {
        let (blocks, _) = xs.as_chunks::<QK_K>();
        return blocks
            .iter()
            // SAFETY: `cpu.avx2()` holds only on CPUs with AVX2 and FMA.
            .map(|xs| unsafe { super::x86::quantize_q8k_block(xs) })
            .collect();
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cpu;
    quantize_q8k_portable(xs)
}

// The portable block quantizers below define the results; on x86-64 with
// AVX2, `super::x86` computes the same bits with intrinsics (the compiler
// leaves the rounding and the saturating casts scalar here).
#[inline(always)]
fn quantize_q8k_portable(xs: &[f32]) -> Vec<BlockQ8K> {
    let mut blocks = Vec::with_capacity(xs.len() / QK_K);
    for xs in xs.chunks_exact(QK_K) {
        blocks.push(quantize_q8k_block(xs));
    }
    blocks
}

#[inline(always)]
fn quantize_q8k_block(xs: &[f32]) -> BlockQ8K {
    let mut block = BlockQ8K {
        d: 0.0,
        qs: [0; QK_K],
        bsums: [0; QK_K / 16],
    };
    // The first value of the largest magnitude, sign kept.
    let amax = max_abs(xs);
    let Some(max) = xs.iter().copied().find(|x| x.abs() == amax) else {
        return block;
    };
    if max != 0.0 {
        let iscale = -127.0 / max;
        for (q, &x) in block.qs.iter_mut().zip(xs) {
            *q = round_half_away(iscale * x).clamp(-128.0, 127.0) as i8;
        }
        for (sum, qs) in block.bsums.iter_mut().zip(block.qs.chunks_exact(16)) {
            *sum = qs.iter().map(|&q| q as i16).sum();
        }
        block.d = 1.0 / iscale;
    }
    block
}

/// Quantizes `xs` (a multiple of 32 long) into Q8_0 or Q8_1 blocks, with
/// `cpu`'s code (every path gives the same bits).
pub fn quantize_q8_32(cpu: CpuKernels, xs: &[f32], with_sum: bool) -> Vec<Block8x32> {
    #[cfg(target_arch = "x86_64")]
    if cpu.avx2() {
        let (blocks, _) = xs.as_chunks::<QK32>();
        return blocks
            .iter()
            // SAFETY: `cpu.avx2()` holds only on CPUs with AVX2 and FMA.
            .map(|xs| unsafe { super::x86::quantize_q8_32_block(xs, with_sum) })
            .collect();
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cpu;
    quantize_q8_32_portable(xs, with_sum)
}

#[inline(always)]
fn quantize_q8_32_portable(xs: &[f32], with_sum: bool) -> Vec<Block8x32> {
    let mut blocks = Vec::with_capacity(xs.len() / QK32);
    for xs in xs.chunks_exact(QK32) {
        blocks.push(quantize_q8_32_block(xs, with_sum));
    }
    blocks
}

#[inline(always)]
fn quantize_q8_32_block(xs: &[f32], with_sum: bool) -> Block8x32 {
    let amax = max_abs(xs);
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut block = Block8x32 {
        d: round_f16(d),
        s: 0.0,
        qs: [0; QK32],
    };
    for (q, &x) in block.qs.iter_mut().zip(xs) {
        *q = round_half_away(x * id) as i8;
    }
    if with_sum {
        // Rounded as Candle does (f16(Σq) · f16(d), product in f16)
        // rather than GGML's f16(Σq · d): the two differ by an f16 ulp
        // of the block sum, and matching Candle keeps kurz's greedy
        // tokens equal to candle-transformers' reference models.
        let sum: i32 = block.qs.iter().map(|&q| q as i32).sum();
        block.s = round_f16(round_f16(sum as f32) * round_f16(d));
    }
    block
}

/// The 6-bit scales and minimums of a Q4_K super-block, unpacked: bytes
/// 0–7 are the eight sub-block scales, bytes 8–15 their minimums.
#[inline]
pub fn q4k_scales_mins(packed: &[u8]) -> [u8; 16] {
    // Scales 0–3 and minimums 0–3 are the low 6 bits of bytes 0–3 and 4–7;
    // scales/minimums 4–7 take their low 4 bits from bytes 8–11 and their
    // top 2 bits from the spare top bits of bytes 0–3 / 4–7.
    let word =
        |i: usize| u32::from_le_bytes([packed[i], packed[i + 1], packed[i + 2], packed[i + 3]]);
    let (a, b, c) = (word(0), word(4), word(8));
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let scales_lo = a & LOW6;
    let scales_hi = (c & LOW4) | (((a >> 6) & LOW2) << 4);
    let mins_lo = b & LOW6;
    let mins_hi = ((c >> 4) & LOW4) | (((b >> 6) & LOW2) << 4);
    let mut out = [0u8; 16];
    for (i, w) in [scales_lo, scales_hi, mins_lo, mins_hi]
        .into_iter()
        .enumerate()
    {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Dequantizes one row (`out.len()` elements) from its block bytes.
pub fn dequantize_row(ty: QuantType, bytes: &[u8], out: &mut [f32]) {
    let format = FormatKernels::of(ty);
    let blocks = bytes.chunks_exact(format.block_bytes);
    let outs = out.chunks_exact_mut(format.block_elems);
    for (b, y) in blocks.zip(outs) {
        (format.dequantize)(b, y);
    }
}

/// Dequantizes one Q4_1 block (20 bytes) into `y` (32 values).
pub fn dequantize_q4_1(b: &[u8], y: &mut [f32]) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    for (j, &q) in b[4..20].iter().enumerate() {
        y[j] = d * (q & 0xF) as f32 + m;
        y[j + 16] = d * (q >> 4) as f32 + m;
    }
}

/// Dequantizes one Q5_0 block (22 bytes) into `y` (32 values).
pub fn dequantize_q5_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    for (y, q) in y.iter_mut().zip(q5_0_quants(b)) {
        *y = d * q as f32;
    }
}

/// Dequantizes one Q8_0 block (34 bytes) into `y` (32 values).
pub fn dequantize_q8_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    for (y, &q) in y.iter_mut().zip(&b[2..34]) {
        *y = d * (q as i8) as f32;
    }
}

/// Dequantizes one Q4_K super-block (144 bytes) into `y` (256 values).
pub fn dequantize_q4k(b: &[u8], y: &mut [f32]) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let unpacked = q4k_scales_mins(&b[4..16]);
    let (scales, mins) = unpacked.split_at(8);
    for j in 0..4 {
        let qs = &b[16 + 32 * j..16 + 32 * (j + 1)];
        let (lo, hi) = (2 * j, 2 * j + 1);
        for (l, &q) in qs.iter().enumerate() {
            y[64 * j + l] = d * scales[lo] as f32 * (q & 0xF) as f32 - dmin * mins[lo] as f32;
            y[64 * j + 32 + l] = d * scales[hi] as f32 * (q >> 4) as f32 - dmin * mins[hi] as f32;
        }
    }
}

/// Dequantizes one Q6_K super-block (210 bytes) into `y` (256 values).
pub fn dequantize_q6k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 208);
    for n in 0..2 {
        let ql = &b[64 * n..64 * n + 64];
        let qh = &b[128 + 32 * n..128 + 32 * n + 32];
        let sc = &b[192 + 8 * n..192 + 8 * n + 8];
        let y = &mut y[128 * n..128 * n + 128];
        for l in 0..32 {
            let is = l / 16;
            let q = q6k_quants(ql, qh, l);
            for (k, q) in q.into_iter().enumerate() {
                y[l + 32 * k] = d * (sc[is + 2 * k] as i8) as f32 * q as f32;
            }
        }
    }
}

/// The four signed 6-bit values at `l`, `l + 32`, `l + 64`, `l + 96` of a
/// Q6_K half super-block.
#[inline]
pub(crate) fn q6k_quants(ql: &[u8], qh: &[u8], l: usize) -> [i32; 4] {
    let h = qh[l] as i32;
    [
        ((ql[l] & 0xF) as i32 | ((h & 3) << 4)) - 32,
        ((ql[l + 32] & 0xF) as i32 | (((h >> 2) & 3) << 4)) - 32,
        ((ql[l] >> 4) as i32 | (((h >> 4) & 3) << 4)) - 32,
        ((ql[l + 32] >> 4) as i32 | (((h >> 6) & 3) << 4)) - 32,
    ]
}

/// Scalar dot product of a Q4_K row with a Q8_K input row.
pub fn dot_q4k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    let mut sum = 0f32;
    for (b, y) in w.chunks_exact(144).zip(a) {
        let unpacked = q4k_scales_mins(&b[4..16]);
        let (scales, mins) = unpacked.split_at(8);
        let mut sumi = 0i32;
        for j in 0..4 {
            let qs = &b[16 + 32 * j..16 + 32 * (j + 1)];
            let (lo, hi) = (&y.qs[64 * j..64 * j + 32], &y.qs[64 * j + 32..64 * j + 64]);
            let (mut s_lo, mut s_hi) = (0i32, 0i32);
            for l in 0..32 {
                s_lo += (qs[l] & 0xF) as i32 * lo[l] as i32;
                s_hi += (qs[l] >> 4) as i32 * hi[l] as i32;
            }
            sumi += scales[2 * j] as i32 * s_lo + scales[2 * j + 1] as i32 * s_hi;
        }
        let summ: i32 = (0..8)
            .map(|j| mins[j] as i32 * (y.bsums[2 * j] as i32 + y.bsums[2 * j + 1] as i32))
            .sum();
        sum += y.d * f16_at(b, 0) * sumi as f32 - y.d * f16_at(b, 2) * summ as f32;
    }
    sum
}

/// Scalar dot product of a Q6_K row with a Q8_K input row.
pub fn dot_q6k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    let mut sum = 0f32;
    for (b, y) in w.chunks_exact(210).zip(a) {
        let mut sumi = 0i32;
        for n in 0..2 {
            let ql = &b[64 * n..64 * n + 64];
            let qh = &b[128 + 32 * n..128 + 32 * n + 32];
            let sc = &b[192 + 8 * n..192 + 8 * n + 8];
            let ys = &y.qs[128 * n..128 * n + 128];
            for l in 0..32 {
                let is = l / 16;
                for (k, q) in q6k_quants(ql, qh, l).into_iter().enumerate() {
                    sumi += (sc[is + 2 * k] as i8) as i32 * q * ys[l + 32 * k] as i32;
                }
            }
        }
        sum += y.d * f16_at(b, 208) * sumi as f32;
    }
    sum
}

/// Scalar dot product of a Q4_1 row with a Q8_1 input row.
pub fn dot_q4_1(w: &[u8], a: &[Block8x32]) -> f32 {
    let mut sum = 0f32;
    for (b, y) in w.chunks_exact(20).zip(a) {
        let mut sumi = 0i32;
        for (j, &q) in b[4..20].iter().enumerate() {
            sumi += (q & 0xF) as i32 * y.qs[j] as i32 + (q >> 4) as i32 * y.qs[j + 16] as i32;
        }
        sum += f16_at(b, 0) * y.d * sumi as f32 + f16_at(b, 2) * y.s;
    }
    sum
}

/// The 32 values of a Q5_0 block (22 bytes), from −16 to 15: value `j`
/// is nibble `j % 16` of the 16 bytes at 6 (low nibbles first) with bit
/// `j` of the little-endian u32 at 2 as its fifth bit.
pub(crate) fn q5_0_quants(b: &[u8]) -> [i8; QK32] {
    let high = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    std::array::from_fn(|j| {
        let byte = b[6 + j % 16];
        let nibble = if j < 16 { byte & 0xF } else { byte >> 4 };
        let fifth = ((high >> j) & 1) as u8;
        (nibble | (fifth << 4)) as i8 - 16
    })
}

/// Scalar dot product of a Q5_0 row with a Q8_0 input row.
pub fn dot_q5_0(w: &[u8], a: &[Block8x32]) -> f32 {
    let mut sum = 0f32;
    for (b, y) in w.chunks_exact(22).zip(a) {
        let sumi: i32 = q5_0_quants(b)
            .iter()
            .zip(&y.qs)
            .map(|(&q, &p)| q as i32 * p as i32)
            .sum();
        sum += f16_at(b, 0) * y.d * sumi as f32;
    }
    sum
}

/// Scalar dot product of a Q8_0 row with a Q8_0 input row.
pub fn dot_q8_0(w: &[u8], a: &[Block8x32]) -> f32 {
    let mut sum = 0f32;
    for (b, y) in w.chunks_exact(34).zip(a) {
        let sumi: i32 = b[2..34]
            .iter()
            .zip(&y.qs)
            .map(|(&q, &p)| (q as i8) as i32 * p as i32)
            .sum();
        sum += f16_at(b, 0) * y.d * sumi as f32;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_matches_the_standard_library() {
        let mut cases = vec![
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            126.5,
            -127.5,
            0.49999997,
            -0.49999997,
            0.50000006,
            1e-30,
            -1e-30,
            8388607.5,
            8388608.0,
            1e9,
            -1e9,
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            cases.push(((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 300.0);
        }
        for x in cases {
            assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{x}");
        }
    }

    /// Blocks of `len` values for the quantizers: random values over many
    /// magnitudes, plus the edges: halves after scaling (a largest
    /// magnitude of 127 makes the scale 1), ties for the largest
    /// magnitude, zeros, NaN, infinities and subnormals.
    fn quantizer_inputs(len: usize) -> Vec<f32> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut blocks: Vec<Vec<f32>> = (0..400)
            .map(|b| {
                let magnitude = 10f32.powi(b % 9 - 4);
                (0..len)
                    .map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * magnitude)
                    .collect()
            })
            .collect();
        let mut halves: Vec<f32> = (0..len).map(|i| (i % 254) as f32 / 2.0 - 63.5).collect();
        halves[17] = -127.0;
        blocks.push(halves);
        let mut ties = vec![0.5f32; len];
        (ties[3], ties[4], ties[len - 1]) = (2.0, -2.0, 2.0);
        blocks.push(ties);
        blocks.push(vec![0.0; len]);
        let mut nan = vec![1.5f32; len];
        (nan[0], nan[7]) = (f32::NAN, -4.0);
        blocks.push(nan);
        let mut inf = vec![0.25f32; len];
        inf[31] = f32::INFINITY;
        blocks.push(inf);
        let mut tiny = vec![0.0f32; len];
        (tiny[5], tiny[6]) = (f32::from_bits(3), -f32::from_bits(1));
        blocks.push(tiny);
        blocks.concat()
    }

    #[test]
    fn every_q8k_quantizer_gives_the_portable_bits() {
        let xs = quantizer_inputs(QK_K);
        let portable = quantize_q8k_portable(&xs);
        for cpu in CpuKernels::available() {
            let fast = quantize_q8k(cpu, &xs);
            assert_eq!(fast.len(), portable.len());
            for (i, (a, b)) in fast.iter().zip(&portable).enumerate() {
                assert_eq!(a.d.to_bits(), b.d.to_bits(), "{cpu} block {i}: scale");
                assert_eq!(a.qs, b.qs, "{cpu} block {i}: values");
                assert_eq!(a.bsums, b.bsums, "{cpu} block {i}: sums");
            }
        }
    }

    #[test]
    fn every_q8_32_quantizer_gives_the_portable_bits() {
        let xs = quantizer_inputs(QK32);
        for (cpu, with_sum) in CpuKernels::available()
            .into_iter()
            .flat_map(|cpu| [(cpu, false), (cpu, true)])
        {
            let fast = quantize_q8_32(cpu, &xs, with_sum);
            let portable = quantize_q8_32_portable(&xs, with_sum);
            assert_eq!(fast.len(), portable.len());
            for (i, (a, b)) in fast.iter().zip(&portable).enumerate() {
                assert_eq!(a.d.to_bits(), b.d.to_bits(), "{cpu} block {i}: scale");
                assert_eq!(a.s.to_bits(), b.s.to_bits(), "{cpu} block {i}: sum");
                assert_eq!(a.qs, b.qs, "{cpu} block {i}: values");
            }
        }
    }

    #[test]
    fn largest_magnitude_keeps_the_first_sign() {
        let mut xs = vec![0.25f32; 256];
        xs[9] = -3.0;
        xs[200] = 3.0;
        xs[255] = -2.0;
        assert_eq!(max_abs(&xs), 3.0);
        let block = &quantize_q8k(CpuKernels::best(), &xs)[0];
        // The first value of largest magnitude (-3.0) maps to -127.
        assert_eq!(block.qs[9], -127);
        assert_eq!(block.qs[200], 127);
        assert_eq!(max_abs(&[0.0; 20]), 0.0);
        assert_eq!(max_abs(&[1.0, -7.5, 2.0]), 7.5);
    }
}
