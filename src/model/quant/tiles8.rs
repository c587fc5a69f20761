//! Weights rearranged in tiles of 8 rows for AVX2 (no AVX-512): the
//! K-quants' super-blocks and the 32-value blocks of Q8_0, Q5_0 and Q4_1.
//!
//! A 256-bit register holds four consecutive values of each of 8 rows, so
//! one `vpmaddubsw` against four input bytes (broadcast) advances all 8
//! rows at once, and the tile's 8 outputs stay in the lanes of one
//! register: no horizontal sums, each weight byte unpacked once for
//! several input rows (llama.cpp's CPU "repack" layouts, such as
//! `block_q4_Kx8`, interleave 8 rows for the same reason; this layout is
//! kurz's own).
//!
//! The kernels ([`super::x86`]) keep every row's integer sum exact and do
//! the float operations of [`super::blocks`]' scalar dot products in the
//! same order, lane by lane: their results are the portable reference's,
//! bit for bit.
//!
//! Scales are stored so that one widening load (`vpmovzxbw`/`vpmovsxbw`)
//! of 16 bytes and one in-lane shuffle give a sub-block's scale repeated in
//! the two 16-bit lanes of each row: bytes 0–3 hold sub-block `2p` of rows
//! 0–3, bytes 4–7 sub-block `2p + 1` of rows 0–3, bytes 8–15 the same for
//! rows 4–7 ([`scale_byte`]).

use super::blocks::{q4k_scales_mins, q5_0_quants, q6k_quants, QK32, QK_K};
use super::tiles::Tile;

/// Rows in an AVX2 tile.
pub const ROWS8: usize = 8;

/// Where sub-block `s`'s scale of row `row` goes in the 16 bytes of its
/// pair of sub-blocks (`s / 2`).
pub const fn scale_byte(s: usize, row: usize) -> usize {
    (row / 4) * 8 + (s % 2) * 4 + row % 4
}

/// One 256-value Q4_K super-block of 8 rows: 1,184 bytes for the file's
/// 8 × 144 (the 6-bit scales and minimums take a byte each).
#[derive(Clone)]
#[repr(C, align(32))]
pub struct TileQ4Kx8 {
    /// `[group of 8 values (32)][row (8)][4 bytes]`; byte `j` of a row in
    /// group `g` holds value `8g + j` (low nibble) and `8g + j + 4` (high).
    pub qs: [[u8; 32]; QK_K / 8],
    /// `[pair of sub-blocks of 32 values (4)][16 bytes]` 6-bit scales,
    /// placed by [`scale_byte`].
    pub scales: [[u8; 16]; 4],
    /// `[pair of sub-blocks (4)][row (8)][2]`: the minimums of sub-blocks
    /// `2p` and `2p + 1` of each row, next to each other.
    pub mins: [[u8; 16]; 4],
    /// Per-row super-block scales, f16 bits.
    pub d: [u16; ROWS8],
    /// Per-row super-block minimum scales, f16 bits.
    pub dmin: [u16; ROWS8],
}

impl TileQ4Kx8 {
    fn zeroed() -> Self {
        Self {
            qs: [[0; 32]; QK_K / 8],
            scales: [[0; 16]; 4],
            mins: [[0; 16]; 4],
            d: [0; ROWS8],
            dmin: [0; ROWS8],
        }
    }

    /// Copies super-block `block` (144 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = u16::from_le_bytes([block[0], block[1]]);
        self.dmin[row] = u16::from_le_bytes([block[2], block[3]]);
        let unpacked = q4k_scales_mins(&block[4..16]);
        for s in 0..8 {
            self.scales[s / 2][scale_byte(s, row)] = unpacked[s];
            self.mins[s / 2][2 * row + s % 2] = unpacked[8 + s];
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
        for (group, eight) in self.qs.iter_mut().zip(values.chunks_exact(8)) {
            for j in 0..4 {
                group[4 * row + j] = eight[j] | eight[j + 4] << 4;
            }
        }
    }

    /// The 256 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK_K] {
        let f16 = |bits: u16| half::f16::from_bits(bits).to_f32();
        let (d, dmin) = (f16(self.d[row]), f16(self.dmin[row]));
        std::array::from_fn(|e| {
            let (g, j) = (e / 8, e % 8);
            let byte = self.qs[g][4 * row + j % 4];
            let q = if j < 4 { byte & 0xF } else { byte >> 4 };
            let s = e / 32;
            let scale = self.scales[s / 2][scale_byte(s, row)];
            let min = self.mins[s / 2][2 * row + s % 2];
            d * scale as f32 * q as f32 - dmin * min as f32
        })
    }
}

/// One 256-value Q6_K super-block of 8 rows, as compact as the file's
/// blocks (8 × 210 bytes, plus 16 of alignment). Values are stored as in
/// the file, unsigned (q + 32), three bytes for four values: each sub-block
/// of 16 values is four groups of 4, the first three groups held whole in
/// the low six bits of three 32-byte vectors (4 values of each of the 8
/// rows each), whose top two bits carry the fourth group. A kernel gets
/// three groups with one `and` each and the fourth with eight operations
/// (the file's layout, nibbles and separate top bits, takes seventeen for
/// the four).
#[derive(Clone)]
#[repr(C, align(32))]
pub struct TileQ6Kx8 {
    /// By sub-block of 16 values: `[group k (3)][row (8)][4 bytes]`. Byte
    /// `j` of a row in group `k` holds value `16s + 4k + j` in bits 0..6,
    /// and in bits 6..8 two bits of value `16s + 12 + j`: bits `4 − 2k`
    /// and `5 − 2k` of it.
    pub q: [[u8; Self::SUB_BLOCK_BYTES]; 16],
    /// `[pair of sub-blocks (8)][16 bytes]` signed scales, placed by
    /// [`scale_byte`].
    pub scales: [[i8; 16]; 8],
    /// Per-row super-block scales, f16 bits.
    pub d: [u16; ROWS8],
}

impl TileQ6Kx8 {
    /// Bytes of one sub-block's values.
    pub const SUB_BLOCK_BYTES: usize = 3 * 32;

    fn zeroed() -> Self {
        Self {
            q: [[0; Self::SUB_BLOCK_BYTES]; 16],
            scales: [[0; 16]; 8],
            d: [0; ROWS8],
        }
    }

    /// Copies super-block `block` (210 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = u16::from_le_bytes([block[208], block[209]]);
        for s in 0..16 {
            self.scales[s / 2][scale_byte(s, row)] = block[192 + s] as i8;
        }
        let mut values = [0u8; QK_K];
        for n in 0..2 {
            let ql = &block[64 * n..64 * n + 64];
            let qh = &block[128 + 32 * n..128 + 32 * n + 32];
            for l in 0..32 {
                for (k, q) in q6k_quants(ql, qh, l).into_iter().enumerate() {
                    values[128 * n + 32 * k + l] = (q + 32) as u8;
                }
            }
        }
        for (sub, sixteen) in self.q.iter_mut().zip(values.chunks_exact(16)) {
            for k in 0..3 {
                for j in 0..4 {
                    let carried = (sixteen[12 + j] >> (4 - 2 * k)) & 3;
                    sub[32 * k + 4 * row + j] = sixteen[4 * k + j] | carried << 6;
                }
            }
        }
    }

    /// The stored value (q + 32) of element `e` of row `row`.
    #[cfg(test)]
    fn value(&self, row: usize, e: usize) -> u8 {
        let sub = &self.q[e / 16];
        let (k, j) = ((e % 16) / 4, e % 4);
        let byte = |k: usize| sub[32 * k + 4 * row + j];
        match k {
            0..3 => byte(k) & 0x3F,
            _ => (0..3).fold(0, |q, k| q | (byte(k) >> 6) << (4 - 2 * k)),
        }
    }

    /// The 256 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK_K] {
        let d = half::f16::from_bits(self.d[row]).to_f32();
        std::array::from_fn(|e| {
            let s = e / 16;
            let q = self.value(row, e) as i32 - 32;
            d * self.scales[s / 2][scale_byte(s, row)] as f32 * q as f32
        })
    }
}

/// One 32-value Q8_0 block of 8 rows: exactly the file's 8 × 34 bytes.
#[derive(Clone)]
#[repr(C)]
pub struct TileQ8_0x8 {
    /// `[group of 4 values (8)][row (8)][4 bytes]`: byte `j` of a row in
    /// group `g` holds value `4g + j`.
    pub qs: [[i8; 32]; QK32 / 4],
    /// Per-row block scales, f16 bits.
    pub d: [u16; ROWS8],
}

impl TileQ8_0x8 {
    /// Copies block `block` (34 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = u16::from_le_bytes([block[0], block[1]]);
        for (group, four) in self.qs.iter_mut().zip(block[2..34].chunks_exact(4)) {
            for (j, &q) in four.iter().enumerate() {
                group[4 * row + j] = q as i8;
            }
        }
    }

    /// The 32 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK32] {
        let d = half::f16::from_bits(self.d[row]).to_f32();
        std::array::from_fn(|e| d * self.qs[e / 4][4 * row + e % 4] as f32)
    }
}

impl Tile for TileQ8_0x8 {
    const BLOCK_BYTES: usize = 34;
    const ELEMS: usize = QK32;
    const ROWS: usize = ROWS8;
    fn empty() -> Self {
        Self {
            qs: [[0; 32]; QK32 / 4],
            d: [0; ROWS8],
        }
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

/// The 4-bit values of a 32-value block (one row's, `0..16` each) into
/// row `row` of `qs`: `[pair of groups of 4 values (4)][row (8)][4
/// bytes]`, byte `j` of a row in pair `p` holding value `8p + j` (low
/// nibble) and `8p + 4 + j` (high).
fn set_nibbles(qs: &mut [[u8; 32]; QK32 / 8], row: usize, values: &[u8; QK32]) {
    for (p, pair) in qs.iter_mut().enumerate() {
        for j in 0..4 {
            pair[4 * row + j] = values[8 * p + j] | values[8 * p + 4 + j] << 4;
        }
    }
}

/// Value `e` of row `row` of nibbles stored by [`set_nibbles`] (tests).
#[cfg(test)]
fn nibble(qs: &[[u8; 32]; QK32 / 8], row: usize, e: usize) -> u8 {
    let byte = qs[e / 8][4 * row + e % 4];
    if e % 8 < 4 {
        byte & 0xF
    } else {
        byte >> 4
    }
}

/// One 32-value Q5_0 block of 8 rows: exactly the file's 8 × 22 bytes.
/// Values are stored unsigned (q + 16): their low four bits as nibbles,
/// their fifth bits apart.
#[derive(Clone)]
#[repr(C)]
pub struct TileQ5_0x8 {
    /// The low four bits, placed by [`set_nibbles`].
    pub qs: [[u8; 32]; QK32 / 8],
    /// `[row (8)][4 bytes]`: bit `g` of byte `j` of a row is the fifth bit
    /// of value `4g + j`.
    pub qh: [u8; 32],
    /// Per-row block scales, f16 bits.
    pub d: [u16; ROWS8],
}

impl TileQ5_0x8 {
    /// Copies block `block` (22 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = u16::from_le_bytes([block[0], block[1]]);
        let values = q5_0_quants(block).map(|q| (q + 16) as u8);
        set_nibbles(&mut self.qs, row, &values.map(|v| v & 0xF));
        for j in 0..4 {
            self.qh[4 * row + j] = (0..8).fold(0, |bits, g| bits | (values[4 * g + j] >> 4) << g);
        }
    }

    /// The 32 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK32] {
        let d = half::f16::from_bits(self.d[row]).to_f32();
        std::array::from_fn(|e| {
            let fifth = (self.qh[4 * row + e % 4] >> (e / 4)) & 1;
            let q = (nibble(&self.qs, row, e) | fifth << 4) as i8 - 16;
            d * q as f32
        })
    }
}

/// One 32-value Q4_1 block of 8 rows: exactly the file's 8 × 20 bytes.
#[derive(Clone)]
#[repr(C)]
pub struct TileQ4_1x8 {
    /// The 4-bit values, placed by [`set_nibbles`].
    pub qs: [[u8; 32]; QK32 / 8],
    /// Per-row block scales, f16 bits.
    pub d: [u16; ROWS8],
    /// Per-row block minimums, f16 bits.
    pub m: [u16; ROWS8],
}

impl TileQ4_1x8 {
    /// Copies block `block` (20 bytes, GGML layout) into row `row`.
    fn set_row(&mut self, row: usize, block: &[u8]) {
        self.d[row] = u16::from_le_bytes([block[0], block[1]]);
        self.m[row] = u16::from_le_bytes([block[2], block[3]]);
        // Byte j of the file holds value j (low nibble) and j + 16 (high).
        let values: [u8; QK32] =
            std::array::from_fn(|e| (block[4 + e % 16] >> (4 * (e / 16))) & 0xF);
        set_nibbles(&mut self.qs, row, &values);
    }

    /// The 32 dequantized values of row `row` (tests).
    #[cfg(test)]
    pub fn dequantize_row(&self, row: usize) -> [f32; QK32] {
        let f16 = |bits: u16| half::f16::from_bits(bits).to_f32();
        let (d, m) = (f16(self.d[row]), f16(self.m[row]));
        std::array::from_fn(|e| d * nibble(&self.qs, row, e) as f32 + m)
    }
}

impl Tile for TileQ5_0x8 {
    const BLOCK_BYTES: usize = 22;
    const ELEMS: usize = QK32;
    const ROWS: usize = ROWS8;
    fn empty() -> Self {
        Self {
            qs: [[0; 32]; QK32 / 8],
            qh: [0; 32],
            d: [0; ROWS8],
        }
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

impl Tile for TileQ4_1x8 {
    const BLOCK_BYTES: usize = 20;
    const ELEMS: usize = QK32;
    const ROWS: usize = ROWS8;
    fn empty() -> Self {
        Self {
            qs: [[0; 32]; QK32 / 8],
            d: [0; ROWS8],
            m: [0; ROWS8],
        }
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

impl Tile for TileQ4Kx8 {
    const BLOCK_BYTES: usize = 144;
    const ROWS: usize = ROWS8;
    fn empty() -> Self {
        Self::zeroed()
    }
    fn fill_row(&mut self, row: usize, block: &[u8]) {
        self.set_row(row, block)
    }
}

impl Tile for TileQ6Kx8 {
    const BLOCK_BYTES: usize = 210;
    const ROWS: usize = ROWS8;
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
    fn tiles_are_about_the_size_of_their_blocks() {
        assert_eq!(std::mem::size_of::<TileQ4Kx8>(), ROWS8 * 144 + 32);
        assert_eq!(
            std::mem::size_of::<TileQ6Kx8>(),
            (ROWS8 * 210).next_multiple_of(32)
        );
        assert_eq!(std::mem::size_of::<TileQ8_0x8>(), ROWS8 * 34);
        assert_eq!(std::mem::size_of::<TileQ5_0x8>(), ROWS8 * 22);
        assert_eq!(std::mem::size_of::<TileQ4_1x8>(), ROWS8 * 20);
    }

    #[test]
    fn scale_bytes_cover_each_pair_once() {
        let mut seen = [[false; 16]; 8];
        for s in 0..16 {
            for row in 0..ROWS8 {
                let byte = scale_byte(s, row);
                assert!(!seen[s / 2][byte], "sub-block {s} row {row}");
                seen[s / 2][byte] = true;
            }
        }
        assert!(seen.iter().flatten().all(|&b| b));
    }
}
