//! Geometry of augmentations: where to crop, as pure functions of image size and a per-sample
//! random stream (no pixels here).

pub mod random_resized_crop;

pub use random_resized_crop::{random_resized_crop_box, CropSampling};
