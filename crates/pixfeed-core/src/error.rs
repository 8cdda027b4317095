//! The one error type of the core. The bindings map each variant to a Python exception
//! (see `crates/pixfeed-py/src/errors.rs`); the source name is attached there.

use std::fmt;

/// Why a decode failed, used to pick the message and the Python exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The data ends before the image does.
    Truncated,
    /// The data is not a valid image of its format.
    Corrupt,
    /// Valid, but uses a feature pixfeed does not decode.
    Unsupported,
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeErrorKind::Truncated => "truncated",
            DecodeErrorKind::Corrupt => "corrupt",
            DecodeErrorKind::Unsupported => "unsupported",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the source failed (missing file, a directory, permission...).
    #[error("{path}: {err}")]
    Io {
        path: String,
        #[source]
        err: std::io::Error,
    },
    /// The bytes are not a format pixfeed recognizes.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    /// The header says the image is larger than the caller's `max_pixels`.
    #[error("image is {width}x{height} = {pixels} pixels, above max_pixels={max_pixels}")]
    TooLarge {
        width: u64,
        height: u64,
        pixels: u64,
        max_pixels: u64,
    },
    /// The data is corrupt, truncated or uses an unsupported feature.
    #[error("{format} {kind}: {reason}")]
    Decode {
        format: &'static str,
        kind: DecodeErrorKind,
        reason: String,
    },
    /// A tar shard is cut short or corrupt at byte `offset` (the shard is named by the
    /// caller), or a member's data cannot be read where the index says it is.
    #[error("tar {kind} at byte {offset}: {reason}")]
    Shard {
        kind: DecodeErrorKind,
        offset: u64,
        reason: String,
    },
    /// An argument is out of its domain; `arg` names it.
    #[error("{arg}: {reason}")]
    InvalidArgument { arg: &'static str, reason: String },
    /// A bug in pixfeed (a caught panic). Never expected; reported rather than aborting.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn corrupt(format: &'static str, reason: impl Into<String>) -> Self {
        Error::Decode {
            format,
            kind: DecodeErrorKind::Corrupt,
            reason: reason.into(),
        }
    }
    pub fn truncated(format: &'static str, reason: impl Into<String>) -> Self {
        Error::Decode {
            format,
            kind: DecodeErrorKind::Truncated,
            reason: reason.into(),
        }
    }
    pub fn unsupported(format: &'static str, reason: impl Into<String>) -> Self {
        Error::Decode {
            format,
            kind: DecodeErrorKind::Unsupported,
            reason: reason.into(),
        }
    }
    pub fn invalid(arg: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            arg,
            reason: reason.into(),
        }
    }
}

/// Run `f`, turning a panic into `Error::Internal` so it never unwinds into a caller that
/// cannot take it (the Python interpreter, a rayon batch where other items must finish).
pub fn catch_panic<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        Err(Error::Internal(msg))
    })
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
