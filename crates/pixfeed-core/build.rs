//! Compiles the C shim over libjpeg-turbo's libjpeg API (csrc/) against the headers of the
//! libjpeg-turbo that `turbojpeg-sys` builds from its vendored source.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/jpeg_shim.c");
    println!("cargo:rerun-if-changed=csrc/jpeg_shim.h");
    println!("cargo:rerun-if-changed=csrc/jpeg_enc.c");
    println!("cargo:rerun-if-changed=csrc/jpeg_huff.c");
    println!("cargo:rerun-if-changed=csrc/jpeg_huff_dispatch.c");
    println!("cargo:rerun-if-env-changed=DEP_TURBOJPEG_INCLUDE");

    // turbojpeg-sys (`links = "turbojpeg"`) prints `cargo:include=a,b,...`.
    let includes: Vec<PathBuf> = env::var("DEP_TURBOJPEG_INCLUDE")
        .expect("turbojpeg-sys did not export its include directory (DEP_TURBOJPEG_INCLUDE)")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    assert!(
        includes.iter().any(|d| d.join("jpeglib.h").is_file()),
        "jpeglib.h not found in DEP_TURBOJPEG_INCLUDE={includes:?}"
    );

    let base = || {
        let mut build = cc::Build::new();
        build
            .include("csrc")
            .includes(&includes)
            .opt_level(2)
            .warnings(true)
            .extra_warnings(true);
        build
    };
    // The C code is compiled for the target's baseline (every x86-64 CPU): no -march here.
    // The MCU decoder (csrc/jpeg_huff.c) is the one routine where x86-64-v3 helps (BMI2
    // shifts in its bit reader), so on x86-64 it is compiled a second time for x86-64-v3
    // under another name; csrc/jpeg_huff_dispatch.c picks one from the CPU's features.
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let huff = |name: &str, flags: &[&str]| -> Vec<PathBuf> {
        let mut build = base();
        build
            .file("csrc/jpeg_huff.c")
            .define("PF_HUFF_NAME", name)
            .out_dir(out_dir.join(name));
        for flag in flags {
            build.flag(flag);
        }
        build.compile_intermediates()
    };
    let mut shim = base();
    shim.file("csrc/jpeg_shim.c")
        .file("csrc/jpeg_huff_dispatch.c")
        // Separate object: only linked into binaries that call the test encoder.
        .file("csrc/jpeg_enc.c")
        .objects(huff("pf_huff_install_base", &[]));
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
        shim.define("PF_HUFF_V3", None)
            .objects(huff("pf_huff_install_v3", &["-march=x86-64-v3"]));
    }
    shim.compile("pixfeed_jpeg_shim");

    // The shim's jpeg_* references resolve against libjpeg-turbo's static library, which
    // must come after the shim on the link line: name it again here (turbojpeg-sys
    // already put its lib directory on the search path, next to the include directory).
    for inc in &includes {
        if let Some(parent) = inc.parent() {
            let lib = parent.join("lib");
            if lib.is_dir() {
                println!("cargo:rustc-link-search=native={}", lib.display());
            }
        }
    }
    println!("cargo:rustc-link-lib=static=turbojpeg");
}
