//! Axis-aligned boxes: validation, pairwise IoU and format conversion, with torchvision's
//! arithmetic (`torchvision.ops.box_iou`, `box_convert`) so results match it bit for bit.

use super::{fmax, fmin, Real};
use crate::{Error, Result};

/// Box layouts of `box_convert` (torchvision's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxFormat {
    /// Corners `(x1, y1, x2, y2)`.
    Xyxy,
    /// Top-left corner and size `(x, y, w, h)`.
    Xywh,
    /// Centre and size `(cx, cy, w, h)`.
    Cxcywh,
}

impl BoxFormat {
    pub fn parse(name: &str, arg: &'static str) -> Result<Self> {
        match name {
            "xyxy" => Ok(BoxFormat::Xyxy),
            "xywh" => Ok(BoxFormat::Xywh),
            "cxcywh" => Ok(BoxFormat::Cxcywh),
            _ => Err(Error::invalid(
                arg,
                format!("unknown box format {name:?} (expected 'xyxy', 'xywh' or 'cxcywh')"),
            )),
        }
    }
}

/// Check that `boxes` (flat, `4 * n` values) are finite xyxy boxes with `x1 <= x2` and
/// `y1 <= y2`; the error names `arg` and the first offending box. Zero-width or zero-height
/// boxes are valid (their IoU with anything is 0, or NaN against another empty box, as in
/// torchvision).
pub fn validate_xyxy<T: Real>(boxes: &[T], arg: &'static str) -> Result<()> {
    if boxes.len() % 4 != 0 {
        return Err(Error::invalid(arg, "expected an (N, 4) array"));
    }
    for (i, b) in boxes.chunks_exact(4).enumerate() {
        // One branch-free test for the common case, details only on failure.
        let ok = b[0].is_finite()
            && b[1].is_finite()
            && b[2].is_finite()
            && b[3].is_finite()
            && b[0] <= b[2]
            && b[1] <= b[3];
        if !ok {
            let what = if !b.iter().all(|v| v.is_finite()) {
                "has a non-finite coordinate"
            } else if b[2] < b[0] {
                "has x2 < x1"
            } else {
                "has y2 < y1"
            };
            return Err(Error::invalid(
                arg,
                format!(
                    "box {i} [{}, {}, {}, {}] {what} (expected (x1, y1, x2, y2) with x1 <= x2 \
                     and y1 <= y2)",
                    b[0], b[1], b[2], b[3]
                ),
            ));
        }
    }
    Ok(())
}

/// `(x2 - x1) * (y2 - y1)`, torchvision's `box_area`.
#[inline(always)]
pub fn area<T: Real>(b: &[T]) -> T {
    (b[2] - b[0]) * (b[3] - b[1])
}

/// IoU of two xyxy boxes given their areas, with torchvision's operation order
/// (`inter / (area_a + area_b - inter)`; NaN when both boxes are empty).
#[inline(always)]
pub fn iou_with_areas<T: Real>(a: &[T], area_a: T, b: &[T], area_b: T) -> T {
    let w = fmax(T::ZERO, fmin(a[2], b[2]) - fmax(a[0], b[0]));
    let h = fmax(T::ZERO, fmin(a[3], b[3]) - fmax(a[1], b[1]));
    let inter = w * h;
    inter / (area_a + area_b - inter)
}

/// The `(n, m)` IoU matrix of `a` (`4 * n` values) and `b` (`4 * m`), written row-major into
/// `out`. Rows run in parallel on the pool for large inputs. Both sets must be validated.
pub fn box_iou_into<T: Real>(
    a: &[T],
    b: &[T],
    out: &mut [T],
    threads: Option<usize>,
) -> Result<()> {
    let (n, m) = (a.len() / 4, b.len() / 4);
    debug_assert_eq!(out.len(), n * m);
    if n == 0 || m == 0 {
        return Ok(());
    }
    let areas_b: Vec<T> = b.chunks_exact(4).map(area).collect();
    let row = |i: usize, dst: &mut [T]| {
        let bi = &a[4 * i..4 * i + 4];
        let ai = area(bi);
        for ((o, bj), &aj) in dst.iter_mut().zip(b.chunks_exact(4)).zip(&areas_b) {
            *o = iou_with_areas(bi, ai, bj, aj);
        }
    };
    if n * m < 1 << 16 || threads == Some(1) {
        out.chunks_exact_mut(m)
            .enumerate()
            .for_each(|(i, d)| row(i, d));
        return Ok(());
    }
    use rayon::prelude::*;
    let rows_per_task = ((1 << 14) / m).max(1);
    crate::pool::install_for(n.div_ceil(rows_per_task), threads, || {
        out.par_chunks_mut(rows_per_task * m)
            .enumerate()
            .for_each(|(t, chunk)| {
                for (k, d) in chunk.chunks_exact_mut(m).enumerate() {
                    row(t * rows_per_task + k, d);
                }
            })
    })
}

#[inline(always)]
fn to_xyxy<T: Real>(b: &[T], from: BoxFormat) -> [T; 4] {
    match from {
        BoxFormat::Xyxy => [b[0], b[1], b[2], b[3]],
        BoxFormat::Xywh => [b[0], b[1], b[0] + b[2], b[1] + b[3]],
        BoxFormat::Cxcywh => {
            let (hw, hh) = (T::HALF * b[2], T::HALF * b[3]);
            [b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh]
        }
    }
}

#[inline(always)]
fn from_xyxy<T: Real>(b: [T; 4], to: BoxFormat) -> [T; 4] {
    match to {
        BoxFormat::Xyxy => b,
        BoxFormat::Xywh => [b[0], b[1], b[2] - b[0], b[3] - b[1]],
        BoxFormat::Cxcywh => [
            (b[0] + b[2]) / T::TWO,
            (b[1] + b[3]) / T::TWO,
            b[2] - b[0],
            b[3] - b[1],
        ],
    }
}

/// Convert boxes between formats in place of a copy, the way `torchvision.ops.box_convert`
/// does: conversions between two non-xyxy formats go through xyxy, so the rounding is
/// torchvision's. Any values are accepted (no validation: this is pure arithmetic).
pub fn box_convert_into<T: Real>(src: &[T], dst: &mut [T], from: BoxFormat, to: BoxFormat) {
    debug_assert_eq!(src.len(), dst.len());
    if from == to {
        dst.copy_from_slice(src);
        return;
    }
    for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(4)) {
        d.copy_from_slice(&from_xyxy(to_xyxy(s, from), to));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_basic() {
        let a = [0.0f32, 0.0, 10.0, 10.0, 5.0, 5.0, 15.0, 15.0];
        let b = [0.0f32, 0.0, 10.0, 10.0, 20.0, 20.0, 30.0, 30.0];
        let mut out = [0.0f32; 4];
        box_iou_into(&a, &b, &mut out, None).unwrap();
        assert_eq!(out[0], 1.0);
        assert_eq!(out[1], 0.0);
        assert!((out[2] - 25.0 / 175.0).abs() < 1e-7);
        assert_eq!(out[3], 0.0);
    }

    #[test]
    fn empty_boxes_give_nan_or_zero() {
        let e = [1.0f64, 1.0, 1.0, 1.0];
        let f = [0.0f64, 0.0, 2.0, 2.0];
        assert!(iou_with_areas(&e, area(&e), &e, area(&e)).is_nan());
        assert_eq!(iou_with_areas(&e, area(&e), &f, area(&f)), 0.0);
    }

    #[test]
    fn large_parallel_matches_serial() {
        let n = 300;
        let a: Vec<f64> = (0..n)
            .flat_map(|i| {
                let x = (i * 7 % 100) as f64;
                let y = (i * 13 % 100) as f64;
                [x, y, x + 10.0 + (i % 5) as f64, y + 12.0]
            })
            .collect();
        let mut par = vec![0.0; n * n];
        let mut ser = vec![0.0; n * n];
        box_iou_into(&a, &a, &mut par, None).unwrap();
        box_iou_into(&a, &a, &mut ser, Some(1)).unwrap();
        assert_eq!(
            par.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            ser.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        for i in 0..n {
            assert_eq!(par[i * n + i], 1.0);
        }
    }

    #[test]
    fn validation_names_the_box() {
        let good = [0.0f32, 0.0, 1.0, 1.0];
        assert!(validate_xyxy(&good, "boxes").is_ok());
        let bad = [0.0f32, 0.0, 1.0, 1.0, 5.0, 0.0, 4.0, 1.0];
        let e = validate_xyxy(&bad, "boxes").unwrap_err().to_string();
        assert!(
            e.contains("boxes") && e.contains("box 1") && e.contains("x2 < x1"),
            "{e}"
        );
        let nan = [0.0f64, f64::NAN, 1.0, 1.0];
        let e = validate_xyxy(&nan, "a").unwrap_err().to_string();
        assert!(e.contains("non-finite"), "{e}");
        let flat = [0.0f32, 2.0, 1.0, 1.0];
        assert!(validate_xyxy(&flat, "b")
            .unwrap_err()
            .to_string()
            .contains("y2 < y1"));
    }

    #[test]
    fn convert_round_trips() {
        let xyxy = [1.0f64, 2.0, 5.0, 10.0];
        let mut out = [0.0; 4];
        box_convert_into(&xyxy, &mut out, BoxFormat::Xyxy, BoxFormat::Xywh);
        assert_eq!(out, [1.0, 2.0, 4.0, 8.0]);
        box_convert_into(&xyxy, &mut out, BoxFormat::Xyxy, BoxFormat::Cxcywh);
        assert_eq!(out, [3.0, 6.0, 4.0, 8.0]);
        let c = out;
        box_convert_into(&c, &mut out, BoxFormat::Cxcywh, BoxFormat::Xyxy);
        assert_eq!(out, xyxy);
        box_convert_into(&c, &mut out, BoxFormat::Cxcywh, BoxFormat::Xywh);
        assert_eq!(out, [1.0, 2.0, 4.0, 8.0]);
        let w = out;
        box_convert_into(&w, &mut out, BoxFormat::Xywh, BoxFormat::Cxcywh);
        assert_eq!(out, c);
        assert!(BoxFormat::parse("yxyx", "in_fmt").is_err());
    }
}
