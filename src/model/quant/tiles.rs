//! Q4_K weights rearranged in tiles of 16 rows for AVX-512 VNNI.
//!
//! In the file, a Q4_K row is a run of 256-value super-blocks, so a dot
//! product walks one row and ends with a horizontal sum. In a tile, the
//! 4-bit values of 16 rows are interleaved four at a time: one 512-bit load
//! holds four consecutive values of each of the 16 rows, and one `vpdpbusd`
//! against four input bytes (broadcast) advances all 16 outputs at once —
//! no horizontal sums, and each weight byte is unpacked once for several
//! input rows. A Q4_K tile is exactly the size of the blocks it replaces
//! (see [`TileQ4K`] for where the scales go); a Q6_K tile is 1% larger
//! (alignment; see [`TileQ6K`]).

use rayon::prelude::*;

use super::blocks::{q4k_scales_mins, QK_K};

/// Rows in a tile.
pub const TILE_ROWS: usize = 16;

/// One 256-value super-block of 16 rows, exactly the size of the file's
/// 16 blocks (36 cache lines).
///
/// The 6-bit scales and minimums are unpacked to one byte each, so a
/// kernel reads them with one widening load; the two spare bits of each of
/// those 256 bytes carry the rows' f16 block scales: bit 7 of header byte
/// `i` is bit `i % 16` of `d[i / 16]`, bit 6 the same bit of `dmin`. A
/// kernel takes the 512 bits back with four byte-sign masks a plane.
#[derive(Clone)]
#[repr(C, align(64))]
pub struct TileQ4K {
    /// `[group of 8 values (32)][row (16)][4 bytes]`; byte `j` of a row in
    /// group `g` holds value `8g + j` (low nibble) and `8g + j + 4` (high).
    pub qs: [u8; QK_K / 8 * TILE_ROWS * 4],
    /// `[sub-block of 32 values (8)][row]` 6-bit scales (low bits), then
    /// `[sub-block][row]` 6-bit minimums: the header, 256 bytes whose top
    /// two bits hold `d` and `dmin`.
    pub header: [[u8; TILE_ROWS]; 16],
}

impl TileQ4K {
    /// The low bits of a header byte that hold a scale or minimum.
    pub const SIX_BITS: u8 = 0x3F;

    fn zeroed() -> Self {
        Self {
            qs: [0; QK_K / 8 * TILE_ROWS * 4],
            header: [[0; TILE_ROWS]; 16],
        }
    }

    /// Stores `d` and `dmin` of row `row` in the header's spare bits.
    fn set_block_scales(&mut self, row: usize, d: u16, dmin: u16) {
        for bit in 0..16 {
            let byte = &mut self.header[row][bit];
            let (d_bit, dmin_bit) = ((d >> bit) as u8 & 1, (dmin >> bit) as u8 & 1);
            *byte = (*byte & Self::SIX_BITS) | d_bit << 7 | dmin_bit << 6;
        }
    }

    /// `d` and `dmin` of row `row` (f16 bits), from the header.
    #[cfg(test)]
    pub fn block_scales(&self, row: usize) -> (u16, u16) {
        let bits = self.header[row];
        let plane = |shift: u32| {
            (0..16).fold(0u16, |v, bit| {
                v | (((bits[bit] >> shift) & 1) as u16) << bit
            })
        };
        (plane(7), plane(6))
    }

    /// Sub-block `s`'s 6-bit scale (`s < 8`) or minimum (`s - 8`) of row `row`.
    #[cfg(test)]
    pub fn six_bits(&self, s: usize, row: usize) -> u8 {
        self.header[s][row] & Self::SIX_BITS
    }

    /// Copies super-block `block` (144 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        let d = u16::from_le_bytes([block[0], block[1]]);
        let dmin = u16::from_le_bytes([block[2], block[3]]);
        self.set_block_scales(row, d, dmin);
        let unpacked = q4k_scales_mins(&block[4..16]);
        for (s, &value) in unpacked.iter().enumerate() {
            let byte = &mut self.header[s][row];
            *byte = (*byte & !Self::SIX_BITS) | value;
        }
        // The 4-bit values in element order: run j of 32 bytes holds
        // elements 64j..64j+32 in its low nibbles and the next 32 in its high.
        let mut values = [0u8; QK_K];
        for (j, run) in block[16..144].chunks_exact(32).enumerate() {
            for (l, &b) in run.iter().enumerate() {
                values[64 * j + l] = b & 0xF;
                values[64 * j + 32 + l] = b >> 4;
            }
        }
        for (g, eight) in values.chunks_exact(8).enumerate() {
            let low = u32::from_le_bytes([eight[0], eight[1], eight[2], eight[3]]);
            let high = u32::from_le_bytes([eight[4], eight[5], eight[6], eight[7]]);
            let word = low | (high << 4);
            self.qs[64 * g + 4 * row..64 * g + 4 * row + 4].copy_from_slice(&word.to_le_bytes());
        }
    }

    /// The 256 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK_K] {
        let mut out = [0f32; QK_K];
        for (e, y) in out.iter_mut().enumerate() {
            let (g, j) = (e / 8, e % 8);
            let byte = self.qs[64 * g + 4 * row + j % 4];
            let q = if j < 4 { byte & 0xF } else { byte >> 4 };
            let s = e / 32;
            let (d, dmin) = self.block_scales(row);
            let (d, dmin) = (
                half::f16::from_bits(d).to_f32(),
                half::f16::from_bits(dmin).to_f32(),
            );
            let (scale, min) = (self.six_bits(s, row), self.six_bits(8 + s, row));
            *y = d * scale as f32 * q as f32 - dmin * min as f32;
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
    /// Fills `tiles` (one row tile: one tile per super-block) from the
    /// `present` rows `rows(0..present)` of a matrix in GGML blocks; the
    /// tile's rows beyond (the last tile of a matrix whose row count is not
    /// a multiple of [`Tile::ROWS`]) stay zero, and their outputs (zero)
    /// are never stored.
    pub fn fill_tile<'a>(tiles: &mut [T], present: usize, rows: impl Fn(usize) -> &'a [u8]) {
        for r in 0..present.min(T::ROWS) {
            for (tile, block) in tiles.iter_mut().zip(rows(r).chunks_exact(T::BLOCK_BYTES)) {
                tile.fill_row(r, block);
            }
        }
    }

    /// One row tile of a matrix, packed (tests).
    #[cfg(test)]
    pub fn pack_tile<'a>(blocks_per_row: usize, rows: impl Fn(usize) -> &'a [u8]) -> Vec<T> {
        let mut tiles = vec![T::empty(); blocks_per_row];
        Self::fill_tile(&mut tiles, T::ROWS, rows);
        tiles
    }
}

/// One 256-value Q6_K super-block of 16 rows, as compact as the file's
/// blocks (plus alignment: 53 cache lines for 16 blocks of 210 bytes).
/// Values are stored as in the file, unsigned (q + 32): their low four bits
/// as nibbles, interleaved like [`TileQ4K`]'s, and their top two bits four
/// to a byte. A kernel rebuilds 64 whole bytes (four values of each of the
/// 16 rows) from parts of three 64-byte lines, and reads the lines in
/// order.
#[derive(Clone)]
#[repr(C, align(64))]
pub struct TileQ6K {
    /// By sub-block of 16 values, three lines: `[pair of groups of 4
    /// values (2)][row (16)][4 bytes]` of low bits, then `[row][4 bytes]` of
    /// top bits. Byte `j` of a row in pair `p` (of sub-block `s`) holds the
    /// low four bits of value `16s + 8p + j` (low nibble) and of value `16s
    /// + 8p + 4 + j` (high nibble); byte `j` of a row's top bits holds
    /// those of values `16s + 4k + j` in bits `2k..2k + 2`, for `k` in
    /// `0..4`.
    pub q: [[u8; Self::SUB_BLOCK_BYTES]; 16],
    /// `[sub-block (16)][row]` signed scales.
    pub scales: [[i8; TILE_ROWS]; 16],
    /// Per-row super-block scale, f16 bits.
    pub d: [u16; TILE_ROWS],
}

impl TileQ6K {
    /// Bytes of one sub-block's values: three cache lines.
    pub const SUB_BLOCK_BYTES: usize = 3 * 64;
    /// Where a sub-block's top bits start.
    pub const TOP_BITS: usize = 2 * 64;

    fn zeroed() -> Self {
        Self {
            q: [[0; Self::SUB_BLOCK_BYTES]; 16],
            scales: [[0; TILE_ROWS]; 16],
            d: [0; TILE_ROWS],
        }
    }

    /// Copies super-block `block` (210 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = u16::from_le_bytes([block[208], block[209]]);
        for (s, scales) in self.scales.iter_mut().enumerate() {
            scales[row] = block[192 + s] as i8;
        }
        let mut values = [0u8; QK_K];
        for n in 0..2 {
            let ql = &block[64 * n..64 * n + 64];
            let qh = &block[128 + 32 * n..128 + 32 * n + 32];
            for l in 0..32 {
                for (k, q) in super::blocks::q6k_quants(ql, qh, l).into_iter().enumerate() {
                    values[128 * n + 32 * k + l] = (q + 32) as u8;
                }
            }
        }
        for (sub, sixteen) in self.q.iter_mut().zip(values.chunks_exact(16)) {
            for j in 0..4 {
                for p in 0..2 {
                    let (low, high) = (sixteen[8 * p + j], sixteen[8 * p + 4 + j]);
                    sub[64 * p + 4 * row + j] = (low & 0xF) | (high & 0xF) << 4;
                }
                sub[Self::TOP_BITS + 4 * row + j] =
                    (0..4).fold(0, |bits, k| bits | (sixteen[4 * k + j] >> 4) << (2 * k));
            }
        }
    }

    /// The stored value (q + 32) of element `e` of row `row`.
    #[cfg(test)]
    fn value(&self, row: usize, e: usize) -> u8 {
        let sub = &self.q[e / 16];
        let (p, j) = ((e % 16) / 8, e % 8);
        let nibbles = sub[64 * p + 4 * row + j % 4];
        let low = if j < 4 { nibbles & 0xF } else { nibbles >> 4 };
        let high = (sub[Self::TOP_BITS + 4 * row + e % 4] >> (2 * ((e % 16) / 4))) & 3;
        low | high << 4
    }

    /// The 256 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK_K] {
        let d = half::f16::from_bits(self.d[row]).to_f32();
        let mut out = [0f32; QK_K];
        for (e, y) in out.iter_mut().enumerate() {
            let q = self.value(row, e) as i32 - 32;
            *y = d * self.scales[e / 16][row] as f32 * q as f32;
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

/// `n` copies of `value` in memory the kernel is asked, before it is first
/// touched, to back with transparent huge pages (Linux).
///
/// Decoding streams every weight once per token, so on a CPU it is bound
/// by memory: with 4 KiB pages each 64 cache lines cost a TLB miss and a
/// page walk. Many distributions run THP in `madvise` mode, where only
/// memory that asks gets 2 MiB pages; elsewhere (THP off, other systems)
/// this is a plain vector.
///
/// The pages are first touched by the calling rayon pool's threads, so
/// that the kernel clears them in parallel.
pub(super) fn huge_page_vec<T: Clone + Send + Sync>(n: usize, value: T) -> Vec<T> {
    let mut items: Vec<T> = Vec::with_capacity(n);
    advise_huge_pages(items.as_mut_ptr().cast(), n * std::mem::size_of::<T>());
    items.par_extend(rayon::iter::repeat_n(value, n));
    items
}

/// Asks for huge pages for the whole 2 MiB extents in `len` bytes at
/// `start`; advice only, so a refusal (no THP in this kernel) is ignored.
#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    let (first, end) = (
        (start as usize).next_multiple_of(HUGE),
        start as usize + len,
    );
    if end >= first + HUGE {
        let len = (end - first) / HUGE * HUGE;
        // SAFETY: the range lies inside the allocation at `start` (owned by
        // the caller, not yet read or written); MADV_HUGEPAGE changes how
        // its pages are backed, never their contents.
        unsafe { libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: *mut u8, _: usize) {}

/// A tile type and how to fill it from GGML blocks.
pub trait Tile: Clone + Send + Sync {
    /// Bytes of one GGML block (a super-block for the K-quants).
    const BLOCK_BYTES: usize;
    /// Weights per block and row.
    const ELEMS: usize = QK_K;
    /// Matrix rows in a tile.
    const ROWS: usize;
    /// An all-zero tile.
    fn empty() -> Self;
    /// Copies one GGML super-block into row `row`.
    fn fill_row(&mut self, row: usize, block: &[u8]);
}

impl Tile for TileQ4K {
    const BLOCK_BYTES: usize = 144;
    const ROWS: usize = TILE_ROWS;
    fn empty() -> Self {
        Self::zeroed()
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

impl Tile for TileQ6K {
    const BLOCK_BYTES: usize = 210;
    const ROWS: usize = TILE_ROWS;
    fn empty() -> Self {
        Self::zeroed()
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4k_tiles_are_the_size_of_their_blocks() {
        // 16 blocks of 144 bytes: 36 cache lines.
        assert_eq!(std::mem::size_of::<TileQ4K>(), TILE_ROWS * 144);
        assert_eq!(std::mem::size_of::<TileQ4K>() % 64, 0);
    }

    #[test]
    fn q4k_block_scales_share_bytes_with_the_six_bit_values_intact() {
        // Rows filled in any order: every row keeps its own d, dmin and
        // 6-bit values, whatever the other rows put in the spare bits.
        let mut tile = TileQ4K::zeroed();
        let block = |row: usize| -> Vec<u8> {
            let mut b = vec![0u8; 144];
            let d = 0x3C00u16 ^ (row as u16 * 0x1111);
            let dmin = !d;
            b[0..2].copy_from_slice(&d.to_le_bytes());
            b[2..4].copy_from_slice(&dmin.to_le_bytes());
            for (i, byte) in b[4..16].iter_mut().enumerate() {
                *byte = (row * 29 + i * 71) as u8;
            }
            b
        };
        for row in [5, 0, 15, 9, 1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 14] {
            tile.set_row(row, &block(row));
        }
        for row in 0..TILE_ROWS {
            let b = block(row);
            let d = u16::from_le_bytes([b[0], b[1]]);
            let dmin = u16::from_le_bytes([b[2], b[3]]);
            assert_eq!(tile.block_scales(row), (d, dmin), "row {row}");
            let unpacked = q4k_scales_mins(&b[4..16]);
            for (s, &value) in unpacked.iter().enumerate() {
                assert_eq!(tile.six_bits(s, row), value, "row {row}, value {s}");
            }
        }
    }

    #[test]
    fn q6k_tiles_are_the_size_of_their_blocks_in_whole_cache_lines() {
        assert_eq!(
            std::mem::size_of::<TileQ6K>(),
            (TILE_ROWS * 210).next_multiple_of(64)
        );
    }
}
