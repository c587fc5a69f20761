//! The block formats kurz computes with, each in one place, and the one
//! table that picks a product's code by format and kernel path.
//!
//! Each format is a type implementing [`BlockFormat`]: its block as the file
//! stores it (a `#[repr(C)]` struct whose size is asserted at compile
//! time), the GGML type it comes from, the activation format its inputs are
//! quantized to, its dequantization, its scalar dot product (the
//! reference, in [`super::blocks`]), its AVX2 dot products (module `x86`)
//! and its tile layouts ([`super::tiles`], [`super::tiles8`]). The static
//! [`FormatKernels`] table, built from those impls, is what the rest of the
//! module asks: `QuantType`'s sizes, dequantization, the dot products of a
//! path ([`FormatKernels::dots`]) and tiling ([`FormatKernels::tile`]).
//! Nothing else matches on the quant type to choose code.

use std::mem::size_of;

use candle_core::quantized::GgmlDType;

use super::blocks::{self, ActivationFormat, Block8x32, BlockQ8K, QuantType, QK32, QK_K};
use super::tiles::{TileQ4K, TileQ6K, TILE_ROWS};
use super::tiles8::{TileQ4Kx8, TileQ4_1x8, TileQ5_0x8, TileQ6Kx8, TileQ8_0x8};
#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{Activations, MatMul, ProductKernel, QWeight, Tiled, Usage};
use crate::model::kernels::CpuKernels;

/// One block format: everything a product of its weights needs.
pub(super) trait BlockFormat: 'static {
    /// The format's name in kurz.
    const TYPE: QuantType;
    /// The GGML type of the file's tensors.
    const GGML: GgmlDType;
    /// One block as the file stores it.
    type Block;
    /// Weights per block.
    const ELEMS: usize;
    /// How input rows are quantized for the dot products.
    const ACTIVATION: ActivationFormat;
    /// An input block of [`Self::ACTIVATION`].
    type Act: 'static;
    /// The input blocks in `acts` (quantized to [`Self::ACTIVATION`]).
    fn acts(acts: Activations<'_>) -> &[Self::Act];
    /// Dequantizes one block (`Block`'s bytes) into [`Self::ELEMS`] values.
    fn dequantize(block: &[u8], out: &mut [f32]);
    /// The scalar dot product of a weight row with an input row: the
    /// reference.
    fn dot(w: &[u8], a: &[Self::Act]) -> f32;
    /// The AVX2 dot products of a weight row with `R` input rows.
    ///
    /// # Safety
    /// The CPU has AVX2, FMA and F16C; every input row holds as many
    /// blocks as `w`.
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(w: &[u8], rows: [&[Self::Act]; R]) -> [f32; R];
    /// `w` rearranged in tiles for `kernel`, when the format has tiles for
    /// it and `usage` pays for them.
    fn tile(_: &MatMul, _: &QWeight, _: ProductKernel, _: Usage) -> Option<Tiled> {
        None
    }
}

/// `acts` as Q8_K blocks (the variant [`QuantType::activation_format`]
/// chose).
fn q8k(acts: Activations<'_>) -> &[BlockQ8K] {
    match acts {
        Activations::K(a) => a,
        Activations::B32(_) => unreachable!("a K-quant with 32-value input blocks"),
    }
}

/// `acts` as Q8_0/Q8_1 blocks.
fn q8_32(acts: Activations<'_>) -> &[Block8x32] {
    match acts {
        Activations::B32(a) => a,
        Activations::K(_) => unreachable!("a 32-value format with Q8_K input blocks"),
    }
}

/// Q4_1: 4-bit with per-block scale and minimum.
pub(super) struct Q4_1;

/// A Q4_1 block: x = d·q + m.
#[repr(C)]
pub(super) struct BlockQ4_1 {
    d: [u8; 2],
    m: [u8; 2],
    qs: [u8; QK32 / 2],
}
const _: () = assert!(size_of::<BlockQ4_1>() == 20);

impl BlockFormat for Q4_1 {
    const TYPE: QuantType = QuantType::Q4_1;
    const GGML: GgmlDType = GgmlDType::Q4_1;
    type Block = BlockQ4_1;
    const ELEMS: usize = QK32;
    const ACTIVATION: ActivationFormat = ActivationFormat::Q8_1;
    type Act = Block8x32;
    fn acts(acts: Activations<'_>) -> &[Self::Act] {
        q8_32(acts)
    }
    fn dequantize(block: &[u8], out: &mut [f32]) {
        blocks::dequantize_q4_1(block, out)
    }
    fn dot(w: &[u8], a: &[Self::Act]) -> f32 {
        blocks::dot_q4_1(w, a)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(w: &[u8], rows: [&[Self::Act]; R]) -> [f32; R] {
        x86::dot_q4_1(w, rows)
    }
    fn tile(mm: &MatMul, w: &QWeight, kernel: ProductKernel, _: Usage) -> Option<Tiled> {
        tile_x8::<TileQ4_1x8>(mm, w, kernel).map(Tiled::Q4_1x8)
    }
}

/// Q5_0: 5-bit with per-block scale.
pub(super) struct Q5_0;

/// A Q5_0 block: x = d·(q − 16), the fifth bits apart.
#[repr(C)]
pub(super) struct BlockQ5_0 {
    d: [u8; 2],
    qh: [u8; 4],
    qs: [u8; QK32 / 2],
}
const _: () = assert!(size_of::<BlockQ5_0>() == 22);

impl BlockFormat for Q5_0 {
    const TYPE: QuantType = QuantType::Q5_0;
    const GGML: GgmlDType = GgmlDType::Q5_0;
    type Block = BlockQ5_0;
    const ELEMS: usize = QK32;
    const ACTIVATION: ActivationFormat = ActivationFormat::Q8_0;
    type Act = Block8x32;
    fn acts(acts: Activations<'_>) -> &[Self::Act] {
        q8_32(acts)
    }
    fn dequantize(block: &[u8], out: &mut [f32]) {
        blocks::dequantize_q5_0(block, out)
    }
    fn dot(w: &[u8], a: &[Self::Act]) -> f32 {
        blocks::dot_q5_0(w, a)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(w: &[u8], rows: [&[Self::Act]; R]) -> [f32; R] {
        x86::dot_q5_0(w, rows)
    }
    fn tile(mm: &MatMul, w: &QWeight, kernel: ProductKernel, _: Usage) -> Option<Tiled> {
        tile_x8::<TileQ5_0x8>(mm, w, kernel).map(Tiled::Q5_0x8)
    }
}

/// Q8_0: 8-bit with per-block scale.
pub(super) struct Q8_0;

/// A Q8_0 block: x = d·q.
#[repr(C)]
pub(super) struct BlockQ8_0 {
    d: [u8; 2],
    qs: [i8; QK32],
}
const _: () = assert!(size_of::<BlockQ8_0>() == 34);

impl BlockFormat for Q8_0 {
    const TYPE: QuantType = QuantType::Q8_0;
    const GGML: GgmlDType = GgmlDType::Q8_0;
    type Block = BlockQ8_0;
    const ELEMS: usize = QK32;
    const ACTIVATION: ActivationFormat = ActivationFormat::Q8_0;
    type Act = Block8x32;
    fn acts(acts: Activations<'_>) -> &[Self::Act] {
        q8_32(acts)
    }
    fn dequantize(block: &[u8], out: &mut [f32]) {
        blocks::dequantize_q8_0(block, out)
    }
    fn dot(w: &[u8], a: &[Self::Act]) -> f32 {
        blocks::dot_q8_0(w, a)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(w: &[u8], rows: [&[Self::Act]; R]) -> [f32; R] {
        x86::dot_q8_0(w, rows)
    }
    fn tile(mm: &MatMul, w: &QWeight, kernel: ProductKernel, _: Usage) -> Option<Tiled> {
        tile_x8::<TileQ8_0x8>(mm, w, kernel).map(Tiled::Q8_0x8)
    }
}

/// `w` in 8-row tiles `T` on the `avx2` and `avx512` paths (the 16-row
/// tiles are for the K-quants only), for products of several input rows
/// and decoding alike, and for matrices used with single rows only (the
/// output projection) too: one input row runs 1.7–3× faster on tiles than
/// on the file's blocks.
fn tile_x8<T: super::tiles::Tile>(
    mm: &MatMul,
    w: &QWeight,
    kernel: ProductKernel,
) -> Option<super::tiles::Tiles<T>> {
    matches!(kernel, ProductKernel::Avx2 | ProductKernel::Avx512).then(|| mm.pack::<T>(w))
}

/// Q4_K: 4-bit K-quant, super-blocks of 256 in 8 sub-blocks of 32 with
/// 6-bit scales and minimums.
pub(super) struct Q4K;

/// A Q4_K super-block.
#[repr(C)]
pub(super) struct BlockQ4K {
    d: [u8; 2],
    dmin: [u8; 2],
    scales: [u8; 12],
    qs: [u8; QK_K / 2],
}
const _: () = assert!(size_of::<BlockQ4K>() == 144);

impl BlockFormat for Q4K {
    const TYPE: QuantType = QuantType::Q4K;
    const GGML: GgmlDType = GgmlDType::Q4K;
    type Block = BlockQ4K;
    const ELEMS: usize = QK_K;
    const ACTIVATION: ActivationFormat = ActivationFormat::Q8K;
    type Act = BlockQ8K;
    fn acts(acts: Activations<'_>) -> &[Self::Act] {
        q8k(acts)
    }
    fn dequantize(block: &[u8], out: &mut [f32]) {
        blocks::dequantize_q4k(block, out)
    }
    fn dot(w: &[u8], a: &[Self::Act]) -> f32 {
        blocks::dot_q4k(w, a)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(w: &[u8], rows: [&[Self::Act]; R]) -> [f32; R] {
        x86::dot_q4k(w, rows)
    }
    fn tile(mm: &MatMul, w: &QWeight, kernel: ProductKernel, _: Usage) -> Option<Tiled> {
        match kernel {
            ProductKernel::Avx512 if w.rows.is_multiple_of(TILE_ROWS) => {
                Some(Tiled::Q4K(mm.pack::<TileQ4K>(w)))
            }
            // Also the `avx512` path's matrices of a row count the 16-row
            // tiles do not take (AVX-512 CPUs run AVX2).
            ProductKernel::Avx2 | ProductKernel::Avx512 => {
                Some(Tiled::Q4Kx8(mm.pack::<TileQ4Kx8>(w)))
            }
            _ => None,
        }
    }
}

/// Q6_K: 6-bit K-quant, super-blocks of 256 in 16 sub-blocks of 16 with
/// 8-bit scales.
pub(super) struct Q6K;

/// A Q6_K super-block.
#[repr(C)]
pub(super) struct BlockQ6K {
    ql: [u8; QK_K / 2],
    qh: [u8; QK_K / 4],
    scales: [i8; QK_K / 16],
    d: [u8; 2],
}
const _: () = assert!(size_of::<BlockQ6K>() == 210);

impl BlockFormat for Q6K {
    const TYPE: QuantType = QuantType::Q6K;
    const GGML: GgmlDType = GgmlDType::Q6K;
    type Block = BlockQ6K;
    const ELEMS: usize = QK_K;
    const ACTIVATION: ActivationFormat = ActivationFormat::Q8K;
    type Act = BlockQ8K;
    fn acts(acts: Activations<'_>) -> &[Self::Act] {
        q8k(acts)
    }
    fn dequantize(block: &[u8], out: &mut [f32]) {
        blocks::dequantize_q6k(block, out)
    }
    fn dot(w: &[u8], a: &[Self::Act]) -> f32 {
        blocks::dot_q6k(w, a)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(w: &[u8], rows: [&[Self::Act]; R]) -> [f32; R] {
        x86::dot_q6k(w, rows)
    }
    fn tile(mm: &MatMul, w: &QWeight, kernel: ProductKernel, usage: Usage) -> Option<Tiled> {
        match kernel {
            ProductKernel::Avx512
                if usage == Usage::Batched && w.rows.is_multiple_of(TILE_ROWS) =>
            {
                Some(Tiled::Q6K(mm.pack::<TileQ6K>(w)))
            }
            // The output projection (single rows only) on the `avx512`
            // path: as fast on the file's blocks as on 8-row tiles
            // (qwen2.5-coder-1.5b, 2 threads, 4 alternating runs each: 28.0
            // against 27.9 tokens/s), and repacking its 191 MB would add
            // 0.7 s to loading.
            ProductKernel::Avx512 if usage == Usage::SingleRow => None,
            // On the `avx2` path one input row runs faster on 8-row tiles
            // than on the file's blocks (0.074 against 0.090 of a decode
            // step's time per million weights, qwen2.5-coder-1.5b, one
            // thread); and matrices the 16-row tiles do not take.
            ProductKernel::Avx2 | ProductKernel::Avx512 => {
                Some(Tiled::Q6Kx8(mm.pack::<TileQ6Kx8>(w)))
            }
            _ => None,
        }
    }
}

/// Dot products of weight row `w` with input rows `t..t + R` (of
/// `blocks_per_row` blocks each) of `acts`.
pub(super) type DotRows<const R: usize> =
    unsafe fn(w: &[u8], acts: Activations<'_>, blocks_per_row: usize, t: usize) -> [f32; R];

/// The input rows `t..t + R` of `acts`, as blocks of `F`'s activation format.
#[inline(always)]
fn input_rows<F: BlockFormat, const R: usize>(
    acts: Activations<'_>,
    blocks_per_row: usize,
    t: usize,
) -> [&[F::Act]; R] {
    let a = F::acts(acts);
    std::array::from_fn(|k| &a[(t + k) * blocks_per_row..(t + k + 1) * blocks_per_row])
}

fn reference_rows<F: BlockFormat, const R: usize>(
    w: &[u8],
    acts: Activations<'_>,
    blocks_per_row: usize,
    t: usize,
) -> [f32; R] {
    input_rows::<F, R>(acts, blocks_per_row, t).map(|a| F::dot(w, a))
}

/// # Safety
/// As [`BlockFormat::dot_avx2`].
#[cfg(target_arch = "x86_64")]
unsafe fn avx2_rows<F: BlockFormat, const R: usize>(
    w: &[u8],
    acts: Activations<'_>,
    blocks_per_row: usize,
    t: usize,
) -> [f32; R] {
    F::dot_avx2(w, input_rows::<F, R>(acts, blocks_per_row, t))
}

/// One format's entry in the table.
pub(super) struct FormatKernels {
    /// The format.
    pub ty: QuantType,
    /// Its GGML type.
    pub ggml: GgmlDType,
    /// Weights per block.
    pub block_elems: usize,
    /// Bytes per block (the size of the typed block).
    pub block_bytes: usize,
    /// The inputs' format.
    pub activation: ActivationFormat,
    /// Dequantizes one block.
    pub dequantize: fn(&[u8], &mut [f32]),
    /// Rearranges a matrix in tiles for a kernel, when the format has them.
    pub tile: fn(&MatMul, &QWeight, ProductKernel, Usage) -> Option<Tiled>,
    /// The scalar dot products, one and four input rows at once.
    reference: (DotRows<1>, DotRows<4>),
    /// The AVX2 dot products, where the target has them.
    avx2: Option<(DotRows<1>, DotRows<4>)>,
}

const fn entry<F: BlockFormat>() -> FormatKernels {
    FormatKernels {
        ty: F::TYPE,
        ggml: F::GGML,
        block_elems: F::ELEMS,
        block_bytes: size_of::<F::Block>(),
        activation: F::ACTIVATION,
        dequantize: F::dequantize,
        tile: F::tile,
        reference: (reference_rows::<F, 1>, reference_rows::<F, 4>),
        #[cfg(target_arch = "x86_64")]
        avx2: Some((avx2_rows::<F, 1>, avx2_rows::<F, 4>)),
        #[cfg(not(target_arch = "x86_64"))]
        avx2: None,
    }
}

/// Every format, in the order of [`QuantType`]'s variants.
static TABLE: [FormatKernels; 5] = [
    entry::<Q4_1>(),
    entry::<Q5_0>(),
    entry::<Q8_0>(),
    entry::<Q4K>(),
    entry::<Q6K>(),
];

impl FormatKernels {
    /// The entry of `ty`.
    pub fn of(ty: QuantType) -> &'static Self {
        &TABLE[ty as usize]
    }

    /// The entry of GGML type `dtype`, if kurz has kernels for it.
    pub fn find(dtype: GgmlDType) -> Option<&'static Self> {
        TABLE.iter().find(|format| format.ggml == dtype)
    }

    /// Whether the format has AVX2 dot products on this target.
    pub fn has_avx2(&self) -> bool {
        self.avx2.is_some()
    }

    /// The dot products `cpu`'s path runs for this format: the AVX2 ones
    /// on the `avx2` and `avx512` paths (only ever made on CPUs with AVX2,
    /// FMA and F16C, so calling them is sound), the reference otherwise.
    pub fn dots(&self, cpu: CpuKernels) -> (DotRows<1>, DotRows<4>) {
        match self.avx2 {
            Some(simd) if cpu.avx2() => simd,
            _ => self.reference,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_quant_types_and_their_ggml_types() {
        let types = [
            QuantType::Q4_1,
            QuantType::Q5_0,
            QuantType::Q8_0,
            QuantType::Q4K,
            QuantType::Q6K,
        ];
        for ty in types {
            let format = FormatKernels::of(ty);
            assert_eq!(format.ty, ty);
            assert_eq!(QuantType::from_ggml(format.ggml), Some(ty));
            assert_eq!(format.ggml.block_size(), format.block_elems, "{ty:?}");
            assert_eq!(format.ggml.type_size(), format.block_bytes, "{ty:?}");
            assert_eq!(format.activation.block_elems() % 32, 0);
            assert!(format
                .block_elems
                .is_multiple_of(format.activation.block_elems()));
        }
        assert_eq!(QuantType::from_ggml(GgmlDType::Q5K), None);
        assert_eq!(QuantType::from_ggml(GgmlDType::F16), None);
    }

    #[test]
    fn simd_dots_are_handed_out_only_to_simd_paths() {
        let format = FormatKernels::of(QuantType::Q4K);
        let portable = format.dots(CpuKernels::portable());
        assert!(std::ptr::fn_addr_eq(portable.0, format.reference.0));
        for cpu in CpuKernels::available() {
            let dots = format.dots(cpu);
            let simd = cpu.avx2() && format.has_avx2();
            assert_eq!(
                !std::ptr::fn_addr_eq(dots.0, format.reference.0),
                simd,
                "{cpu}"
            );
        }
    }
}
