//! Which device runs the model: `--device auto|cpu|cuda[:N]|metal`.
//!
//! The choice is parsed once at the binary's edge ([`DeviceChoice`]) and
//! turned into a Candle [`Device`] by [`DeviceChoice::open`]. `auto` takes
//! the first GPU when this build has a GPU feature and a GPU answers, and
//! the CPU otherwise; asking for a GPU by name never falls back silently:
//! a build without the feature, or a machine without the GPU, is an error
//! saying which.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;

/// Environment variable read for `--device` when the flag is not given.
pub const DEVICE_VAR: &str = "KURZ_DEVICE";

/// A device asked for on the command line (or in [`DEVICE_VAR`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The first GPU this build supports and the machine has, else the CPU.
    #[default]
    Auto,
    /// The CPU, with kurz's own kernels.
    Cpu,
    /// The CUDA GPU with this ordinal (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The (first) Metal GPU.
    Metal,
}

/// A device that was asked for and cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    /// The text is not a device name.
    #[error("unknown device '{0}': expected auto, cpu, cuda, cuda:N (N = 0, 1, ...) or metal")]
    Unknown(String),
    /// This binary was built without the feature the device needs.
    #[error(
        "--device {device}: this kurz was built without {feature} support; \
         rebuild with `cargo build --release --features {feature}` or use --device cpu"
    )]
    NotBuilt {
        /// The device as asked for.
        device: String,
        /// The cargo feature (`cuda` or `metal`).
        feature: &'static str,
    },
    /// The feature is there but the GPU is not (no driver, no such ordinal).
    #[error("--device {device}: no usable GPU found ({reason})")]
    Unavailable {
        /// The device as asked for.
        device: String,
        /// What the driver said.
        reason: String,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceError::Unknown(text.to_string());
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            "metal" => Ok(Self::Metal),
            other => {
                let ordinal = other.strip_prefix("cuda:").ok_or_else(unknown)?;
                // Digits only: "+1", " 1" or "1e0" are not ordinals.
                if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(unknown());
                }
                ordinal.parse().map(Self::Cuda).map_err(|_| unknown())
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(ordinal) => write!(f, "cuda:{ordinal}"),
            Self::Metal => f.write_str("metal"),
        }
    }
}

/// A device opened for a run, and the note to print about the choice.
#[derive(Debug, Clone)]
pub struct OpenedDevice {
    /// The Candle device.
    pub device: Device,
    /// One line for the user when `auto` had to settle for the CPU in a
    /// GPU build (a CPU-only build running on the CPU needs no note).
    pub note: Option<String>,
}

impl DeviceChoice {
    /// Opens the device: `auto` tries the GPUs this build supports, then
    /// the CPU; a named GPU is opened or refused with the reason.
    pub fn open(self) -> Result<OpenedDevice, DeviceError> {
        match self {
            Self::Cpu => Ok(on_cpu(None)),
            Self::Cuda(ordinal) => {
                open_cuda(ordinal).map(|device| OpenedDevice { device, note: None })
            }
            Self::Metal => open_metal().map(|device| OpenedDevice { device, note: None }),
            Self::Auto => Ok(open_auto()),
        }
    }
}

/// A short name for `device`, as the manifest and `kurz bench` record it:
/// `cpu`, `cuda:N` or `metal`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { .. } => "metal".to_string(),
    }
}

fn on_cpu(note: Option<String>) -> OpenedDevice {
    OpenedDevice {
        device: Device::Cpu,
        note,
    }
}

/// `auto`: the first GPU that opens; else the CPU, with a note naming why
/// when this build could have used a GPU.
fn open_auto() -> OpenedDevice {
    type Open = fn() -> Result<Device, DeviceError>;
    let gpus: [(bool, Open); 2] = [
        (cfg!(feature = "cuda"), || open_cuda(0)),
        (cfg!(feature = "metal"), open_metal),
    ];
    let mut reasons = Vec::new();
    for (built, open) in gpus {
        if !built {
            continue;
        }
        match open() {
            Ok(device) => return OpenedDevice { device, note: None },
            Err(DeviceError::Unavailable { reason, .. }) => reasons.push(reason),
            Err(other) => reasons.push(other.to_string()),
        }
    }
    let note = (!reasons.is_empty())
        .then(|| format!("no GPU found, running on the CPU ({})", reasons.join("; ")));
    on_cpu(note)
}

#[cfg(feature = "cuda")]
fn open_cuda(ordinal: usize) -> Result<Device, DeviceError> {
    Device::new_cuda(ordinal).map_err(|e| DeviceError::Unavailable {
        device: DeviceChoice::Cuda(ordinal).to_string(),
        reason: format!("no CUDA GPU {ordinal}: {}", first_line(&e.to_string())),
    })
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(ordinal: usize) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt {
        device: DeviceChoice::Cuda(ordinal).to_string(),
        feature: "cuda",
    })
}

#[cfg(feature = "metal")]
fn open_metal() -> Result<Device, DeviceError> {
    Device::new_metal(0).map_err(|e| DeviceError::Unavailable {
        device: "metal".to_string(),
        reason: format!("no Metal GPU: {}", first_line(&e.to_string())),
    })
}

#[cfg(not(feature = "metal"))]
fn open_metal() -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt {
        device: "metal".to_string(),
        feature: "metal",
    })
}

/// The first line of a driver's message (some span many lines).
#[cfg(any(feature = "cuda", feature = "metal"))]
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            ("auto", DeviceChoice::Auto),
            ("", DeviceChoice::Auto),
            ("cpu", DeviceChoice::Cpu),
            ("CPU", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:0", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
            ("metal", DeviceChoice::Metal),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<DeviceChoice>(), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn rejects_anything_else_with_the_accepted_forms() {
        for text in [
            "tpu",
            "cuda:",
            "cuda:-1",
            "cuda:+1",
            "cuda:1e0",
            "cuda:x",
            "cuda:99999999999999999999999",
            "cpu:0",
            "cuda 1",
        ] {
            let err = text.parse::<DeviceChoice>().unwrap_err();
            assert!(matches!(err, DeviceError::Unknown(_)), "{text:?}");
            assert!(
                err.to_string().contains("expected auto, cpu, cuda, cuda:N"),
                "{err}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for choice in [
            DeviceChoice::Auto,
            DeviceChoice::Cpu,
            DeviceChoice::Cuda(2),
            DeviceChoice::Metal,
        ] {
            assert_eq!(choice.to_string().parse::<DeviceChoice>(), Ok(choice));
        }
    }

    #[test]
    fn cpu_always_opens_without_a_note() {
        let opened = DeviceChoice::Cpu.open().unwrap();
        assert!(opened.device.is_cpu());
        assert!(opened.note.is_none());
        assert_eq!(device_name(&opened.device), "cpu");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_in_a_cpu_build_says_how_to_get_it() {
        let err = DeviceChoice::Cuda(1).open().unwrap_err();
        assert_eq!(
            err.to_string(),
            "--device cuda:1: this kurz was built without cuda support; \
             rebuild with `cargo build --release --features cuda` or use --device cpu"
        );
    }

    #[cfg(not(any(feature = "cuda", feature = "metal")))]
    #[test]
    fn auto_in_a_cpu_build_is_the_cpu_quietly() {
        let opened = DeviceChoice::Auto.open().unwrap();
        assert!(opened.device.is_cpu());
        assert_eq!(opened.note, None);
    }

    /// In a CUDA build on a machine without a GPU (CI), `auto` settles for
    /// the CPU and says why, and naming the GPU is an error.
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_build_without_a_gpu_falls_back_only_for_auto() {
        if Device::new_cuda(0).is_ok() {
            eprintln!(
                "SKIPPED cuda_build_without_a_gpu_falls_back_only_for_auto: this machine has a GPU"
            );
            return;
        }
        let opened = DeviceChoice::Auto.open().unwrap();
        assert!(opened.device.is_cpu());
        let note = opened.note.expect("a note saying why the CPU runs");
        assert!(
            note.starts_with("no GPU found, running on the CPU (no CUDA GPU 0: "),
            "{note}"
        );
        let err = DeviceChoice::Cuda(0).open().unwrap_err();
        assert!(matches!(err, DeviceError::Unavailable { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("--device cuda:0: no usable GPU found (no CUDA GPU 0"),
            "{err}"
        );
    }
}
