//! pixfeed-core: decoders, kernels and pipelines in pure Rust. No Python here: the
//! `pixfeed-py` crate is the thin binding layer.

pub mod codecs;
pub mod error;
pub mod image;

pub use error::{DecodeErrorKind, Error, Result};
pub use image::{Image, PixelData, Rect};
