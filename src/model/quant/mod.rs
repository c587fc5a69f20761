//! kurz's own quantized matrix products on the CPU.
//!
//! Weights start out exactly as they lie in the GGUF file — a memory map of
//! it, so loading copies nothing and processes share the page cache. A
//! product `x · Wᵀ` quantizes the input rows once per activation format
//! ([`QuantizedInput`], shared by the projections that read the same
//! input, such as q/k/v), then splits the work over a thread pool of its
//! own: between weight rows when decoding (few input rows), between input
//! rows when processing a prompt (many).
//!
//! Kernels, chosen once per process and passed in ([`CpuKernels`]):
//! - `avx512` (AVX-512 VNNI): Q4_K matrices, and Q6_K ones used for
//!   prompts, are rearranged at load into tiles of 16 rows ([`tiles`]),
//!   about the size of the file's blocks, whose products advance 16 outputs
//!   per instruction; every other matrix of the preset formats but the
//!   Q6_K output projection goes into the 8-row tiles of the `avx2` path.
//! - `avx2` (AVX2/FMA/F16C, module `x86`): every matrix of the preset
//!   formats (Q4_K, Q6_K, Q8_0, Q5_0, Q4_1), the output projection too, in
//!   tiles of 8 rows ([`tiles8`]), whose products advance 8 outputs per
//!   `vpmaddubsw` and give the portable path's results bit for bit. Other
//!   formats run dot products on the file's own blocks, up to four input
//!   rows per pass over a weight row. Activations are quantized eight
//!   values at a time.
//! - `portable` ([`blocks`]): the fallback and the reference the SIMD code
//!   is tested against.
//!
//! Tiled matrices release the file pages they came from, and are asked to
//! live on transparent huge pages ([`tiles::huge_page_vec`]): decoding
//! streams them all once per token.
//!
//! Every output is computed by one task in a fixed order, so results do not
//! depend on the thread count or on how many rows a product has.

pub mod blocks;
mod formats;
pub mod tiles;
pub mod tiles8;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use candle_core::quantized::{ggml_file, QMatMul};
use candle_core::{bail, Device, Module, Result, Tensor};
use rayon::prelude::*;

use super::kernels::{CpuKernels, Isa};

pub use blocks::{ActivationFormat, QuantType};
use blocks::{Block8x32, BlockQ8K};
use formats::FormatKernels;
use tiles::{Tile, TileQ4K, TileQ6K, Tiles, TILE_ROWS};
use tiles8::{TileQ4Kx8, TileQ4_1x8, TileQ5_0x8, TileQ6Kx8, TileQ8_0x8};

/// Where a weight matrix's bytes live.
#[derive(Debug, Clone)]
pub enum WeightBytes {
    /// A range of a memory-mapped model file.
    Mapped {
        /// The whole file.
        map: Arc<memmap2::Mmap>,
        /// First byte of the tensor.
        offset: usize,
        /// Length of the tensor in bytes.
        len: usize,
    },
    /// Bytes owned in memory (tests, or files that cannot be mapped).
    Owned(Arc<Vec<u8>>),
}

impl WeightBytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Mapped { map, offset, len } => &map[*offset..*offset + *len],
            Self::Owned(bytes) => bytes,
        }
    }

    /// Tells the kernel this process no longer needs the mapped pages (they
    /// stay in the page cache, but stop counting as this process's memory).
    fn release(&self) {
        if let Self::Mapped { offset, len, .. } = self {
            // Only pages wholly inside the tensor: its neighbours may still
            // be read from the map.
            let start = offset.div_ceil(PAGE);
            let end = (offset + len) / PAGE;
            self.release_pages(start..end);
        }
    }

    /// Like [`Self::release`], for the pages holding bytes `range` of the
    /// tensor (rounded out to whole pages: one that a neighbour still reads
    /// just faults back in from the page cache).
    fn release_bytes(&self, range: Range<usize>) {
        if let Self::Mapped { offset, .. } = self {
            let start = (offset + range.start) / PAGE;
            let end = (offset + range.end).div_ceil(PAGE);
            self.release_pages(start..end);
        }
    }

    fn release_pages(&self, pages: Range<usize>) {
        if let (Self::Mapped { map, .. }, false) = (self, pages.is_empty()) {
            // SAFETY: the map is read-only and file-backed: dropping its
            // pages only means a later read faults them in from the file
            // again. Failure (e.g. another page size) is harmless.
            let _ = unsafe {
                map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    pages.start * PAGE,
                    pages.len() * PAGE,
                )
            };
        }
    }
}

/// The page size memory advice works in.
const PAGE: usize = 4096;

/// A quantized weight matrix of `rows × cols` in GGML block layout; row `r`
/// holds the weights producing output `r`.
#[derive(Debug, Clone)]
pub struct QWeight {
    ty: QuantType,
    rows: usize,
    cols: usize,
    bytes: WeightBytes,
    /// The same weights rearranged in tiles for the SIMD kernels of the
    /// path in use, when it has tiles for the format.
    tiles: Option<Arc<Tiled>>,
    /// The same weights as a Candle matrix, on the `candle` path.
    candle: Option<QMatMul>,
}

impl QWeight {
    /// Wraps `bytes` as a `rows × cols` matrix, checking the sizes agree.
    pub fn new(ty: QuantType, rows: usize, cols: usize, bytes: WeightBytes) -> Result<Self> {
        if !cols.is_multiple_of(ty.block_elems()) {
            bail!(
                "{ty:?} rows need a multiple of {} columns, got {cols}",
                ty.block_elems()
            );
        }
        let expected = rows * ty.row_bytes(cols);
        let len = bytes.as_slice().len();
        if len != expected {
            bail!("{ty:?} matrix {rows}x{cols} needs {expected} bytes, got {len}");
        }
        Ok(Self {
            ty,
            rows,
            cols,
            bytes,
            tiles: None,
            candle: None,
        })
    }

    /// The block format.
    pub fn quant_type(&self) -> QuantType {
        self.ty
    }

    /// Number of rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    fn row(&self, r: usize) -> &[u8] {
        let n = self.ty.row_bytes(self.cols);
        &self.bytes.as_slice()[r * n..(r + 1) * n]
    }

    /// Dequantizes row `r` into `out` (`cols` long).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        blocks::dequantize_row(self.ty, self.row(r), out);
    }

    /// Stops counting the mapped pages of rows `rows` as this process's
    /// memory (a no-op for owned bytes). For tables read a few rows at a
    /// time, such as token embeddings: without it, every page of every
    /// token ever looked up would stay resident.
    pub fn release_rows(&self, rows: impl IntoIterator<Item = usize>) {
        let n = self.ty.row_bytes(self.cols);
        for r in rows {
            self.bytes.release_bytes(r * n..(r + 1) * n);
        }
    }
}

/// A matrix rearranged into tiles: of 16 rows for the `avx512` path, of 8
/// for the `avx2` path.
#[derive(Debug)]
enum Tiled {
    Q4K(Tiles<TileQ4K>),
    Q6K(Tiles<TileQ6K>),
    Q4Kx8(Tiles<TileQ4Kx8>),
    Q6Kx8(Tiles<TileQ6Kx8>),
    Q8_0x8(Tiles<TileQ8_0x8>),
    Q5_0x8(Tiles<TileQ5_0x8>),
    Q4_1x8(Tiles<TileQ4_1x8>),
}

/// Which products a matrix takes part in, for choosing its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Prompt processing (many input rows) and decoding.
    Batched,
    /// One input row at a time only (e.g. the output projection, which kurz
    /// applies to the last position alone).
    SingleRow,
}

/// A target architecture, as far as kurz's kernels tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64, where kurz has SIMD kernels.
    X86_64,
    /// Any other (aarch64, …): no SIMD kernels of kurz's own.
    Other,
}

impl Arch {
    /// The architecture this program was built for.
    pub const TARGET: Arch = if cfg!(target_arch = "x86_64") {
        Arch::X86_64
    } else {
        Arch::Other
    };
}

/// The code that computes the products of a weight format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKernel {
    /// kurz's scalar loops ([`blocks`]), the reference.
    Reference,
    /// kurz's AVX2 code: tiles of 8 rows ([`tiles8`]) for every format and
    /// use.
    Avx2,
    /// kurz's AVX-512 VNNI tiles of 16 rows ([`tiles`]) for Q4_K/Q6_K
    /// matrices of whole tiles used for prompts, AVX2 dot products on the
    /// file's blocks for a Q6_K output projection, the `avx2` path's 8-row
    /// tiles for the rest.
    Avx512,
    /// Candle's quantized matrix product (its SIMD code for the target,
    /// NEON on aarch64) on a copy of the weights.
    Candle,
}

/// Which code computes products of `ty` weights on kernel path `isa` of
/// an `arch` CPU: the `portable` path always runs the reference; kurz's
/// SIMD code where it exists for the architecture, path and format; and
/// Candle's kernels everywhere else (the `candle` path, which is the
/// default wherever kurz has no SIMD code).
pub fn product_kernel(arch: Arch, isa: Isa, ty: QuantType) -> ProductKernel {
    let x86_simd = arch == Arch::X86_64 && FormatKernels::of(ty).has_avx2();
    match isa {
        Isa::Portable => ProductKernel::Reference,
        Isa::Avx2 if x86_simd => ProductKernel::Avx2,
        Isa::Avx512 if x86_simd => ProductKernel::Avx512,
        Isa::Candle | Isa::Avx2 | Isa::Avx512 => ProductKernel::Candle,
    }
}

/// Input rows of a product (`rows × cols`, row-major f32), quantized on
/// first use for each activation format and kept for further products with
/// the same input.
pub struct QuantizedInput<'a> {
    xs: &'a [f32],
    rows: usize,
    cols: usize,
    q8k: OnceLock<Vec<BlockQ8K>>,
    q8_0: OnceLock<Vec<Block8x32>>,
    q8_1: OnceLock<Vec<Block8x32>>,
}

impl<'a> QuantizedInput<'a> {
    /// `xs` holds `rows` rows of `cols` values.
    pub fn new(xs: &'a [f32], cols: usize) -> Result<Self> {
        if cols == 0 || !xs.len().is_multiple_of(cols) {
            bail!("input of {} values is not made of rows of {cols}", xs.len());
        }
        Ok(Self {
            xs,
            rows: xs.len() / cols,
            cols,
            q8k: OnceLock::new(),
            q8_0: OnceLock::new(),
            q8_1: OnceLock::new(),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The rows in `format`, quantized on first use with `cpu`'s code (in
    /// parallel on the current thread pool when there are many rows). Every
    /// path gives the same bits.
    fn quantized(&self, format: ActivationFormat, cpu: CpuKernels) -> Activations<'_> {
        match format {
            ActivationFormat::Q8K => Activations::K(
                self.q8k
                    .get_or_init(|| self.by_rows(|xs| blocks::quantize_q8k(cpu, xs))),
            ),
            ActivationFormat::Q8_0 => Activations::B32(
                self.q8_0
                    .get_or_init(|| self.by_rows(|xs| blocks::quantize_q8_32(cpu, xs, false))),
            ),
            ActivationFormat::Q8_1 => Activations::B32(
                self.q8_1
                    .get_or_init(|| self.by_rows(|xs| blocks::quantize_q8_32(cpu, xs, true))),
            ),
        }
    }

    fn by_rows<B: Send>(&self, quantize: impl Fn(&[f32]) -> Vec<B> + Sync) -> Vec<B> {
        const ROWS_PER_TASK: usize = 16;
        if self.rows <= ROWS_PER_TASK {
            return quantize(self.xs);
        }
        self.xs
            .par_chunks(ROWS_PER_TASK * self.cols)
            .flat_map_iter(&quantize)
            .collect()
    }
}

/// Quantized input rows, all rows' blocks one after another.
#[derive(Clone, Copy)]
enum Activations<'a> {
    K(&'a [BlockQ8K]),
    B32(&'a [Block8x32]),
}

/// Computes quantized matrix products on a thread pool of its own.
///
/// One instance serves every worker of a process: concurrent products
/// simply share the pool's threads.
#[derive(Debug)]
pub struct MatMul {
    pool: rayon::ThreadPool,
    threads: usize,
    cpu: CpuKernels,
}

/// Input rows one kernel call takes at once during prompt processing.
const ROWS_PER_PASS: usize = 4;

impl MatMul {
    /// A pool of `threads` threads running the `cpu` kernel path (chosen
    /// once per process: [`CpuKernels::best`], or the one `KURZ_KERNELS`
    /// forces).
    pub fn new(threads: usize, cpu: CpuKernels) -> Result<Self> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("kurz-matmul-{i}"))
            .build()
            .map_err(candle_core::Error::wrap)?;
        Ok(Self { pool, threads, cpu })
    }

    /// The kernel path in use, for the other kernels of a model pass.
    pub fn cpu(&self) -> CpuKernels {
        self.cpu
    }

    /// Runs `work` on this pool (for other parallel model code).
    pub fn install<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        self.pool.install(work)
    }

    /// Gets `w` ready for these kernels: rearranged into tiles (in
    /// parallel) with its file pages released. On the `avx512` path Q4_K
    /// matrices and Q6_K ones used for prompt processing go into tiles of
    /// 16 rows (whole tiles only); on both SIMD paths every other matrix of
    /// the K-quants and the 32-value formats goes into tiles of 8 (the last
    /// one padded with zero rows), except a Q6_K output projection on the
    /// `avx512` path. Everything else runs from the file's own layout.
    pub fn prepare(&self, mut w: QWeight, usage: Usage) -> Result<QWeight> {
        if w.tiles.is_some() || w.candle.is_some() {
            return Ok(w);
        }
        let kernel = product_kernel(Arch::TARGET, self.cpu.isa(), w.ty);
        if kernel == ProductKernel::Candle {
            w.candle = Some(self.candle_matrix(&w)?);
            w.bytes.release();
            return Ok(w);
        }
        if let Some(tiled) = (FormatKernels::of(w.ty).tile)(self, &w, kernel, usage) {
            w.tiles = Some(Arc::new(tiled));
            w.bytes.release();
        }
        Ok(w)
    }

    /// `w` as a Candle matrix (its bytes copied: Candle's CPU storage owns
    /// its blocks).
    fn candle_matrix(&self, w: &QWeight) -> Result<QMatMul> {
        let dims = vec![w.rows, w.cols];
        let q = ggml_file::qtensor_from_ggml(w.ty.ggml(), w.bytes.as_slice(), dims, &Device::Cpu)?;
        QMatMul::from_qtensor(q)
    }

    /// `x · Wᵀ` through Candle's kernels, on this pool.
    fn candle_product(&self, w: &QMatMul, x: &QuantizedInput<'_>) -> Result<Vec<f32>> {
        self.install(|| {
            let xs = Tensor::from_slice(x.xs, (x.rows, x.cols), &Device::Cpu)?;
            w.forward(&xs)?.flatten_all()?.to_vec1::<f32>()
        })
    }

    fn pack<T: Tile>(&self, w: &QWeight) -> Tiles<T> {
        let blocks_per_row = w.cols / T::ELEMS;
        let count = w.rows.div_ceil(T::ROWS) * blocks_per_row;
        let mut tiles = self.install(|| tiles::huge_page_vec(count, T::empty()));
        self.pool.install(|| {
            tiles
                .par_chunks_mut(blocks_per_row)
                .enumerate()
                .for_each(|(t, tile)| {
                    let first = t * T::ROWS;
                    Tiles::fill_tile(tile, w.rows - first, |r| w.row(first + r))
                })
        });
        Tiles {
            tiles,
            blocks_per_row,
        }
    }

    /// `x · Wᵀ`: a `x.rows() × w.rows()` row-major result.
    pub fn matmul(&self, w: &QWeight, x: &QuantizedInput<'_>) -> Result<Vec<f32>> {
        let [out] = self
            .matmul_all([w], x)?
            .try_into()
            .map_err(|_| candle_core::Error::Msg("expected one product".into()))?;
        Ok(out)
    }

    /// [`Self::matmul`] of the same input with each of `weights`, the
    /// input quantized once per format. Decoding rows of all the products
    /// share one parallel section: a token's query, key and value
    /// projections (or gate and up) are one hand-out of work to the pool,
    /// not three (or two), and the small key/value matrices no longer
    /// leave threads idle at the end of a section of their own.
    pub fn matmul_all<'w>(
        &self,
        weights: impl IntoIterator<Item = &'w QWeight>,
        x: &QuantizedInput<'_>,
    ) -> Result<Vec<Vec<f32>>> {
        let weights: Vec<&QWeight> = weights.into_iter().collect();
        for w in &weights {
            if x.cols != w.cols {
                bail!(
                    "matmul: input rows have {} values, weights expect {}",
                    x.cols,
                    w.cols
                );
            }
        }
        if weights.iter().any(|w| w.candle.is_some()) {
            return weights
                .iter()
                .map(|w| match &w.candle {
                    Some(m) => self.candle_product(m, x),
                    None => self.matmul(w, x),
                })
                .collect();
        }
        let m = x.rows;
        let acts: Vec<Activations<'_>> = self.pool.install(|| {
            weights
                .iter()
                .map(|w| x.quantized(w.ty.activation_format(), self.cpu))
                .collect()
        });
        let mut outs: Vec<Vec<f32>> = weights.iter().map(|w| vec![0f32; m * w.rows]).collect();
        // Prompt processing: tasks split the input rows, each taking a run
        // of them against all weight rows. The split is even only for a
        // multiple of `quantum` rows; the few rows beyond (say, decode steps
        // riding along with a prompt chunk) go the decoding way instead of
        // leaving one thread with a longer run than the others.
        let quantum = 2 * self.threads * ROWS_PER_PASS;
        let split = if m >= 2 * quantum { m - m % quantum } else { 0 };
        if split > 0 {
            let inputs_per_task = split / (2 * self.threads);
            for ((w, &acts), out) in weights.iter().zip(&acts).zip(&mut outs) {
                let n = w.rows;
                self.pool.install(|| {
                    out[..split * n]
                        .par_chunks_mut(inputs_per_task * n)
                        .enumerate()
                        .for_each(|(task, out)| {
                            let first = task * inputs_per_task;
                            let inputs = first..first + out.len() / n;
                            self.fill(w, acts, 0..n, inputs, Region::new(out, n, 1));
                        })
                });
            }
        }
        // Decoding: tasks split the weight rows of every product; outputs
        // transposed ([n, rows]) so each task owns a contiguous part.
        let rest = m - split;
        if rest > 0 {
            // One decode row is its own transpose: the tasks then write
            // straight into the result.
            let mut outs_t: Vec<Vec<f32>> = match rest {
                1 => Vec::new(),
                _ => weights.iter().map(|w| vec![0f32; w.rows * rest]).collect(),
            };
            let targets: Vec<&mut [f32]> = match rest {
                1 => weights
                    .iter()
                    .zip(&mut outs)
                    .map(|(w, out)| &mut out[split * w.rows..])
                    .collect(),
                _ => outs_t.iter_mut().map(Vec::as_mut_slice).collect(),
            };
            let mut tasks = Vec::new();
            for ((w, &acts), out_t) in weights.iter().zip(&acts).zip(targets) {
                let rows_per_task = (w.rows / (self.threads * 8))
                    .clamp(4, 256)
                    .next_multiple_of(TILE_ROWS);
                for (task, out) in out_t.chunks_mut(rows_per_task * rest).enumerate() {
                    let first = task * rows_per_task;
                    let rows = first..first + out.len() / rest;
                    tasks.push((*w, acts, rows, Region::new(out, 1, rest)));
                }
            }
            self.pool.install(|| {
                tasks.into_par_iter().for_each(|(w, acts, rows, out)| {
                    self.fill(w, acts, rows, split..m, out);
                })
            });
            for ((w, out_t), out) in weights.iter().zip(&outs_t).zip(&mut outs) {
                transpose_into(out_t, rest, w.rows, &mut out[split * w.rows..]);
            }
        }
        Ok(outs)
    }

    /// Computes weight rows `rows` of `w` against input rows `inputs`
    /// (quantized: `acts`) into `out`.
    fn fill(
        &self,
        w: &QWeight,
        acts: Activations<'_>,
        rows: Range<usize>,
        inputs: Range<usize>,
        out: Region<'_>,
    ) {
        let blocks_per_row = w.cols / w.ty.activation_format().block_elems();
        #[cfg(target_arch = "x86_64")]
        if let Some(tiled) = &w.tiles {
            let cpu = self.cpu;
            match (&**tiled, acts) {
                (Tiled::Q4K(tiles), Activations::K(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                (Tiled::Q6K(tiles), Activations::K(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                (Tiled::Q4Kx8(tiles), Activations::K(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                (Tiled::Q6Kx8(tiles), Activations::K(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                (Tiled::Q8_0x8(tiles), Activations::B32(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                (Tiled::Q5_0x8(tiles), Activations::B32(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                (Tiled::Q4_1x8(tiles), Activations::B32(a)) => {
                    fill_tiles(cpu, tiles, a, rows, inputs, out)
                }
                _ => unreachable!("tiles quantize their inputs to their own format"),
            }
            return;
        }
        fill_rows(self.cpu, w, acts, blocks_per_row, rows, inputs, out);
    }
}

/// Part of a product's output: the value for input row `t` and weight row
/// `r` (counted from the region's first of each) is at
/// `t * input_stride + r * row_stride`.
struct Region<'a> {
    out: &'a mut [f32],
    input_stride: usize,
    row_stride: usize,
}

impl<'a> Region<'a> {
    fn new(out: &'a mut [f32], input_stride: usize, row_stride: usize) -> Self {
        Self {
            out,
            input_stride,
            row_stride,
        }
    }

    #[inline]
    fn set(&mut self, t: usize, r: usize, value: f32) {
        self.out[t * self.input_stride + r * self.row_stride] = value;
    }

    /// Sets the values of input row `t` for weight rows `r..r + values.len()`.
    #[inline]
    fn set_run(&mut self, t: usize, r: usize, values: &[f32]) {
        let start = t * self.input_stride + r * self.row_stride;
        if self.row_stride == 1 {
            self.out[start..start + values.len()].copy_from_slice(values);
        } else {
            for (i, &v) in values.iter().enumerate() {
                self.out[start + i * self.row_stride] = v;
            }
        }
    }
}

/// `[n, m]` → `[m, n]`, into `out`.
fn transpose_into(out_t: &[f32], m: usize, n: usize, out: &mut [f32]) {
    for (r, column) in out_t.chunks_exact(m).enumerate() {
        for (t, &v) in column.iter().enumerate() {
            out[t * n + r] = v;
        }
    }
}

/// Computes weight rows `rows` (starting at a tile's first row) against
/// input rows `inputs` into `out` (indexed from the first of each), four
/// input rows per kernel call (also for a remainder of three, one row
/// repeated), then a remaining pair at once, then a last single row.
/// Several decode steps thus share one read of the tiles.
///
/// # Panics
/// If `cpu`'s path may not run `T`'s kernel ([`MatMul::prepare`] only
/// makes tiles the path runs).
#[cfg(target_arch = "x86_64")]
fn fill_tiles<T: x86::TileGemm>(
    cpu: CpuKernels,
    tiles: &Tiles<T>,
    acts: &[T::Act],
    rows: Range<usize>,
    inputs: Range<usize>,
    mut out: Region<'_>,
) {
    assert!(T::runs_on(cpu), "tiles made for another kernel path");
    debug_assert!(rows.start.is_multiple_of(T::ROWS));
    let bpr = tiles.blocks_per_row;
    let input = |t: usize| &acts[t * bpr..(t + 1) * bpr];
    for tile_index in rows.start / T::ROWS..rows.end.div_ceil(T::ROWS) {
        let tile = &tiles.tiles[tile_index * bpr..(tile_index + 1) * bpr];
        let first_row = tile_index * T::ROWS - rows.start;
        // A matrix's last tile may hold padding rows: not stored.
        let present = T::ROWS.min(rows.end - tile_index * T::ROWS);
        let mut store = |t: usize, values: &[[f32; x86::MAX_TILE_ROWS]]| {
            for (k, v) in values.iter().enumerate() {
                out.set_run(t + k - inputs.start, first_row, &v[..present]);
            }
        };
        let mut t = inputs.start;
        // Four rows per call; a remainder of three takes a four-row call
        // too, its last row repeated (one read of the tiles, not two).
        while inputs.end - t >= 3 {
            let rows = std::array::from_fn(|k| input((t + k).min(inputs.end - 1)));
            // SAFETY: `T::runs_on(cpu)` holds (asserted above), and a
            // `CpuKernels` is only made for a path whose CPU features are
            // present; every input row holds `bpr` blocks, as does every
            // tile row.
            let values = unsafe { T::gemm::<ROWS_PER_PASS>(tile, rows) };
            let n = (inputs.end - t).min(ROWS_PER_PASS);
            store(t, &values[..n]);
            t += n;
        }
        match inputs.end - t {
            // SAFETY: as above.
            2 => store(t, &unsafe { T::gemm(tile, [input(t), input(t + 1)]) }),
            // SAFETY: as above.
            1 => store(t, &unsafe { T::gemm(tile, [input(t)]) }),
            _ => {}
        }
    }
}

/// Computes weight rows `rows` against input rows `inputs` into `out`
/// (indexed from the first of each).
fn fill_rows(
    cpu: CpuKernels,
    w: &QWeight,
    acts: Activations<'_>,
    blocks_per_row: usize,
    rows: Range<usize>,
    inputs: Range<usize>,
    mut out: Region<'_>,
) {
    let (dot1, dot4) = FormatKernels::of(w.ty).dots(cpu);
    let mut t = inputs.start;
    while t + ROWS_PER_PASS <= inputs.end {
        for r in rows.clone() {
            // SAFETY: the table hands out SIMD code only for a path this
            // CPU runs; `acts` holds `blocks_per_row` blocks per input row
            // in the format's activation format, as the row holds weights.
            let dots = unsafe { dot4(w.row(r), acts, blocks_per_row, t) };
            for (k, v) in dots.into_iter().enumerate() {
                out.set(t + k - inputs.start, r - rows.start, v);
            }
        }
        t += ROWS_PER_PASS;
    }
    for t in t..inputs.end {
        for r in rows.clone() {
            // SAFETY: as above.
            let [v] = unsafe { dot1(w.row(r), acts, blocks_per_row, t) };
            out.set(t - inputs.start, r - rows.start, v);
        }
    }
}

#[cfg(test)]
mod tests;
