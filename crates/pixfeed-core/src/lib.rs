//! pixfeed-core: decoders, kernels and pipelines in pure Rust. No Python here: the
//! `pixfeed-py` crate is the thin binding layer.

pub mod batch;
pub mod codecs;
pub mod convert;
pub mod decode;
pub mod detect;
pub mod error;
pub mod geometry;
pub mod image;
pub mod info;
pub mod kernels;
pub mod names;
pub mod orient;
pub mod pipeline;
pub mod pool;
pub mod rng;
pub mod sampler;
pub mod scan;
pub mod source;
pub mod tar;

pub use codecs::{Format, Mode};
pub use decode::{decode, decode_source, probe, probe_source, DecodeOptions, ImageInfo};
pub use error::{DecodeErrorKind, Error, Result};
pub use image::{Image, PixelData, Rect};
pub use source::Source;
