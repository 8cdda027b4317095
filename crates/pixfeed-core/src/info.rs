//! Build and runtime facts for `pixfeed info`.

/// (codec, library and version) pairs compiled in.
pub fn codecs() -> Vec<(&'static str, String)> {
    vec![
        (
            "jpeg",
            format!(
                "libjpeg-turbo {}",
                crate::codecs::jpeg::libjpeg_turbo_version()
            ),
        ),
        ("png", "png (Rust crate) 0.18".to_string()),
        ("bmp", "pixfeed".to_string()),
        ("webp", "image-webp (Rust crate) 0.2".to_string()),
    ]
}

/// The build of the JPEG MCU decoder chosen for this CPU (`"x86-64-v3"` or `"baseline"`).
pub fn jpeg_decoder_build() -> &'static str {
    crate::codecs::jpeg::huff_decoder_variant()
}

/// The widest SIMD level this CPU offers to pixfeed's kernels and libjpeg-turbo.
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        let cpu = crate::kernels::cpu::features();
        if cpu.avx512bw {
            return "avx512bw";
        }
        if cpu.avx2 {
            return "avx2";
        }
        if cpu.sse41 {
            return "sse4.1";
        }
        "sse2"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "none"
    }
}

#[cfg(test)]
mod tests {
    /// The C side's CPUID check (csrc/jpeg_huff_dispatch.c) agrees with the standard
    /// library's feature detection on every x86-64-v3 feature.
    #[test]
    fn jpeg_decoder_build_follows_the_cpu() {
        let build = super::jpeg_decoder_build();
        let forced = std::env::var("PIXFEED_JPEG_HUFF").as_deref() == Ok("baseline");
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let v3 = has!("avx")
                && has!("avx2")
                && has!("bmi1")
                && has!("bmi2")
                && has!("fma")
                && has!("f16c")
                && has!("lzcnt")
                && has!("movbe")
                && has!("xsave");
            let want = if v3 && !forced {
                "x86-64-v3"
            } else {
                "baseline"
            };
            assert_eq!(build, want);
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(build, "baseline", "forced: {forced}");
    }
}
