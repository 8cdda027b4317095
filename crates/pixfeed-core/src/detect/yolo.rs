//! YOLO output post-processing: confidence filter, best class, cxcywh -> xyxy, per-class
//! NMS, cap; for the two output layouts in use:
//!
//! - YOLOv5 `(B, N, 5 + nc)`: per anchor `cx, cy, w, h, objectness, class scores...`;
//!   anchors need `obj > conf`, then score = `obj * cls` (float32, as yolov5 multiplies the
//!   row), best class by first maximum, kept when `score > conf`.
//! - YOLOv8 / YOLO11 `(B, 4 + nc, N)`: per anchor (a column) `cx, cy, w, h, class
//!   scores...`; best class score must exceed `conf`.
//!
//! As ultralytics' `non_max_suppression` (multi_label = False), except: NMS is exactly
//! per class (ultralytics shifts boxes by `cls * 7680` and runs one NMS, which rounds the
//! shifted float32 coordinates), and there is no 30,000-candidate cap before NMS.

use super::nms::select;
use crate::{Error, Result};

/// Which YOLO output layout an array is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YoloLayout {
    /// `(B, N, 5 + nc)`.
    V5,
    /// `(B, 4 + nc, N)` (YOLOv8, YOLO11).
    V8,
}

crate::names::named!(
    YoloLayout,
    "layout",
    Or,
    [("v5", YoloLayout::V5), ("v8", YoloLayout::V8)]
);

/// What `yolo_postprocess` keeps.
#[derive(Debug, Clone)]
pub struct YoloOptions {
    /// Keep detections whose score is above this (compared in float32, as torch does).
    pub conf: f32,
    /// NMS IoU threshold.
    pub iou: f64,
    /// At most this many detections per image.
    pub max_det: usize,
    /// Only these class ids, when given.
    pub classes: Option<Vec<i64>>,
    /// NMS across classes (a box suppresses boxes of any class).
    pub agnostic: bool,
}

const ACCEPTED: &str = "expected a YOLOv5 output (B, N, 5 + nc) or a YOLOv8/YOLO11 output \
                        (B, 4 + nc, N), with nc >= 1 classes";

/// The layout of a `(batch, d1, d2)` output and its class count. Without a hint, the
/// smaller of `d1`, `d2` is the per-anchor row (YOLOv8 when it is `d1`), unless one of them
/// is 0 (no anchors).
pub fn resolve_layout(shape: [usize; 3], hint: Option<YoloLayout>) -> Result<(YoloLayout, usize)> {
    let [b, d1, d2] = shape;
    // With no anchors the other dimension tells: (B, 0, 5 + nc) or (B, 4 + nc, 0).
    let layout = hint.unwrap_or(if d1 == 0 || (d2 != 0 && d1 >= d2) {
        YoloLayout::V5
    } else {
        YoloLayout::V8
    });
    match layout {
        YoloLayout::V8 if d1 >= 5 => Ok((layout, d1 - 4)),
        YoloLayout::V5 if d2 >= 6 => Ok((layout, d2 - 5)),
        _ => {
            let read = match (hint, layout) {
                (None, YoloLayout::V8) => " (read as YOLOv8: fewer rows than anchors)",
                (None, YoloLayout::V5) => " (read as YOLOv5: at least as many rows as columns)",
                _ => "",
            };
            Err(Error::invalid(
                "output",
                format!("shape ({b}, {d1}, {d2}) is not a YOLO output{read}: {ACCEPTED}"),
            ))
        }
    }
}

/// Post-process a float32 output of `shape` (C order) in `layout`: per image, `6 * n`
/// floats `x1, y1, x2, y2, score, class`, by descending score (ties by anchor index).
pub fn yolo_postprocess(
    data: &[f32],
    shape: [usize; 3],
    layout: YoloLayout,
    opts: &YoloOptions,
    threads: Option<usize>,
) -> Result<Vec<Vec<f32>>> {
    let [batch, d1, d2] = shape;
    if data.len() != batch * d1 * d2 {
        return Err(Error::invalid("output", "buffer does not match its shape"));
    }
    if opts.iou.is_nan() {
        return Err(Error::invalid("iou", "is NaN"));
    }
    let per_image = d1 * d2;
    crate::pool::map(batch, data.len() * 4, threads, |b| {
        let img = &data[b * per_image..(b + 1) * per_image];
        let cand = match layout {
            YoloLayout::V8 => candidates_v8(img, d1 - 4, d2, opts),
            YoloLayout::V5 => candidates_v5(img, d1, d2 - 5, opts),
        };
        finish(b, cand, opts)
    })
}

/// Candidates of one image: boxes (xyxy), scores, classes, anchor indices.
#[derive(Default)]
struct Candidates {
    boxes: Vec<f32>,
    scores: Vec<f32>,
    classes: Vec<i64>,
    anchors: Vec<usize>,
}

impl Candidates {
    #[inline]
    fn push(&mut self, anchor: usize, cxcywh: [f32; 4], score: f32, cls: usize) {
        // ultralytics' xywh2xyxy: half = wh / 2, then xy -/+ half.
        let [cx, cy, w, h] = cxcywh;
        let (hw, hh) = (w / 2.0, h / 2.0);
        self.boxes
            .extend_from_slice(&[cx - hw, cy - hh, cx + hw, cy + hh]);
        self.scores.push(score);
        self.classes.push(cls as i64);
        self.anchors.push(anchor);
    }
}

fn wanted(opts: &YoloOptions, cls: usize) -> bool {
    opts.classes
        .as_ref()
        .map_or(true, |c| c.contains(&(cls as i64)))
}

/// YOLOv8: rows are channels, so the class maximum runs row by row over all anchors
/// (contiguous, vectorizable), then only anchors above `conf` are gathered.
fn candidates_v8(img: &[f32], nc: usize, n: usize, opts: &YoloOptions) -> Candidates {
    let row = |c: usize| &img[c * n..(c + 1) * n];
    let mut best: Vec<f32> = row(4).to_vec();
    let mut arg = vec![0u32; n];
    for c in 1..nc {
        for ((b, a), &v) in best.iter_mut().zip(arg.iter_mut()).zip(row(4 + c)) {
            // Strictly greater: the first maximum wins, as torch's max / numpy's argmax.
            if v > *b {
                *b = v;
                *a = c as u32;
            }
        }
    }
    let mut out = Candidates::default();
    let (cx, cy, w, h) = (row(0), row(1), row(2), row(3));
    for i in 0..n {
        let s = best[i];
        if s > opts.conf && wanted(opts, arg[i] as usize) {
            out.push(i, [cx[i], cy[i], w[i], h[i]], s, arg[i] as usize);
        }
    }
    out
}

/// YOLOv5: one row per anchor; objectness first, then obj * class scores.
fn candidates_v5(img: &[f32], n: usize, nc: usize, opts: &YoloOptions) -> Candidates {
    let stride = 5 + nc;
    let mut out = Candidates::default();
    for (i, r) in img.chunks_exact(stride).enumerate().take(n) {
        let obj = r[4];
        // NaN objectness is never above the threshold.
        if obj.partial_cmp(&opts.conf) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let mut best = r[5] * obj;
        let mut arg = 0usize;
        for (c, &v) in r[6..].iter().enumerate() {
            let s = v * obj;
            if s > best {
                best = s;
                arg = c + 1;
            }
        }
        if best > opts.conf && wanted(opts, arg) {
            out.push(i, [r[0], r[1], r[2], r[3]], best, arg);
        }
    }
    out
}

fn finish(b: usize, cand: Candidates, opts: &YoloOptions) -> Result<Vec<f32>> {
    for (k, bx) in cand.boxes.chunks_exact(4).enumerate() {
        let ok = bx.iter().all(|v| v.is_finite()) && bx[0] <= bx[2] && bx[1] <= bx[3];
        if !ok {
            return Err(Error::invalid(
                "output",
                format!(
                    "image {b}, anchor {}: box (cx, cy, w, h) decodes to [{}, {}, {}, {}]: \
                     non-finite or negative width/height",
                    cand.anchors[k], bx[0], bx[1], bx[2], bx[3]
                ),
            ));
        }
    }
    let classes = if opts.agnostic {
        None
    } else {
        Some(&cand.classes[..])
    };
    let keep = select(&cand.boxes, &cand.scores, classes, opts.iou, opts.max_det);
    let mut out = Vec::with_capacity(keep.len() * 6);
    for k in keep {
        let k = k as usize;
        out.extend_from_slice(&cand.boxes[4 * k..4 * k + 4]);
        out.push(cand.scores[k]);
        out.push(cand.classes[k] as f32);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> YoloOptions {
        YoloOptions {
            conf: 0.25,
            iou: 0.45,
            max_det: 300,
            classes: None,
            agnostic: false,
        }
    }

    #[test]
    fn layouts() {
        assert_eq!(
            resolve_layout([1, 84, 8400], None).unwrap(),
            (YoloLayout::V8, 80)
        );
        assert_eq!(
            resolve_layout([2, 25200, 85], None).unwrap(),
            (YoloLayout::V5, 80)
        );
        assert_eq!(
            resolve_layout([1, 6, 3], Some(YoloLayout::V8)).unwrap(),
            (YoloLayout::V8, 2)
        );
        let e = resolve_layout([1, 3, 100], None).unwrap_err().to_string();
        assert!(e.contains("(1, 3, 100)") && e.contains("YOLOv5"), "{e}");
        assert!(resolve_layout([1, 100, 5], None).is_err());
        assert_eq!(
            resolve_layout([2, 0, 85], None).unwrap(),
            (YoloLayout::V5, 80)
        );
        assert_eq!(
            resolve_layout([2, 84, 0], None).unwrap(),
            (YoloLayout::V8, 80)
        );
    }

    #[test]
    fn v8_two_boxes_one_suppressed() {
        // 2 classes, 3 anchors: anchors 0 and 1 overlap (class 1), anchor 2 is weak.
        let n = 3;
        let mut img = vec![0.0f32; 6 * n];
        let cols = [
            [50.0, 50.0, 20.0, 20.0, 0.1, 0.9],
            [52.0, 50.0, 20.0, 20.0, 0.2, 0.8],
            [10.0, 10.0, 4.0, 4.0, 0.2, 0.1],
        ];
        for (i, col) in cols.iter().enumerate() {
            for (c, v) in col.iter().enumerate() {
                img[c * n + i] = *v;
            }
        }
        let out = yolo_postprocess(&img, [1, 6, 3], YoloLayout::V8, &opts(), None).unwrap();
        assert_eq!(out[0], vec![40.0, 40.0, 60.0, 60.0, 0.9, 1.0]);
        let mut o = opts();
        o.iou = 0.9;
        let out = yolo_postprocess(&img, [1, 6, 3], YoloLayout::V8, &o, None).unwrap();
        assert_eq!(out[0].len(), 12);
        o.classes = Some(vec![0]);
        let out = yolo_postprocess(&img, [1, 6, 3], YoloLayout::V8, &o, None).unwrap();
        assert!(out[0].is_empty());
    }

    #[test]
    fn v5_objectness_times_class() {
        let rows = [
            [50.0f32, 50.0, 20.0, 20.0, 0.5, 0.6, 0.4], // 0.3, class 0
            [50.0, 50.0, 20.0, 20.0, 0.2, 1.0, 0.0],    // obj below conf
            [90.0, 90.0, 10.0, 10.0, 0.9, 0.1, 0.9],    // 0.81, class 1
        ];
        let img: Vec<f32> = rows.iter().flatten().copied().collect();
        let out = yolo_postprocess(&img, [1, 3, 7], YoloLayout::V5, &opts(), None).unwrap();
        assert_eq!(out[0].len(), 12);
        assert_eq!(out[0][5], 1.0);
        assert_eq!(out[0][4], 0.9f32 * 0.9);
        assert_eq!(out[0][11], 0.0);
    }

    #[test]
    fn negative_size_is_an_error() {
        let img = vec![5.0f32, 5.0, -2.0, 2.0, 0.9, 0.9];
        let e = yolo_postprocess(&img, [1, 1, 6], YoloLayout::V5, &opts(), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("output") && e.contains("anchor 0"), "{e}");
    }
}
