//! Geometry for detection and labeling (docs/toolkit.md): boxes (IoU, format conversion),
//! non-maximum suppression, polygons (area, exact IoU, point tests, simplification), the
//! YOLO letterbox pre-transform and YOLO output post-processing.
//!
//! Box conventions follow torchvision: `(x1, y1, x2, y2)` corners as floats, flat row-major
//! slices of `4 * n` values. Arithmetic on boxes runs in the caller's float type (`f32` or
//! `f64`, see [`Real`]) so that results are bit-identical to torchvision's on tensors of
//! that dtype. Polygons are `f64` `(x, y)` vertices.

pub mod boxes;
pub mod letterbox;
pub mod nms;
pub mod polygon;
pub mod simplify;
pub mod yolo;

use std::ops::{Add, Div, Mul, Sub};

/// The float types box arithmetic runs in (`f32` and `f64`).
pub trait Real:
    Copy
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
    + std::fmt::Display
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + 'static
{
    const ZERO: Self;
    const HALF: Self;
    const TWO: Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn is_finite(self) -> bool;
    fn is_nan(self) -> bool;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const HALF: Self = 0.5;
    const TWO: Self = 2.0;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const HALF: Self = 0.5;
    const TWO: Self = 2.0;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// `std::max` as C++ defines it for floats (`a < b ? b : a`); inputs are never NaN here.
#[inline(always)]
pub(crate) fn fmax<T: Real>(a: T, b: T) -> T {
    if a < b {
        b
    } else {
        a
    }
}

/// `std::min` as C++ defines it for floats (`b < a ? b : a`).
#[inline(always)]
pub(crate) fn fmin<T: Real>(a: T, b: T) -> T {
    if b < a {
        b
    } else {
        a
    }
}

/// Exact sign of the orientation of `(a, b, c)`: positive when counter-clockwise (y up),
/// negative when clockwise, zero when collinear. Shewchuk's adaptive predicate: a float
/// fast path, exact arithmetic only when the float result is too close to call. The
/// returned magnitude approximates twice the triangle's signed area.
#[inline]
pub(crate) fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    robust::orient2d(
        robust::Coord { x: a[0], y: a[1] },
        robust::Coord { x: b[0], y: b[1] },
        robust::Coord { x: c[0], y: c[1] },
    )
}
