//! The kernels against Candle's own quantization code, and SIMD against scalar.

use super::*;
use crate::model::kernels::{CpuKernels, Isa};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

const TYPES: [(GgmlDType, QuantType); 5] = [
    (GgmlDType::Q4_1, QuantType::Q4_1),
    (GgmlDType::Q5_0, QuantType::Q5_0),
    (GgmlDType::Q8_0, QuantType::Q8_0),
    (GgmlDType::Q4K, QuantType::Q4K),
    (GgmlDType::Q6K, QuantType::Q6K),
];

/// Deterministic pseudo-random values in [-1, 1) with a few outliers, like
/// real weights and activations.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            if i % 97 == 0 {
                v * 8.0
            } else {
                v
            }
        })
        .collect()
}

/// A `rows × cols` matrix quantized by Candle, as a Candle tensor and as a
/// kurz weight over the same bytes.
fn weight(dtype: GgmlDType, ty: QuantType, rows: usize, cols: usize) -> (QTensor, QWeight) {
    let dense = Tensor::from_vec(values(rows * cols, 7), (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&dense, dtype).unwrap();
    let bytes = q.data().unwrap().into_owned();
    let w = QWeight::new(ty, rows, cols, WeightBytes::Owned(Arc::new(bytes))).unwrap();
    (q, w)
}

/// The paths of kurz's own kernels this CPU runs (not `candle`, whose
/// products are Candle's: see
/// `the_candle_fallback_runs_candles_kernels_close_to_the_reference`).
fn kurz_paths() -> Vec<CpuKernels> {
    CpuKernels::available()
        .into_iter()
        .filter(|cpu| cpu.isa() != Isa::Candle)
        .collect()
}

/// Products on `threads` threads with the best kernels this CPU runs.
fn best(threads: usize) -> MatMul {
    MatMul::new(threads, CpuKernels::best()).unwrap()
}

/// Products on `threads` threads with the portable kernels.
fn portable(threads: usize) -> MatMul {
    MatMul::new(threads, CpuKernels::portable()).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn max_abs(a: &[f32]) -> f32 {
    a.iter().map(|x| x.abs()).fold(0.0, f32::max)
}

#[test]
fn dequantized_rows_equal_candles() {
    for (dtype, ty) in TYPES {
        let (q, w) = weight(dtype, ty, 6, 512);
        let expected = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (r, expected) in expected.iter().enumerate() {
            let mut row = vec![0f32; 512];
            w.dequantize_row(r, &mut row);
            assert_eq!(&row, expected, "{ty:?} row {r}");
        }
    }
}

#[test]
fn products_match_candles_quantized_matmul() {
    let (rows, cols) = (37, 768);
    for (dtype, ty) in TYPES {
        let (q, w) = weight(dtype, ty, rows, cols);
        let reference = QMatMul::from_qtensor(q).unwrap();
        for m in [1, 3, 4, 9, 35] {
            let xs = values(m * cols, 11 + m as u64);
            let x = Tensor::from_vec(xs.clone(), (m, cols), &Device::Cpu).unwrap();
            let expected: Vec<f32> = reference
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for cpu in kurz_paths() {
                let mm = MatMul::new(2, cpu).unwrap();
                let w = mm.prepare(w.clone(), Usage::Batched).unwrap();
                let ours = mm
                    .matmul(&w, &QuantizedInput::new(&xs, cols).unwrap())
                    .unwrap();
                let tolerance = 1e-4 * max_abs(&expected).max(1.0);
                let diff = max_abs_diff(&ours, &expected);
                assert!(
                    diff <= tolerance,
                    "{ty:?} {cpu} m={m}: max difference {diff} > {tolerance}"
                );
            }
        }
    }
}

#[test]
fn every_path_agrees_closely_with_the_portable_one() {
    // 16 rows: whole tiles on the `avx512` path.
    let (rows, cols) = (16, 1024);
    for (dtype, ty) in TYPES {
        let (_, w) = weight(dtype, ty, rows, cols);
        for m in [1, 6] {
            let xs = values(m * cols, 3);
            let input = QuantizedInput::new(&xs, cols).unwrap();
            let scalar = portable(1).matmul(&w, &input).unwrap();
            for cpu in kurz_paths() {
                let mm = MatMul::new(1, cpu).unwrap();
                let simd = mm
                    .matmul(&mm.prepare(w.clone(), Usage::Batched).unwrap(), &input)
                    .unwrap();
                let diff = max_abs_diff(&scalar, &simd);
                assert!(
                    diff <= 1e-5 * max_abs(&scalar).max(1.0),
                    "{ty:?} {cpu} m={m}: {diff}"
                );
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (rows, cols) = (300, 512);
    for (dtype, ty) in TYPES {
        let (_, w) = weight(dtype, ty, rows, cols);
        // 40 rows: one thread splits input rows, three split weight rows.
        let xs = values(40 * cols, 5);
        let input = QuantizedInput::new(&xs, cols).unwrap();
        let (mm1, mm3) = (best(1), best(3));
        let one = mm1
            .matmul(&mm1.prepare(w.clone(), Usage::Batched).unwrap(), &input)
            .unwrap();
        let three = mm3
            .matmul(&mm3.prepare(w, Usage::Batched).unwrap(), &input)
            .unwrap();
        assert_eq!(one, three, "{ty:?}");
    }
}

#[test]
fn a_single_row_product_equals_that_row_of_a_batch() {
    // Decoding (one row) and prompt processing (several) must agree exactly,
    // or a cached prompt would decode differently from a fresh one.
    // 37 rows take the prompt path (tasks split the input rows, four rows
    // per kernel pass plus a remainder); single rows the decoding path.
    let (rows, cols, m) = (48, 512, 37);
    for (dtype, ty) in TYPES {
        let (_, w) = weight(dtype, ty, rows, cols);
        let xs = values(m * cols, 9);
        for cpu in kurz_paths() {
            let mm = MatMul::new(2, cpu).unwrap();
            let w = mm.prepare(w.clone(), Usage::Batched).unwrap();
            assert_rows_equal_single_products(&mm, &w, &xs, &format!("{ty:?} {cpu}"));
        }
    }
}

/// The product of `w` with all rows of `xs` at once equals, row by row,
/// the products of each row alone — bit for bit.
fn assert_rows_equal_single_products(mm: &MatMul, w: &QWeight, xs: &[f32], what: &str) {
    let (rows, cols) = (w.rows(), w.cols());
    let batch = mm
        .matmul(w, &QuantizedInput::new(xs, cols).unwrap())
        .unwrap();
    for (t, x) in xs.chunks_exact(cols).enumerate() {
        let one = mm
            .matmul(w, &QuantizedInput::new(x, cols).unwrap())
            .unwrap();
        assert_eq!(one, batch[t * rows..(t + 1) * rows], "{what} row {t}");
    }
}

#[test]
fn decode_passes_of_any_row_count_equal_single_rows() {
    // A batched decoding pass (a few rows, one per sequence) runs kernels
    // taking 4, 3 (padded), 2 or 1 rows at once; each row must come out as
    // it would alone, whatever rows run beside it.
    let (rows, cols) = (48, 512);
    for (dtype, ty) in TYPES {
        let (_, w) = weight(dtype, ty, rows, cols);
        for cpu in kurz_paths() {
            let mm = MatMul::new(2, cpu).unwrap();
            let w = mm.prepare(w.clone(), Usage::Batched).unwrap();
            for m in 2..=7 {
                let xs = values(m * cols, 40 + m as u64);
                let what = format!("{ty:?} {cpu} m={m}");
                assert_rows_equal_single_products(&mm, &w, &xs, &what);
            }
        }
    }
}

#[test]
fn mismatched_sizes_are_errors() {
    let bytes = WeightBytes::Owned(Arc::new(vec![0u8; 144]));
    assert!(QWeight::new(QuantType::Q4K, 1, 256, bytes.clone()).is_ok());
    let err = QWeight::new(QuantType::Q4K, 2, 256, bytes.clone()).unwrap_err();
    assert!(
        err.to_string().contains("needs 288 bytes, got 144"),
        "{err}"
    );
    let err = QWeight::new(QuantType::Q4K, 1, 100, bytes).unwrap_err();
    assert!(err.to_string().contains("multiple of 256"), "{err}");
    assert!(QuantizedInput::new(&[0.0; 10], 4).is_err());

    let (_, w) = weight(GgmlDType::Q8_0, QuantType::Q8_0, 2, 64);
    let xs = [0f32; 32];
    let err = best(1)
        .matmul(&w, &QuantizedInput::new(&xs, 32).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("weights expect 64"), "{err}");
}

#[test]
fn zero_input_rows_give_zero_outputs() {
    for (dtype, ty) in TYPES {
        let (_, w) = weight(dtype, ty, 8, 256);
        let xs = vec![0f32; 2 * 256];
        let out = best(1)
            .matmul(&w, &QuantizedInput::new(&xs, 256).unwrap())
            .unwrap();
        assert!(out.iter().all(|&v| v == 0.0), "{ty:?}: {out:?}");
    }
}

#[test]
fn q4k_tiles_hold_the_same_weights() {
    let (rows, cols) = (32, 512);
    let (_, w) = weight(GgmlDType::Q4K, QuantType::Q4K, rows, cols);
    for tile in 0..rows / tiles::TILE_ROWS {
        let packed =
            tiles::Tiles::<tiles::TileQ4K>::pack_tile(cols / 256, |r| w.row(tile * 16 + r));
        for r in 0..16 {
            let mut expected = vec![0f32; cols];
            w.dequantize_row(tile * 16 + r, &mut expected);
            let got: Vec<f32> = packed.iter().flat_map(|t| t.dequantize_row(r)).collect();
            assert_eq!(got, expected, "tile {tile} row {r}");
        }
    }
}

#[test]
fn q6k_tiles_hold_the_same_weights() {
    let (rows, cols) = (16, 512);
    let (_, w) = weight(GgmlDType::Q6K, QuantType::Q6K, rows, cols);
    let packed = tiles::Tiles::<tiles::TileQ6K>::pack_tile(cols / 256, |r| w.row(r));
    for r in 0..16 {
        let mut expected = vec![0f32; cols];
        w.dequantize_row(r, &mut expected);
        let got: Vec<f32> = packed.iter().flat_map(|t| t.dequantize_row(r)).collect();
        assert_eq!(got, expected, "row {r}");
    }
}

#[test]
fn avx512_takes_16_row_tiles_for_whole_k_quant_tiles_and_8_row_tiles_otherwise() {
    let Ok(avx512) = CpuKernels::new(Isa::Avx512) else {
        eprintln!("skipped: this CPU cannot run the avx512 kernels");
        return;
    };
    let mm = MatMul::new(1, avx512).unwrap();
    let layout = |dtype, ty, rows, usage| {
        let (_, w) = weight(dtype, ty, rows, 256);
        match mm.prepare(w, usage).unwrap().tiles.as_deref() {
            Some(Tiled::Q4K(_)) | Some(Tiled::Q6K(_)) => "16 rows",
            Some(_) => "8 rows",
            None => "file blocks",
        }
    };
    use GgmlDType as G;
    use QuantType as Q;
    assert_eq!(layout(G::Q4K, Q::Q4K, 32, Usage::Batched), "16 rows");
    // 17 rows: not whole 16-row tiles.
    assert_eq!(layout(G::Q4K, Q::Q4K, 17, Usage::Batched), "8 rows");
    assert_eq!(layout(G::Q6K, Q::Q6K, 32, Usage::Batched), "16 rows");
    // The output projection: as fast on the file's blocks.
    assert_eq!(layout(G::Q6K, Q::Q6K, 32, Usage::SingleRow), "file blocks");
    assert_eq!(layout(G::Q6K, Q::Q6K, 24, Usage::Batched), "8 rows");
    assert_eq!(layout(G::Q8_0, Q::Q8_0, 32, Usage::Batched), "8 rows");
    assert_eq!(layout(G::Q8_0, Q::Q8_0, 32, Usage::SingleRow), "8 rows");
    assert_eq!(layout(G::Q5_0, Q::Q5_0, 9, Usage::Batched), "8 rows");
    assert_eq!(layout(G::Q4_1, Q::Q4_1, 3, Usage::Batched), "8 rows");
    let mm = MatMul::new(1, CpuKernels::portable()).unwrap();
    let (_, q4k) = weight(G::Q4K, Q::Q4K, 32, 256);
    assert!(mm.prepare(q4k, Usage::Batched).unwrap().tiles.is_none());
}

#[test]
fn avx2_tiles_matrices_of_any_row_count() {
    let Ok(avx2) = CpuKernels::new(Isa::Avx2) else {
        eprintln!("skipped: this CPU cannot run the avx2 kernels");
        return;
    };
    let mm = MatMul::new(1, avx2).unwrap();
    let tiled = |dtype, ty, rows, usage| {
        let (_, w) = weight(dtype, ty, rows, 256);
        match mm.prepare(w, usage).unwrap().tiles.as_deref() {
            Some(Tiled::Q4Kx8(t)) => Some(t.tiles.len()),
            Some(Tiled::Q6Kx8(t)) => Some(t.tiles.len()),
            Some(Tiled::Q8_0x8(t)) => Some(t.tiles.len()),
            Some(Tiled::Q5_0x8(t)) => Some(t.tiles.len()),
            Some(Tiled::Q4_1x8(t)) => Some(t.tiles.len()),
            Some(other) => panic!("avx2 made {other:?}"),
            None => None,
        }
    };
    assert_eq!(
        tiled(GgmlDType::Q4K, QuantType::Q4K, 32, Usage::Batched),
        Some(4)
    );
    // 17 rows: two whole tiles and one of a single row.
    assert_eq!(
        tiled(GgmlDType::Q4K, QuantType::Q4K, 17, Usage::Batched),
        Some(3)
    );
    assert_eq!(
        tiled(GgmlDType::Q6K, QuantType::Q6K, 5, Usage::Batched),
        Some(1)
    );
    // Single-row matrices (the output projection) too: one input row runs
    // faster on tiles than on the file's blocks.
    assert_eq!(
        tiled(GgmlDType::Q6K, QuantType::Q6K, 16, Usage::SingleRow),
        Some(2)
    );
    // 32-value formats: 8 blocks of 32 per row of 256.
    assert_eq!(
        tiled(GgmlDType::Q8_0, QuantType::Q8_0, 16, Usage::Batched),
        Some(16)
    );
    assert_eq!(
        tiled(GgmlDType::Q8_0, QuantType::Q8_0, 16, Usage::SingleRow),
        Some(16)
    );
    assert_eq!(
        tiled(GgmlDType::Q5_0, QuantType::Q5_0, 9, Usage::Batched),
        Some(16)
    );
    assert_eq!(
        tiled(GgmlDType::Q4_1, QuantType::Q4_1, 3, Usage::Batched),
        Some(8)
    );
}

#[test]
fn avx2_tiles_hold_the_same_weights() {
    let (rows, cols) = (8, 768);
    let (_, q4k) = weight(GgmlDType::Q4K, QuantType::Q4K, rows, cols);
    let (_, q6k) = weight(GgmlDType::Q6K, QuantType::Q6K, rows, cols);
    let packed4 = tiles::Tiles::<tiles8::TileQ4Kx8>::pack_tile(cols / 256, |r| q4k.row(r));
    let packed6 = tiles::Tiles::<tiles8::TileQ6Kx8>::pack_tile(cols / 256, |r| q6k.row(r));
    for r in 0..rows {
        let mut expected = vec![0f32; cols];
        q4k.dequantize_row(r, &mut expected);
        let got: Vec<f32> = packed4.iter().flat_map(|t| t.dequantize_row(r)).collect();
        assert_eq!(got, expected, "Q4_K row {r}");
        q6k.dequantize_row(r, &mut expected);
        let got: Vec<f32> = packed6.iter().flat_map(|t| t.dequantize_row(r)).collect();
        assert_eq!(got, expected, "Q6_K row {r}");
    }
}

#[test]
fn avx2_tiles_of_32_value_blocks_hold_the_same_weights() {
    let (rows, cols) = (8, 96);
    let (_, q8_0) = weight(GgmlDType::Q8_0, QuantType::Q8_0, rows, cols);
    let packed8_0 = tiles::Tiles::<tiles8::TileQ8_0x8>::pack_tile(cols / 32, |r| q8_0.row(r));
    let (_, q5_0) = weight(GgmlDType::Q5_0, QuantType::Q5_0, rows, cols);
    let packed5_0 = tiles::Tiles::<tiles8::TileQ5_0x8>::pack_tile(cols / 32, |r| q5_0.row(r));
    let (_, q4_1) = weight(GgmlDType::Q4_1, QuantType::Q4_1, rows, cols);
    let packed4_1 = tiles::Tiles::<tiles8::TileQ4_1x8>::pack_tile(cols / 32, |r| q4_1.row(r));
    for r in 0..rows {
        let mut expected = vec![0f32; cols];
        q8_0.dequantize_row(r, &mut expected);
        let got: Vec<f32> = packed8_0.iter().flat_map(|t| t.dequantize_row(r)).collect();
        assert_eq!(got, expected, "Q8_0 row {r}");
        q5_0.dequantize_row(r, &mut expected);
        let got: Vec<f32> = packed5_0.iter().flat_map(|t| t.dequantize_row(r)).collect();
        assert_eq!(got, expected, "Q5_0 row {r}");
        q4_1.dequantize_row(r, &mut expected);
        let got: Vec<f32> = packed4_1.iter().flat_map(|t| t.dequantize_row(r)).collect();
        assert_eq!(got, expected, "Q4_1 row {r}");
    }
}

/// Whether `a` and `b` hold the same bits.
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn avx2_tiled_products_equal_the_portable_reference_bit_for_bit() {
    let Ok(avx2) = CpuKernels::new(Isa::Avx2) else {
        eprintln!("skipped: this CPU cannot run the avx2 kernels");
        return;
    };
    let cols = 768;
    // Row counts: whole tiles, one short, one over, a single row, odd.
    for rows in [8, 24, 7, 9, 1, 37] {
        for (dtype, ty) in [
            (GgmlDType::Q4K, QuantType::Q4K),
            (GgmlDType::Q6K, QuantType::Q6K),
            (GgmlDType::Q8_0, QuantType::Q8_0),
            (GgmlDType::Q5_0, QuantType::Q5_0),
            (GgmlDType::Q4_1, QuantType::Q4_1),
        ] {
            let (_, w) = weight(dtype, ty, rows, cols);
            for threads in [1, 2] {
                let mm = MatMul::new(threads, avx2).unwrap();
                let tiled = mm.prepare(w.clone(), Usage::Batched).unwrap();
                assert!(tiled.tiles.is_some());
                // 1–9 rows: decoding (4-, 3-, 2- and 1-row kernel calls);
                // 40 and 70: prompt chunks, split between input rows, with
                // decode rows riding along.
                for m in (1..=9).chain([40, 70]) {
                    let xs = values(m * cols, 100 + m as u64);
                    let input = QuantizedInput::new(&xs, cols).unwrap();
                    let expected = portable(1).matmul(&w, &input).unwrap();
                    let got = mm.matmul(&tiled, &input).unwrap();
                    assert!(
                        same_bits(&got, &expected),
                        "{ty:?} {rows} rows, m={m}, {threads} threads: max difference {}",
                        max_abs_diff(&got, &expected)
                    );
                }
            }
        }
    }
}

#[test]
fn tiled_products_agree_with_the_scalar_reference() {
    let Ok(avx512) = CpuKernels::new(Isa::Avx512) else {
        eprintln!("skipped: this CPU cannot run the avx512 kernels");
        return;
    };
    let (rows, cols) = (64, 768);
    for (dtype, ty) in [
        (GgmlDType::Q4K, QuantType::Q4K),
        (GgmlDType::Q6K, QuantType::Q6K),
    ] {
        let (_, w) = weight(dtype, ty, rows, cols);
        let scalar = portable(2);
        let vnni = MatMul::new(2, avx512).unwrap();
        let tiled = vnni.prepare(w.clone(), Usage::Batched).unwrap();
        assert!(tiled.tiles.is_some());
        for m in [1, 2, 3, 4, 7] {
            let xs = values(m * cols, 21 + m as u64);
            let input = QuantizedInput::new(&xs, cols).unwrap();
            let expected = scalar.matmul(&w, &input).unwrap();
            let got = vnni.matmul(&tiled, &input).unwrap();
            let diff = max_abs_diff(&got, &expected);
            assert!(
                diff <= 1e-5 * max_abs(&expected).max(1.0),
                "{ty:?} m={m}: {diff}"
            );
        }
    }
}

#[test]
fn released_rows_still_read_the_same_values() {
    // Releasing an embedding row's pages only drops them from this
    // process's memory: the next lookup reads the file again.
    let (_, w) = weight(GgmlDType::Q4K, QuantType::Q4K, 64, 512);
    let bytes = w.bytes.as_slice().to_vec();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, &[vec![0u8; 100], bytes.clone()].concat()).unwrap();
    // SAFETY: the file is private to this test and not modified while mapped.
    let map = Arc::new(unsafe { memmap2::Mmap::map(file.as_file()).unwrap() });
    let len = bytes.len();
    let mapped = QWeight::new(
        QuantType::Q4K,
        64,
        512,
        WeightBytes::Mapped {
            map,
            offset: 100,
            len,
        },
    )
    .unwrap();
    let row = |r| {
        let mut out = vec![0f32; 512];
        mapped.dequantize_row(r, &mut out);
        out
    };
    let before: Vec<Vec<f32>> = (0..64).map(row).collect();
    mapped.release_rows([0, 7, 63, 7]);
    let after: Vec<Vec<f32>> = (0..64).map(row).collect();
    assert_eq!(before, after);
    let mut expected = vec![0f32; 512];
    w.dequantize_row(63, &mut expected);
    assert_eq!(after[63], expected);
}

#[test]
fn products_sharing_a_section_equal_products_alone() {
    // A layer's query/key/value projections go to the pool as one section;
    // each product must be what it is computed alone, for decode rows and
    // for prompt chunks with decode rows riding along (49 rows: one row
    // written straight into the result after a prompt part).
    for threads in [1, 2, 3] {
        let mm = best(threads);
        let weights: Vec<QWeight> = [
            (GgmlDType::Q4K, QuantType::Q4K, 64),
            (GgmlDType::Q6K, QuantType::Q6K, 16),
            (GgmlDType::Q8_0, QuantType::Q8_0, 48),
        ]
        .into_iter()
        .map(|(dtype, ty, rows)| {
            mm.prepare(weight(dtype, ty, rows, 512).1, Usage::Batched)
                .unwrap()
        })
        .collect();
        for m in [1, 2, 3, 49, 70] {
            let xs = values(m * 512, 11);
            let input = QuantizedInput::new(&xs, 512).unwrap();
            let together = mm.matmul_all(&weights, &input).unwrap();
            assert_eq!(together.len(), weights.len());
            for (w, got) in weights.iter().zip(&together) {
                let alone = mm
                    .matmul(w, &QuantizedInput::new(&xs, 512).unwrap())
                    .unwrap();
                assert_eq!(got.len(), m * w.rows());
                let same = got
                    .iter()
                    .zip(&alone)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{:?}, {m} rows, {threads} threads", w.quant_type());
            }
        }
    }
}

#[test]
fn the_selection_runs_the_reference_kurz_simd_or_candle() {
    use ProductKernel::*;
    for (_, ty) in TYPES {
        let select = |arch, isa| product_kernel(arch, isa, ty);
        // `portable` is the reference everywhere.
        assert_eq!(select(Arch::X86_64, Isa::Portable), Reference);
        assert_eq!(select(Arch::Other, Isa::Portable), Reference);
        assert_eq!(select(Arch::X86_64, Isa::Avx2), Avx2);
        assert_eq!(select(Arch::X86_64, Isa::Avx512), Avx512);
        // No kurz SIMD code for the architecture: Candle's.
        assert_eq!(select(Arch::Other, Isa::Candle), Candle);
        assert_eq!(select(Arch::Other, Isa::Avx2), Candle);
        assert_eq!(select(Arch::X86_64, Isa::Candle), Candle);
    }
}

#[test]
fn the_candle_fallback_runs_candles_kernels_close_to_the_reference() {
    // The `candle` path (the default without kurz SIMD code, e.g. on
    // aarch64), forced here on x86-64. Its outputs are Candle's own, bit
    // for bit, so the products really go through Candle. They are not
    // kurz's reference bits: Candle adds the float terms in another order,
    // and for single rows its fused kernels quantize the inputs their own
    // way. What is asserted is that both stay within one input
    // quantization step of each other: for output (t, r), Σ_i |w_ri| ·
    // amax(x_t's 256-value block holding i) / 127 (each side's input
    // error is at most half a step of its own blocks, of 256 values or
    // fewer), plus 1e-5 of the output's size for float rounding.
    let candle = CpuKernels::new(Isa::Candle).unwrap();
    let rows = 21;
    for (dtype, ty) in TYPES {
        for cols in [512, 1024] {
            let (q, w) = weight(dtype, ty, rows, cols);
            let own = QMatMul::from_qtensor(q).unwrap();
            let mm = MatMul::new(2, candle).unwrap();
            let fallback = mm.prepare(w.clone(), Usage::Batched).unwrap();
            assert!(fallback.candle.is_some() && fallback.tiles.is_none());
            for m in [1, 3, 40] {
                let what = format!("{ty:?} {cols} columns, m={m}");
                let xs = values(m * cols, 60 + m as u64);
                let input = QuantizedInput::new(&xs, cols).unwrap();
                let got = mm.matmul(&fallback, &input).unwrap();
                let x = Tensor::from_vec(xs.clone(), (m, cols), &Device::Cpu).unwrap();
                let candles: Vec<f32> = own
                    .forward(&x)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                assert!(same_bits(&got, &candles), "{what}: not Candle's outputs");
                let reference = portable(1).matmul(&w, &input).unwrap();
                for (t, x) in xs.chunks_exact(cols).enumerate() {
                    for r in 0..rows {
                        let mut wr = vec![0f32; cols];
                        w.dequantize_row(r, &mut wr);
                        let step: f32 = wr
                            .iter()
                            .zip(x.chunks_exact(256).flat_map(|b| {
                                let amax = max_abs(b);
                                std::iter::repeat_n(amax / 127.0, 256)
                            }))
                            .map(|(w, step)| w.abs() * step)
                            .sum();
                        let (a, b) = (got[t * rows + r], reference[t * rows + r]);
                        let bound = step + 1e-5 * a.abs().max(b.abs()).max(1.0);
                        assert!(
                            (a - b).abs() <= bound,
                            "{what} ({t}, {r}): {a} vs {b}, bound {bound}"
                        );
                    }
                }
            }
        }
        // Several products at once, one of them on Candle's kernels.
        let (_, w) = weight(dtype, ty, rows, 512);
        let mm = MatMul::new(2, candle).unwrap();
        let fallback = mm.prepare(w.clone(), Usage::Batched).unwrap();
        let xs = values(2 * 512, 1);
        let input = QuantizedInput::new(&xs, 512).unwrap();
        let both = mm.matmul_all([&fallback, &w], &input).unwrap();
        assert_eq!(both[0], mm.matmul(&fallback, &input).unwrap());
        assert_eq!(both[1], portable(1).matmul(&w, &input).unwrap());
    }
}

/// CPU seconds this process has used (all threads).
#[cfg(target_os = "linux")]
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Speed of the `avx2` path's tiles against its dot products on the
/// file's blocks (the `avx2` path before tiles), in CPU time on one thread
/// (so other work on the machine disturbs it less than wall time), the
/// least of alternating repeats, on the shapes of qwen2.5-coder-1.5b's
/// feed-forward matrices (and 0.5b's for the 32-value formats). Run by hand:
/// `cargo test --release --lib avx2_tile_speed -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a test"]
#[cfg(target_os = "linux")]
fn avx2_tile_speed() {
    let Ok(avx2) = CpuKernels::new(Isa::Avx2) else {
        eprintln!("skipped: this CPU cannot run the avx2 kernels");
        return;
    };
    let mm = MatMul::new(1, avx2).unwrap();
    for (dtype, ty, rows, cols) in [
        (GgmlDType::Q4K, QuantType::Q4K, 8960, 1536),
        (GgmlDType::Q6K, QuantType::Q6K, 1536, 8960),
        // qwen2.5-coder-0.5b's feed-forward shapes.
        (GgmlDType::Q8_0, QuantType::Q8_0, 4864, 896),
        (GgmlDType::Q5_0, QuantType::Q5_0, 4864, 896),
        (GgmlDType::Q5_0, QuantType::Q5_0, 896, 4864),
        // SmolLM2-135m's (Q4_1).
        (GgmlDType::Q4_1, QuantType::Q4_1, 1536, 576),
    ] {
        let (_, file_blocks) = weight(dtype, ty, rows, cols);
        let tiled = mm.prepare(file_blocks.clone(), Usage::Batched).unwrap();
        for (m, repeats) in [(1, 40), (128, 2)] {
            let xs = values(m * cols, 5);
            let input = QuantizedInput::new(&xs, cols).unwrap();
            let time = |w: &QWeight| {
                let start = process_cpu_seconds();
                for _ in 0..repeats {
                    std::hint::black_box(mm.matmul(w, &input).unwrap());
                }
                (process_cpu_seconds() - start) / repeats as f64
            };
            let (mut before, mut after) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                before = before.min(time(&file_blocks));
                after = after.min(time(&tiled));
            }
            let macs = (m * rows * cols) as f64;
            eprintln!(
                "{ty:?} {rows}x{cols}, {m} input rows: dots on blocks {:.2} ms ({:.1} GMAC/s), \
                 8-row tiles {:.2} ms ({:.1} GMAC/s): {:.2}x",
                before * 1e3,
                macs / before * 1e-9,
                after * 1e3,
                macs / after * 1e-9,
                before / after
            );
        }
    }
}
