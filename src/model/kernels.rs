//! Which SIMD code kurz's CPU kernels run: chosen once per process, when
//! the model loads, and handed to every kernel (quantized products,
//! activation quantization, decode attention, its softmax, SwiGLU).
//!
//! Four paths, by the names `KURZ_KERNELS` takes ([`KERNELS_VAR`]):
//! - `portable`: plain Rust loops on any CPU, the reference the SIMD code
//!   is tested against;
//! - `candle`: the quantized matrix products through Candle's own kernels
//!   (its SIMD code for the target: NEON on aarch64), everything else
//!   portable; the default where kurz has no SIMD code of its own (any CPU
//!   but x86-64 with AVX2);
//! - `avx2`: x86-64 AVX2 with FMA and F16C: Q4_K/Q6_K tiles of 8 rows,
//!   dot products on the file's blocks for the other formats, vector
//!   activation quantization, one-head attention, SwiGLU;
//! - `avx512`: `avx2` plus AVX-512 F, BW, VL and VNNI: Q4_K/Q6_K tiles of
//!   16 rows, grouped-head attention, vector softmax exponentials.
//!
//! A [`CpuKernels`] is the only way to ask a kernel for SIMD code, and one
//! is only ever made for a path whose CPU features were found present: the
//! `unsafe` calls behind it never meet an instruction the CPU lacks, even
//! when a path is forced.

use std::fmt;

/// The environment variable that forces a path (`portable`, `candle`,
/// `avx2`, `avx512`; unset, empty or `auto`: the best this CPU runs). The binary
/// reads it ([`CpuKernels::from_setting`] parses it); the library never
/// does.
pub const KERNELS_VAR: &str = "KURZ_KERNELS";

/// A kernel path, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable scalar code.
    Portable,
    /// Candle's quantized products, portable code for the rest.
    Candle,
    /// x86-64 AVX2 with FMA and F16C.
    Avx2,
    /// AVX2 plus AVX-512 F, BW, VL and VNNI.
    Avx512,
}

impl Isa {
    /// Every path, slowest first.
    pub const ALL: [Isa; 4] = [Isa::Portable, Isa::Candle, Isa::Avx2, Isa::Avx512];

    /// The name `KURZ_KERNELS` takes and reports print.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Candle => "candle",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The CPU features the path's code uses, as
    /// `is_x86_feature_detected!` names them: every `target_feature` the
    /// path's kernels enable.
    pub fn required_features(self) -> &'static [&'static str] {
        match self {
            Isa::Portable | Isa::Candle => &[],
            Isa::Avx2 => &["avx2", "fma", "f16c"],
            Isa::Avx512 => &[
                "avx2",
                "fma",
                "f16c",
                "avx512f",
                "avx512bw",
                "avx512vl",
                "avx512vnni",
            ],
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a `KURZ_KERNELS` value cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelsError {
    /// The value names no path.
    #[error(
        "{var}={value}: unknown kernel path; expected portable, candle, avx2, avx512 or auto",
        var = KERNELS_VAR
    )]
    Unknown {
        /// The value as given.
        value: String,
    },
    /// The path needs CPU features this CPU does not have.
    #[error("{var}={isa}: this CPU lacks {}", .missing.join(", "), var = KERNELS_VAR)]
    Unsupported {
        /// The path asked for.
        isa: Isa,
        /// The features it needs that the CPU lacks.
        missing: Vec<&'static str>,
    },
}

/// A kernel path this CPU was checked to run. Kernels take one and use
/// SIMD code only as far as it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuKernels {
    isa: Isa,
}

impl CpuKernels {
    /// The portable path, which every CPU runs.
    pub fn portable() -> Self {
        Self { isa: Isa::Portable }
    }

    /// The fastest path this CPU runs: `avx512` or `avx2` where the CPU
    /// has their features, else `candle` (never `portable`, the
    /// reference, which only `KURZ_KERNELS` picks).
    pub fn best() -> Self {
        best_with(&cpu_has)
    }

    /// `isa`, when this CPU has every feature it needs.
    pub fn new(isa: Isa) -> Result<Self, KernelsError> {
        checked(isa, &cpu_has)
    }

    /// The path a `KURZ_KERNELS` value asks for: `None`, an empty value or
    /// `auto` is [`Self::best`]; `portable`, `candle`, `avx2` or `avx512`
    /// (any case, blanks around ignored) that path, when this CPU runs it.
    pub fn from_setting(value: Option<&str>) -> Result<Self, KernelsError> {
        choose(value, &cpu_has)
    }

    /// Every path this CPU runs, portable first (for comparing them).
    pub fn available() -> Vec<Self> {
        Isa::ALL
            .into_iter()
            .filter_map(|isa| Self::new(isa).ok())
            .collect()
    }

    /// The path.
    pub fn isa(self) -> Isa {
        self.isa
    }

    /// Whether code needing AVX2, FMA and F16C may run (the `avx2` and
    /// `avx512` paths).
    pub fn avx2(self) -> bool {
        self.isa >= Isa::Avx2
    }

    /// Whether code needing AVX-512 F, BW, VL and VNNI (besides AVX2, FMA
    /// and F16C) may run.
    pub fn avx512(self) -> bool {
        self.isa == Isa::Avx512
    }
}

impl fmt::Display for CpuKernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.isa.fmt(f)
    }
}

/// [`CpuKernels::from_setting`] on a CPU described by `has`.
fn choose(value: Option<&str>, has: &dyn Fn(&str) -> bool) -> Result<CpuKernels, KernelsError> {
    let name = value.unwrap_or("").trim().to_ascii_lowercase();
    if name.is_empty() || name == "auto" {
        return Ok(best_with(has));
    }
    let isa = Isa::ALL
        .into_iter()
        .find(|isa| isa.name() == name)
        .ok_or_else(|| KernelsError::Unknown {
            value: value.unwrap_or_default().to_string(),
        })?;
    checked(isa, has)
}

/// [`CpuKernels::new`] on a CPU described by `has`.
fn checked(isa: Isa, has: &dyn Fn(&str) -> bool) -> Result<CpuKernels, KernelsError> {
    let missing: Vec<&'static str> = isa
        .required_features()
        .iter()
        .copied()
        .filter(|feature| !has(feature))
        .collect();
    if missing.is_empty() {
        Ok(CpuKernels { isa })
    } else {
        Err(KernelsError::Unsupported { isa, missing })
    }
}

/// [`CpuKernels::best`] on a CPU described by `has`.
fn best_with(has: &dyn Fn(&str) -> bool) -> CpuKernels {
    Isa::ALL
        .into_iter()
        .rev()
        .find_map(|isa| checked(isa, has).ok())
        .unwrap_or_else(CpuKernels::portable)
}

/// Whether this CPU (and the OS, for the AVX registers) supports
/// `feature`, one of the names [`Isa::required_features`] uses.
fn cpu_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx2" => is_x86_feature_detected!("avx2"),
            "fma" => is_x86_feature_detected!("fma"),
            "f16c" => is_x86_feature_detected!("f16c"),
            "avx512f" => is_x86_feature_detected!("avx512f"),
            "avx512bw" => is_x86_feature_detected!("avx512bw"),
            "avx512vl" => is_x86_feature_detected!("avx512vl"),
            "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CPU with exactly `features`.
    fn cpu(features: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |feature: &str| features.contains(&feature)
    }

    const ZEN3: &[&str] = &["avx2", "fma", "f16c"];
    const ZEN4: &[&str] = &[
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512vnni",
    ];
    /// Skylake-SP: AVX-512 without VNNI.
    const SKYLAKE_SP: &[&str] = &["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"];

    fn isa(value: Option<&str>, has: &dyn Fn(&str) -> bool) -> Result<Isa, KernelsError> {
        choose(value, has).map(CpuKernels::isa)
    }

    #[test]
    fn unset_empty_and_auto_pick_the_best_path() {
        for value in [None, Some(""), Some("  "), Some("auto"), Some("AUTO")] {
            assert_eq!(isa(value, &cpu(ZEN4)), Ok(Isa::Avx512), "{value:?}");
            assert_eq!(isa(value, &cpu(ZEN3)), Ok(Isa::Avx2), "{value:?}");
            assert_eq!(isa(value, &cpu(SKYLAKE_SP)), Ok(Isa::Avx2), "{value:?}");
            // No kurz SIMD code (aarch64, or x86-64 before AVX2):
            // Candle's products, never the scalar reference.
            assert_eq!(isa(value, &cpu(&[])), Ok(Isa::Candle), "{value:?}");
            assert_eq!(isa(value, &cpu(&["avx2", "fma"])), Ok(Isa::Candle));
        }
    }

    #[test]
    fn a_named_path_is_forced_where_the_cpu_runs_it() {
        assert_eq!(isa(Some("portable"), &cpu(ZEN4)), Ok(Isa::Portable));
        assert_eq!(isa(Some("avx2"), &cpu(ZEN4)), Ok(Isa::Avx2));
        assert_eq!(isa(Some(" AVX512\n"), &cpu(ZEN4)), Ok(Isa::Avx512));
        assert_eq!(isa(Some("portable"), &cpu(&[])), Ok(Isa::Portable));
        assert_eq!(isa(Some("candle"), &cpu(ZEN4)), Ok(Isa::Candle));
        assert_eq!(isa(Some("Candle"), &cpu(&[])), Ok(Isa::Candle));
        assert_eq!(isa(Some("avx2"), &cpu(ZEN3)), Ok(Isa::Avx2));
    }

    #[test]
    fn a_path_the_cpu_cannot_run_names_what_it_lacks() {
        let err = choose(Some("avx512"), &cpu(ZEN3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KURZ_KERNELS=avx512: this CPU lacks avx512f, avx512bw, avx512vl, avx512vnni"
        );
        let err = choose(Some("avx512"), &cpu(SKYLAKE_SP)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KURZ_KERNELS=avx512: this CPU lacks avx512vnni"
        );
        let err = choose(Some("avx2"), &cpu(&["avx2", "fma"])).unwrap_err();
        assert_eq!(err.to_string(), "KURZ_KERNELS=avx2: this CPU lacks f16c");
    }

    #[test]
    fn an_unknown_value_is_an_error_quoting_it() {
        for value in ["bogus", "sse4", "avx-512", "neon", "avx2,avx512", "candle2"] {
            let err = choose(Some(value), &cpu(ZEN4)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "KURZ_KERNELS={value}: unknown kernel path; expected portable, candle, avx2, avx512 or auto"
                )
            );
        }
    }

    #[test]
    fn names_round_trip_and_paths_nest() {
        for isa in Isa::ALL {
            assert_eq!(
                choose(Some(isa.name()), &cpu(ZEN4)).map(|k| k.isa()),
                Ok(isa)
            );
            assert_eq!(isa.to_string(), isa.name());
        }
        // Each path needs everything the slower ones need.
        for pair in Isa::ALL.windows(2) {
            let (slower, faster) = (pair[0], pair[1]);
            for feature in slower.required_features() {
                assert!(faster.required_features().contains(feature), "{feature}");
            }
        }
    }

    #[test]
    fn this_cpu_runs_portable_and_its_best_path() {
        let available = CpuKernels::available();
        assert_eq!(available.first(), Some(&CpuKernels::portable()));
        assert!(available.iter().any(|k| k.isa() == Isa::Candle));
        assert_eq!(available.last(), Some(&CpuKernels::best()));
        for kernels in &available {
            assert_eq!(CpuKernels::new(kernels.isa()).as_ref(), Ok(kernels));
        }
        let best = CpuKernels::best();
        assert_eq!(best.avx2(), best.isa() >= Isa::Avx2);
        assert_eq!(best.avx512(), best.isa() == Isa::Avx512);
    }
}
