//! Elementwise activations on plain slices, vectorized where the CPU
//! allows: the SwiGLU product `silu(gate) · up` of every MLP.
//!
//! Candle's `silu` calls the C library's `expf` once per value, which took
//! about 4% of prompt processing; here `exp` is a polynomial evaluated
//! eight values at a time (Cephes' single-precision `expf`, within 2 ulp of
//! the exact value). Every row goes through the same code whatever pass it
//! is in, so results do not depend on how rows are grouped, and the vector
//! code (the `avx2` and `avx512` kernel paths, [`CpuKernels`]) gives the
//! bits of the portable loop.

use super::kernels::CpuKernels;

/// `gate[i] = silu(gate[i]) · up[i]` where `silu(x) = x / (1 + e^-x)`,
/// with `cpu`'s code (every path gives the same bits).
pub fn silu_mul(cpu: CpuKernels, gate: &mut [f32], up: &[f32]) {
    assert_eq!(gate.len(), up.len(), "silu_mul: lengths differ");
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if cpu.avx2() {
        done = gate.len() / 8 * 8;
        // SAFETY: `cpu.avx2()` holds only on CPUs with AVX2 and FMA; both
        // slices hold `done` values.
        unsafe { x86::silu_mul(&mut gate[..done], &up[..done]) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cpu;
    for (g, &u) in gate[done..].iter_mut().zip(&up[done..]) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}

// Cephes `expf`: e^x = 2^n · e^r with n = round(x · log2 e) and |r| ≤ ln 2 / 2,
// e^r by a degree-7 polynomial.
const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_2e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];
/// Beyond these, `e^x` overflows to infinity or is taken as zero.
const EXP_MAX: f32 = 88.376_26;
const EXP_MIN: f32 = -87.336_55;

/// The scalar twin of the vector `exp`: the same operations, so the values
/// the remainder of a slice gets match what the vector code would give.
fn exp(x: f32) -> f32 {
    if x > EXP_MAX {
        return f32::INFINITY;
    }
    if x < EXP_MIN {
        return 0.0;
    }
    let n = (x * LOG2E).round_ties_even();
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    let mut p = P[0];
    for c in &P[1..] {
        p = p.mul_add(r, *c);
    }
    let y = p.mul_add(r * r, r) + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    /// Eight `exp`s at once (see [`super::exp`]).
    #[inline(always)]
    unsafe fn exp8(x: __m256) -> __m256 {
        let too_big = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_MAX), _CMP_GT_OQ);
        let too_small = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_MIN), _CMP_LT_OQ);
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(EXP_MIN)),
            _mm256_set1_ps(EXP_MAX),
        );
        let n = _mm256_round_ps(
            _mm256_mul_ps(x, _mm256_set1_ps(LOG2E)),
            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
        );
        let minus_n = _mm256_sub_ps(_mm256_setzero_ps(), n);
        let r = _mm256_fmadd_ps(minus_n, _mm256_set1_ps(LN2_HI), x);
        let r = _mm256_fmadd_ps(minus_n, _mm256_set1_ps(LN2_LO), r);
        let mut p = _mm256_set1_ps(P[0]);
        for c in &P[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(*c));
        }
        let y = _mm256_add_ps(
            _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r),
            _mm256_set1_ps(1.0),
        );
        let bits = _mm256_slli_epi32(
            _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
            23,
        );
        let e = _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
        let e = _mm256_blendv_ps(e, _mm256_set1_ps(f32::INFINITY), too_big);
        _mm256_blendv_ps(e, _mm256_setzero_ps(), too_small)
    }

    /// [`super::silu_mul`] on whole groups of eight values.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; the lengths are equal multiples of 8.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn silu_mul(gate: &mut [f32], up: &[f32]) {
        let one = _mm256_set1_ps(1.0);
        for (g, u) in gate.chunks_exact_mut(8).zip(up.chunks_exact(8)) {
            let x = _mm256_loadu_ps(g.as_ptr());
            let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
            let silu = _mm256_div_ps(x, _mm256_add_ps(one, e));
            let out = _mm256_mul_ps(silu, _mm256_loadu_ps(u.as_ptr()));
            _mm256_storeu_ps(g.as_mut_ptr(), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_of_the_library_one() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x), x.exp());
            assert!(ulps(got, want) <= 2, "exp({x}) = {got}, library {want}");
            x += 0.0137;
        }
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn every_path_gives_the_portable_bits() {
        // 8 · 1000 values through the vector code and 3 through the scalar
        // tail; the portable path and the same inputs one at a time (all
        // scalar) must match.
        let n = 8003;
        let gate: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 30.0).collect();
        let up: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut portable = gate.clone();
        silu_mul(CpuKernels::portable(), &mut portable, &up);
        for cpu in CpuKernels::available() {
            let mut fast = gate.clone();
            silu_mul(cpu, &mut fast, &up);
            let same = fast
                .iter()
                .zip(&portable)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{cpu}");
        }
        let best = CpuKernels::best();
        let fast = portable;
        for i in 0..n {
            let mut one = [gate[i]];
            silu_mul(best, &mut one, &up[i..i + 1]);
            assert_eq!(
                fast[i].to_bits(),
                one[0].to_bits(),
                "value {i}: {}",
                gate[i]
            );
            let exact = gate[i] as f64 / (1.0 + (-gate[i] as f64).exp()) * up[i] as f64;
            assert!(
                (fast[i] as f64 - exact).abs() <= 1e-6 * exact.abs().max(1e-3),
                "value {i}: {} vs {exact}",
                fast[i]
            );
        }
    }

    #[test]
    fn extreme_gates_saturate_cleanly() {
        for cpu in CpuKernels::available() {
            let mut gate = [-200.0, -90.0, 90.0, 200.0, 0.0, -0.0, 1e-30, -1e-30];
            silu_mul(cpu, &mut gate, &[2.0; 8]);
            assert_eq!(gate[0], -0.0, "{cpu}");
            assert_eq!(gate[1].abs(), 0.0, "{cpu}");
            assert_eq!(gate[2], 180.0, "{cpu}");
            assert_eq!(gate[3], 400.0, "{cpu}");
            assert_eq!(gate[4], 0.0, "{cpu}");
            assert!(gate.iter().all(|v| v.is_finite()), "{cpu}: {gate:?}");
        }
    }
}
