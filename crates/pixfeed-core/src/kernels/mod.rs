//! Pixel kernels over `ImageView`s: each writes a whole contiguous destination image.
//! Batch parallelism lives in `crate::pool`; kernels are single-threaded and deterministic.

pub mod color;
pub mod cpu;
pub mod crop;
pub mod flip;
pub mod luminance;
pub mod normalize;
pub mod resize;
