//! Image sources that are not regular files: a FIFO and a character device are errors at
//! once (reading `/dev/zero` never ends; opening a FIFO waits for a writer), never a hang.

use std::path::Path;

use pixfeed_core::{decode_source, probe_source, DecodeOptions, Error, Source};

fn assert_not_regular(err: Error, path: &Path) {
    match err {
        Error::Io { path: p, err } => {
            assert_eq!(p, path.display().to_string());
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn fifo_and_device_are_errors() {
    let dir = std::env::temp_dir().join(format!("pixfeed-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe.jpg");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for path in [fifo.as_path(), Path::new("/dev/zero")] {
        let opts = DecodeOptions::default();
        assert_not_regular(decode_source(Source::Path(path), &opts).unwrap_err(), path);
        assert_not_regular(probe_source(Source::Path(path)).unwrap_err(), path);
        let member = Source::Member {
            path,
            offset: 0,
            size: 16,
        };
        assert_not_regular(decode_source(member, &opts).unwrap_err(), path);
        assert_not_regular(pixfeed_core::tar::index(path).unwrap_err(), path);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
