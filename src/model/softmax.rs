//! The exponentials of decode attention's softmax, eight at a time, with
//! the bits of the C library's `expf`.
//!
//! Candle's softmax (the reference kurz's attention is checked against)
//! calls `f32::exp`, which on Linux is glibc's `expf`: a scalar call per
//! cached position and head, about a quarter of decode attention's time.
//! glibc computes `expf` in double precision from a 32-entry table of
//! `2^(i/32)` and a cubic polynomial (the algorithm of ARM's optimized
//! routines, glibc 2.27 and later); on CPUs with FMA it runs the variant
//! whose multiply-adds are fused. [`exp_shifted`] evaluates that same
//! sequence of operations on eight values at once, so its results are the
//! library's to the bit, and greedy outputs do not change: all
//! 1,121,714,176 floats from −110 to 0 gave glibc 2.36's bits (a one-off
//! check; the tests sweep every 97th of them and the thresholds). Inputs
//! outside the library's main path (below −103.28, at or above 88, NaN) go
//! through `f32::exp` itself. The vector code runs on the `avx512` kernel
//! path ([`CpuKernels`]); the others run the scalar loop, with the same
//! bits.

use super::kernels::CpuKernels;

/// Replaces each score `w` in `scores` by `e^(w − max)`, `max` being the
/// largest score (NaNs skipped, as [`f32::max`] skips them), and returns
/// the sum of the results added in order: what the scalar loop
/// `max = fold(max); w = (w − max).exp(); sum += w` gives, bit for bit,
/// on every path `cpu` may be.
pub fn exp_shifted(cpu: CpuKernels, scores: &mut [f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if cpu.avx512() {
        // SAFETY: `cpu.avx512()` holds only on CPUs with AVX-512 F, AVX2
        // and FMA.
        return unsafe { x86::exp_shifted(scores) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cpu;
    exp_shifted_scalar(scores)
}

/// The scalar loop [`exp_shifted`] stands for.
fn exp_shifted_scalar(scores: &mut [f32]) -> f32 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for w in scores {
        *w = (*w - max).exp();
        sum += *w;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `2^(i/32)` for `i` in `0..32`, as f64 bits with `i << 47` taken off
    /// the exponent field (added back with the integer part of the power).
    const TABLE: [u64; 32] = [
        0x3ff0000000000000,
        0x3fefd9b0d3158574,
        0x3fefb5586cf9890f,
        0x3fef9301d0125b51,
        0x3fef72b83c7d517b,
        0x3fef54873168b9aa,
        0x3fef387a6e756238,
        0x3fef1e9df51fdee1,
        0x3fef06fe0a31b715,
        0x3feef1a7373aa9cb,
        0x3feedea64c123422,
        0x3feece086061892d,
        0x3feebfdad5362a27,
        0x3feeb42b569d4f82,
        0x3feeab07dd485429,
        0x3feea47eb03a5585,
        0x3feea09e667f3bcd,
        0x3fee9f75e8ec5f74,
        0x3feea11473eb0187,
        0x3feea589994cce13,
        0x3feeace5422aa0db,
        0x3feeb737b0cdc5e5,
        0x3feec49182a3f090,
        0x3feed503b23e255d,
        0x3feee89f995ad3ad,
        0x3feeff76f2fb5e47,
        0x3fef199bdd85529c,
        0x3fef3720dcef9069,
        0x3fef5818dcfba487,
        0x3fef7c97337b9b5f,
        0x3fefa4afa2a490da,
        0x3fefd0765b6e4540,
    ];
    /// `32 / ln 2`.
    const INV_LN2_N: u64 = 0x40471547652b82fe;
    /// `1.5 · 2^52`: adding it rounds to an integer, kept in the low bits.
    const SHIFT: u64 = 0x4338000000000000;
    /// `2^(r/32) ≈ C0·r³ + C1·r² + C2·r + 1`.
    const C0: u64 = 0x3ebc6af84b912394;
    const C1: u64 = 0x3f2ebfce50fac4f3;
    const C2: u64 = 0x3f962e42ff0c52d6;
    /// The library's main path covers `LOWEST <= x < 88` (f32 bits of
    /// −103.278923); below, it returns the smallest subnormal or zero.
    const LOWEST: u32 = 0xc2ce8ecf;
    const ABOVE: f32 = 88.0;

    /// [`super::exp_shifted`].
    ///
    /// # Safety
    /// The CPU must have AVX-512F, AVX2 and FMA.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn exp_shifted(scores: &mut [f32]) -> f32 {
        let (blocks, _) = scores.as_chunks::<8>();
        let mut lanes = _mm256_set1_ps(f32::NEG_INFINITY);
        for block in blocks {
            // `max` returns its second operand when either is NaN.
            lanes = _mm256_max_ps(_mm256_loadu_ps(block.as_ptr()), lanes);
        }
        let mut lane_values = [0f32; 8];
        _mm256_storeu_ps(lane_values.as_mut_ptr(), lanes);
        let blocked = blocks.len() * 8;
        let max = scores[blocked..]
            .iter()
            .chain(&lane_values)
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let shift = _mm256_set1_ps(max);
        let (blocks, rest) = scores.as_chunks_mut::<8>();
        let mut sum = 0f32;
        for block in blocks {
            let x = _mm256_sub_ps(_mm256_loadu_ps(block.as_ptr()), shift);
            match exp8(x) {
                Some(e) => _mm256_storeu_ps(block.as_mut_ptr(), e),
                None => {
                    _mm256_storeu_ps(block.as_mut_ptr(), x);
                    block.iter_mut().for_each(|w| *w = w.exp());
                }
            }
            for &w in block.iter() {
                sum += w;
            }
        }
        for w in rest {
            *w = (*w - max).exp();
            sum += *w;
        }
        sum
    }

    /// `e^x` for eight values, or `None` when one of them is off the
    /// library's main path.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn exp8(x: __m256) -> Option<__m256> {
        let inside = _mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GE_OQ>(x, _mm256_set1_ps(f32::from_bits(LOWEST))),
            _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(ABOVE)),
        );
        if _mm256_movemask_ps(inside) != 0xFF {
            return None;
        }
        let f64x = |bits: u64| _mm512_set1_pd(f64::from_bits(bits));
        let xd = _mm512_cvtps_pd(x);
        let shift = f64x(SHIFT);
        // z = x · N / ln 2 = k + r: k rounded to an integer (in the low
        // bits of `kd`), r = z − k with the product unrounded.
        let kd = _mm512_fmadd_pd(f64x(INV_LN2_N), xd, shift);
        let ki = _mm512_castpd_si512(kd);
        let k = _mm512_sub_pd(kd, shift);
        let r = _mm512_fmsub_pd(f64x(INV_LN2_N), xd, k);
        // s = 2^(k/N): the table entry for k mod N, k / N added to the
        // exponent.
        let t = |i: usize| _mm512_loadu_pd(TABLE.as_ptr().add(8 * i).cast());
        let low = _mm512_permutex2var_pd(t(0), ki, t(1));
        let high = _mm512_permutex2var_pd(t(2), ki, t(3));
        let upper_half = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
        let entry = _mm512_castpd_si512(_mm512_mask_blend_pd(upper_half, low, high));
        let s = _mm512_castsi512_pd(_mm512_add_epi64(entry, _mm512_slli_epi64::<47>(ki)));
        // 2^(r/N) by the cubic, fused as the library's FMA build fuses it.
        let z = _mm512_fmadd_pd(r, f64x(C0), f64x(C1));
        let r2 = _mm512_mul_pd(r, r);
        let y = _mm512_fmadd_pd(r, f64x(C2), _mm512_set1_pd(1.0));
        let y = _mm512_fmadd_pd(z, r2, y);
        Some(_mm512_cvtpd_ps(_mm512_mul_pd(y, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f32 from `from` to `to` (both ≤ 0 or both ≥ 0), `step` bit
    /// patterns apart.
    fn span(from: f32, to: f32, step: u32) -> Vec<f32> {
        let (a, b) = (
            from.to_bits().min(to.to_bits()),
            from.to_bits().max(to.to_bits()),
        );
        (a..=b).step_by(step as usize).map(f32::from_bits).collect()
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn exponentials_are_the_c_librarys_bits() {
        // Softmax arguments are ≤ 0: a sweep of them down past where the
        // library underflows, and every value around its thresholds.
        let mut xs = span(-0.0, -110.0, 97);
        xs.extend(span(-1.0, -1.0001, 1));
        xs.extend(span(-87.9, -88.1, 1));
        xs.extend(span(-103.2, -104.0, 1));
        // Each run starts with 0, its max, so the shifted scores are the
        // values themselves.
        for run in xs.chunks(1023) {
            let mut scores = vec![0.0];
            scores.extend_from_slice(run);
            let expected: Vec<f32> = scores.iter().map(|x| x.exp()).collect();
            let expected_sum = expected.iter().fold(0f32, |sum, e| sum + e);
            for cpu in CpuKernels::available() {
                let mut scores = scores.clone();
                let sum = exp_shifted(cpu, &mut scores);
                let what = format!("{cpu}, sum from {}", run[0]);
                assert_eq!(sum.to_bits(), expected_sum.to_bits(), "{what}");
                for ((x, e), got) in run.iter().zip(&expected[1..]).zip(&scores[1..]) {
                    assert_eq!(got.to_bits(), e.to_bits(), "{cpu}, e^{x}: {got} vs {e}");
                }
            }
        }
    }

    #[test]
    fn every_path_gives_the_scalar_loops_bits_on_attention_like_scores() {
        for cpu in CpuKernels::available() {
            assert_paths_agree(cpu);
        }
    }

    /// `cpu`'s [`exp_shifted`] against the scalar loop: random scores of
    /// several lengths, and NaNs.
    fn assert_paths_agree(cpu: CpuKernels) {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in [0, 1, 7, 8, 9, 64, 901] {
            let scores: Vec<f32> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 240.0
                })
                .collect();
            let mut fast = scores.clone();
            let mut slow = scores.clone();
            let (a, b) = (exp_shifted(cpu, &mut fast), exp_shifted_scalar(&mut slow));
            assert_eq!(a.to_bits(), b.to_bits(), "{cpu}: sum, {len} scores");
            let same = fast
                .iter()
                .zip(&slow)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{cpu}: {len} scores");
        }
        // NaN scores are skipped by the max and stay NaN.
        let mut with_nan = vec![1.0, f32::NAN, 3.0, -2.0, 0.5, 0.0, 2.0, 1.0, 4.0];
        let mut slow = with_nan.clone();
        let (a, b) = (
            exp_shifted(cpu, &mut with_nan),
            exp_shifted_scalar(&mut slow),
        );
        assert!(a.is_nan() && b.is_nan());
        assert!(with_nan[1].is_nan());
        assert_eq!(with_nan[8], 1.0);
        for (x, y) in with_nan.iter().zip(&slow).filter(|(x, _)| !x.is_nan()) {
            assert_eq!(x.to_bits(), y.to_bits());
        }
    }
}
