//! Geometry of augmentations: where to crop, as pure functions of image size and a per-sample
//! random stream (no pixels here).

pub mod boxes;
pub mod random_resized_crop;

pub use boxes::{center_box, relative_box, BoxF, RelativeCrop};
pub use random_resized_crop::{random_resized_crop_box, CropSampling};
