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

    let mut build = cc::Build::new();
    build
        .file("csrc/jpeg_shim.c")
        .file("csrc/jpeg_huff.c")
        // Separate object: only linked into binaries that call the test encoder.
        .file("csrc/jpeg_enc.c")
        .include("csrc")
        .includes(&includes)
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true);
    build.compile("pixfeed_jpeg_shim");

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
