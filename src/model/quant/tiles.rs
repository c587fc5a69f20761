//! Q4_K weights rearranged in tiles of 16 rows for AVX-512 VNNI.
//!
//! In the file, a Q4_K row is a run of 256-value super-blocks, so a dot
//! product walks one row and ends with a horizontal sum. In a tile, the
//! 4-bit values of 16 rows are interleaved four at a time: one 512-bit load
//! holds four consecutive values of each of the 16 rows, and one `vpdpbusd`
//! against four input bytes (broadcast) advances all 16 outputs at once —
//! no horizontal sums, and each weight byte is unpacked once for several
//! input rows. A Q4_K tile is the size of the blocks it replaces plus 5%
//! (scales unpacked to bytes, block scales to f32); Q6_K tiles are larger
//! (see [`TileQ6K`]).

use super::blocks::{f16_at, q4k_scales_mins, QK_K};

/// Rows in a tile.
pub const TILE_ROWS: usize = 16;

/// One 256-value super-block of 16 rows.
#[derive(Clone)]
#[repr(C, align(64))]
pub struct TileQ4K {
    /// `[group of 8 values (32)][row (16)][4 bytes]`; byte `j` of a row in
    /// group `g` holds value `8g + j` (low nibble) and `8g + j + 4` (high).
    pub qs: [u8; QK_K / 8 * TILE_ROWS * 4],
    /// `[sub-block of 32 values (8)][row]` 6-bit scales.
    pub scales: [[u8; TILE_ROWS]; 8],
    /// `[sub-block (8)][row]` 6-bit minimums.
    pub mins: [[u8; TILE_ROWS]; 8],
    /// Per-row super-block scale.
    pub d: [f32; TILE_ROWS],
    /// Per-row super-block minimum scale.
    pub dmin: [f32; TILE_ROWS],
}

impl TileQ4K {
    fn zeroed() -> Self {
        Self {
            qs: [0; QK_K / 8 * TILE_ROWS * 4],
            scales: [[0; TILE_ROWS]; 8],
            mins: [[0; TILE_ROWS]; 8],
            d: [0.0; TILE_ROWS],
            dmin: [0.0; TILE_ROWS],
        }
    }

    /// Copies super-block `block` (144 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = f16_at(block, 0);
        self.dmin[row] = f16_at(block, 2);
        let unpacked = q4k_scales_mins(&block[4..16]);
        for s in 0..8 {
            self.scales[s][row] = unpacked[s];
            self.mins[s][row] = unpacked[8 + s];
        }
        let qs = &block[16..144];
        for s in 0..8 {
            // Sub-block s: byte l of the 32-byte run (s / 2), low nibbles
            // for even s, high for odd.
            let run = &qs[32 * (s / 2)..32 * (s / 2) + 32];
            let shift = 4 * (s % 2);
            for g4 in 0..4 {
                let g = 4 * s + g4;
                let dst = &mut self.qs[64 * g + 4 * row..64 * g + 4 * row + 4];
                for (j, d) in dst.iter_mut().enumerate() {
                    let lo = (run[8 * g4 + j] >> shift) & 0xF;
                    let hi = (run[8 * g4 + j + 4] >> shift) & 0xF;
                    *d = lo | (hi << 4);
                }
            }
        }
    }

    /// The 256 dequantized values of row `row` (tests).
    pub fn dequantize_row(&self, row: usize) -> [f32; QK_K] {
        let mut out = [0f32; QK_K];
        for (e, y) in out.iter_mut().enumerate() {
            let (g, j) = (e / 8, e % 8);
            let byte = self.qs[64 * g + 4 * row + j % 4];
            let q = if j < 4 { byte & 0xF } else { byte >> 4 };
            let s = e / 32;
            *y = self.d[row] * self.scales[s][row] as f32 * q as f32
                - self.dmin[row] * self.mins[s][row] as f32;
        }
        out
    }
}

impl<T> std::fmt::Debug for Tiles<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiles")
            .field("tiles", &self.tiles.len())
            .field("blocks_per_row", &self.blocks_per_row)
            .finish()
    }
}

impl<T: Tile> Tiles<T> {
    /// Rearranges one row tile of a matrix whose `r`-th row of that tile
    /// is `rows(r)` (GGML blocks).
    pub fn pack_tile<'a>(blocks_per_row: usize, rows: impl Fn(usize) -> &'a [u8]) -> Vec<T> {
        let mut tiles = vec![T::empty(); blocks_per_row];
        for r in 0..TILE_ROWS {
            for (kb, block) in rows(r).chunks_exact(T::BLOCK_BYTES).enumerate() {
                tiles[kb].fill_row(r, block);
            }
        }
        tiles
    }
}

/// One 256-value Q6_K super-block of 16 rows. The 6-bit values are kept as
/// unsigned bytes (value + 32), four per row per 512-bit group, so the
/// tile is 31% larger than the blocks it replaces; only matrices that see
/// prompt processing are tiled (see [`super::MatMul::prepare`]).
#[derive(Clone)]
#[repr(C, align(64))]
pub struct TileQ6K {
    /// `[group of 4 values (64)][row (16)][4 bytes]`, value + 32 as u8.
    pub qs: [u8; QK_K / 4 * TILE_ROWS * 4],
    /// `[sub-block of 16 values (16)][row]` signed scales.
    pub scales: [[i8; TILE_ROWS]; 16],
    /// Per-row super-block scale.
    pub d: [f32; TILE_ROWS],
}

impl TileQ6K {
    fn zeroed() -> Self {
        Self {
            qs: [0; QK_K / 4 * TILE_ROWS * 4],
            scales: [[0; TILE_ROWS]; 16],
            d: [0.0; TILE_ROWS],
        }
    }

    /// Copies super-block `block` (210 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = f16_at(block, 208);
        for (s, scales) in self.scales.iter_mut().enumerate() {
            scales[row] = block[192 + s] as i8;
        }
        for n in 0..2 {
            let ql = &block[64 * n..64 * n + 64];
            let qh = &block[128 + 32 * n..128 + 32 * n + 32];
            for l in 0..32 {
                for (k, q) in super::blocks::q6k_quants(ql, qh, l).into_iter().enumerate() {
                    let e = 128 * n + 32 * k + l;
                    self.qs[64 * (e / 4) + 4 * row + e % 4] = (q + 32) as u8;
                }
            }
        }
    }

    /// The 256 dequantized values of row `row` (tests).
    pub fn dequantize_row(&self, row: usize) -> [f32; QK_K] {
        let mut out = [0f32; QK_K];
        for (e, y) in out.iter_mut().enumerate() {
            let q = self.qs[64 * (e / 4) + 4 * row + e % 4] as i32 - 32;
            *y = self.d[row] * self.scales[e / 16][row] as f32 * q as f32;
        }
        out
    }
}

/// A tiled matrix: `[row tile][super-block]`.
#[derive(Clone)]
pub struct Tiles<T> {
    /// Tiles, row tile by row tile.
    pub tiles: Vec<T>,
    /// Super-blocks per row.
    pub blocks_per_row: usize,
}

/// A tile type and how to fill it from GGML blocks.
pub trait Tile: Clone + Send + Sync {
    /// Bytes of one GGML super-block.
    const BLOCK_BYTES: usize;
    /// An all-zero tile.
    fn empty() -> Self;
    /// Copies one GGML super-block into row `row`.
    fn fill_row(&mut self, row: usize, block: &[u8]);
}

impl Tile for TileQ4K {
    const BLOCK_BYTES: usize = 144;
    fn empty() -> Self {
        Self::zeroed()
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

impl Tile for TileQ6K {
    const BLOCK_BYTES: usize = 210;
    fn empty() -> Self {
        Self::zeroed()
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}
