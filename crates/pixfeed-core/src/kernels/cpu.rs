//! The CPU features the kernels dispatch on, detected once per process: every kernel with
//! an explicit SIMD variant asks here (and `info::simd_level` reports from here), so one
//! place decides which variant runs.

use std::sync::OnceLock;

/// What this CPU offers to pixfeed's kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    pub sse41: bool,
    pub avx2: bool,
    pub avx512bw: bool,
}

/// This CPU's features (detected on first use).
pub fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(detect)
}

/// Whether the AVX2 variants may run.
#[inline]
pub fn avx2() -> bool {
    features().avx2
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    use std::arch::is_x86_feature_detected as has;
    Features {
        sse41: has!("sse4.1"),
        avx2: has!("avx2"),
        avx512bw: has!("avx512bw"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features::default()
}
