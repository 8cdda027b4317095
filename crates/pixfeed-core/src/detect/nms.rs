//! Non-maximum suppression with torchvision's semantics and a spatial index.
//!
//! Semantics (`torchvision.ops.nms` / `batched_nms`): boxes are visited by descending score
//! (a stable sort: equal scores keep their input order, as torchvision's CPU kernel, which
//! sorts with `stable=true`); a box is kept unless an already kept box (of the same class,
//! when classes are given) has IoU strictly greater than the threshold with it. IoU uses
//! torchvision's arithmetic in the boxes' float type, so the kept set is identical.
//!
//! Speed: the greedy pass is the same, but a candidate is only compared with kept boxes
//! that can overlap it. Kept boxes are filed in a uniform grid (cells about the median box
//! size) under every cell they cover; a candidate looks only in the cells it covers. Two
//! boxes whose float intersection has positive width and height share a cell (the cell
//! index is a monotone function of the coordinate), and any other pair has IoU 0 (or NaN
//! for two empty boxes), which never exceeds a threshold >= 0: so skipping them is exact.
//! Cells store boxes as columns in one allocation sized beforehand (every kept box is a
//! candidate), scanned in blocks that vectorize. Boxes covering many cells go to a list
//! every candidate checks, and a candidate covering many cells scans the kept list
//! instead, so no input degrades below the plain quadratic pass (itself vectorized).
//! Negative thresholds (where IoU 0 suppresses) use the plain pass.

use super::boxes::{area, validate_xyxy};
use super::{fmax, fmin, Real};
use crate::{Error, Result};

/// Indices kept by NMS over `boxes` (flat xyxy, `4 * n` values), in descending score order
/// (ties by index). With `classes`, boxes only suppress boxes of their own class
/// (`batched_nms`). `max_detections` truncates the result (the search stops there).
pub fn nms<T: Real, S: Real>(
    boxes: &[T],
    scores: &[S],
    classes: Option<&[i64]>,
    iou_threshold: f64,
    max_detections: Option<usize>,
) -> Result<Vec<i64>> {
    validate_xyxy(boxes, "boxes")?;
    let n = boxes.len() / 4;
    if scores.len() != n {
        return Err(Error::invalid(
            "scores",
            format!("expected {n} scores (one per box), got {}", scores.len()),
        ));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::invalid("scores", format!("score {i} is NaN")));
    }
    if let Some(c) = classes {
        if c.len() != n {
            return Err(Error::invalid(
                "classes",
                format!("expected {n} class ids (one per box), got {}", c.len()),
            ));
        }
    }
    if iou_threshold.is_nan() {
        return Err(Error::invalid("iou_threshold", "is NaN"));
    }
    if n > u32::MAX as usize {
        return Err(Error::invalid("boxes", "more than 2^32 - 1 boxes"));
    }
    let keep = select(
        boxes,
        scores,
        classes,
        iou_threshold,
        max_detections.unwrap_or(usize::MAX),
    );
    Ok(keep.into_iter().map(i64::from).collect())
}

/// The NMS core on validated input: indices into `boxes` of the kept boxes, by descending
/// score (ties by index), at most `max_keep` of them.
pub(crate) fn select<T: Real, S: Real>(
    boxes: &[T],
    scores: &[S],
    classes: Option<&[i64]>,
    thr: f64,
    max_keep: usize,
) -> Vec<u32> {
    let order = order_by_score_desc(scores);
    let bx: Vec<[T; 4]> = order
        .iter()
        .map(|&i| {
            let b = &boxes[4 * i as usize..4 * i as usize + 4];
            [b[0], b[1], b[2], b[3]]
        })
        .collect();
    let cls: Vec<i64> = match classes {
        Some(c) => order.iter().map(|&i| c[i as usize]).collect(),
        None => vec![0; order.len()],
    };
    greedy(&bx, &cls, thr, max_keep)
        .into_iter()
        .map(|p| order[p as usize])
        .collect()
}

/// A sort key whose ascending order is descending `v` (a total order; -0.0 equals 0.0 as
/// in torch's comparison sort).
#[inline(always)]
fn desc_key(v: f64) -> u64 {
    let b = (v + 0.0).to_bits();
    let ascending = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    !ascending
}

/// Indices of `scores` by descending value; equal values keep index order (a stable sort).
pub(crate) fn order_by_score_desc<S: Real>(scores: &[S]) -> Vec<u32> {
    let mut keyed: Vec<(u64, u32)> = scores
        .iter()
        .enumerate()
        .map(|(i, s)| (desc_key(s.to_f64()), i as u32))
        .collect();
    // (key, index) pairs are distinct, so an unstable sort gives the stable order.
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Below this many boxes the plain pass is as fast as building a grid.
const SMALL: usize = 48;
/// A box covering more grid cells than this is checked by list rather than by grid.
const BIG_SPAN: usize = 64;

struct Grid {
    x0: f64,
    y0: f64,
    inv_cell: f64,
    gw: usize,
    gh: usize,
}

impl Grid {
    fn new<T: Real>(bx: &[[T; 4]]) -> Grid {
        let (mut x0, mut y0) = (f64::INFINITY, f64::INFINITY);
        let (mut x1, mut y1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for b in bx {
            x0 = x0.min(b[0].to_f64());
            y0 = y0.min(b[1].to_f64());
            x1 = x1.max(b[2].to_f64());
            y1 = y1.max(b[3].to_f64());
        }
        let (w, h) = (x1 - x0, y1 - y0);
        // Median of the larger side over a sample: a typical box covers about 4 cells.
        let step = (bx.len() / 2048).max(1);
        let mut sides: Vec<f64> = bx
            .iter()
            .step_by(step)
            .map(|b| (b[2].to_f64() - b[0].to_f64()).max(b[3].to_f64() - b[1].to_f64()))
            .collect();
        let mid = sides.len() / 2;
        sides.select_nth_unstable_by(mid, f64::total_cmp);
        let mut cell = sides[mid];
        // Cells hold column blocks scanned in SIMD: a few boxes per cell at least.
        let limit = (bx.len() / 2 + 16) as f64;
        let count = |c: f64| (w / c + 1.0) * (h / c + 1.0);
        if !(cell > 0.0 && cell.is_finite()) || count(cell) > limit {
            cell = ((w.max(f64::MIN_POSITIVE) * h.max(f64::MIN_POSITIVE)) / limit)
                .sqrt()
                .max(w.max(h) / limit)
                .max(f64::MIN_POSITIVE);
            while count(cell) > limit {
                cell *= 1.5;
            }
        }
        let inv_cell = 1.0 / cell;
        let gw = ((w * inv_cell) as usize).saturating_add(1);
        let gh = ((h * inv_cell) as usize).saturating_add(1);
        Grid {
            x0,
            y0,
            inv_cell,
            gw,
            gh,
        }
    }

    /// Inclusive cell ranges `(cx0, cx1, cy0, cy1)` covered by `b`. Monotone in each
    /// coordinate, which is what makes the search exact.
    #[inline(always)]
    fn span<T: Real>(&self, b: &[T; 4]) -> (usize, usize, usize, usize) {
        let cx = |x: T| (((x.to_f64() - self.x0) * self.inv_cell) as usize).min(self.gw - 1);
        let cy = |y: T| (((y.to_f64() - self.y0) * self.inv_cell) as usize).min(self.gh - 1);
        (cx(b[0]), cx(b[2]), cy(b[1]), cy(b[3]))
    }
}

/// Boxes as columns (x1, y1, x2, y2, area, class), scanned in blocks without branching so
/// that the loop vectorizes.
#[derive(Clone, Copy)]
struct Cols<'a, T> {
    x1: &'a [T],
    y1: &'a [T],
    x2: &'a [T],
    y2: &'a [T],
    area: &'a [T],
    cls: &'a [i64],
}

impl<T: Real> Cols<'_, T> {
    /// Does any of these boxes (of class `cls`) have IoU above `thr` with `b`?
    fn any_hit(self, b: &[T; 4], area: T, cls: i64, thr: f64) -> bool {
        const BLOCK: usize = 64;
        let n = self.x1.len();
        let mut start = 0;
        while start < n {
            let end = (start + BLOCK).min(n);
            // Equal-length slices: no bounds checks in the loop.
            let x1 = &self.x1[start..end];
            let len = x1.len();
            let (y1, x2, y2) = (
                &self.y1[start..end],
                &self.x2[start..end],
                &self.y2[start..end],
            );
            let (ar, cl) = (&self.area[start..end], &self.cls[start..end]);
            let (y1, x2, y2, ar, cl) = (&y1[..len], &x2[..len], &y2[..len], &ar[..len], &cl[..len]);
            let mut hit = false;
            for k in 0..len {
                let w = fmax(T::ZERO, fmin(x2[k], b[2]) - fmax(x1[k], b[0]));
                let h = fmax(T::ZERO, fmin(y2[k], b[3]) - fmax(y1[k], b[1]));
                let inter = w * h;
                // torchvision's order of operations: inter / (area_kept + area - inter).
                let ovr = inter / (ar[k] + area - inter);
                hit |= (ovr.to_f64() > thr) & (cl[k] == cls);
            }
            if hit {
                return true;
            }
            start = end;
        }
        false
    }
}

/// Column storage for kept boxes: one growing list, or (with `cap`) fixed-capacity slots
/// per grid cell in one allocation, sized beforehand from all candidates (the kept boxes
/// are some of them), so filing a box never allocates.
struct Store<T> {
    start: Vec<usize>,
    fill: Vec<usize>,
    x1: Vec<T>,
    y1: Vec<T>,
    x2: Vec<T>,
    y2: Vec<T>,
    area: Vec<T>,
    cls: Vec<i64>,
}

impl<T: Real> Store<T> {
    /// A store of `counts.len()` slots of the given capacities.
    fn with_slots(counts: &[usize]) -> Self {
        let mut start = Vec::with_capacity(counts.len() + 1);
        let mut total = 0;
        for &c in counts {
            start.push(total);
            total += c;
        }
        start.push(total);
        Store {
            start,
            fill: vec![0; counts.len()],
            x1: vec![T::ZERO; total],
            y1: vec![T::ZERO; total],
            x2: vec![T::ZERO; total],
            y2: vec![T::ZERO; total],
            area: vec![T::ZERO; total],
            cls: vec![0; total],
        }
    }

    /// One slot that can hold `n` boxes.
    fn single(n: usize) -> Self {
        Self::with_slots(&[n])
    }

    fn push(&mut self, slot: usize, b: &[T; 4], area: T, cls: i64) {
        let k = self.start[slot] + self.fill[slot];
        debug_assert!(k < self.start[slot + 1]);
        self.x1[k] = b[0];
        self.y1[k] = b[1];
        self.x2[k] = b[2];
        self.y2[k] = b[3];
        self.area[k] = area;
        self.cls[k] = cls;
        self.fill[slot] += 1;
    }

    fn cols(&self, slot: usize) -> Cols<'_, T> {
        let r = self.start[slot]..self.start[slot] + self.fill[slot];
        Cols {
            x1: &self.x1[r.clone()],
            y1: &self.y1[r.clone()],
            x2: &self.x2[r.clone()],
            y2: &self.y2[r.clone()],
            area: &self.area[r.clone()],
            cls: &self.cls[r],
        }
    }
}

/// The greedy pass over boxes already in visiting order: positions of the kept ones.
fn greedy<T: Real>(bx: &[[T; 4]], cls: &[i64], thr: f64, max_keep: usize) -> Vec<u32> {
    let n = bx.len();
    let mut keep: Vec<u32> = Vec::new();
    if n == 0 || max_keep == 0 {
        return keep;
    }
    let areas: Vec<T> = bx.iter().map(|b| area(b)).collect();
    // Every kept box, for the plain pass and for candidates too big for the grid.
    let mut all = Store::single(n);
    if n <= SMALL || thr < 0.0 {
        for j in 0..n {
            if !all.cols(0).any_hit(&bx[j], areas[j], cls[j], thr) {
                keep.push(j as u32);
                all.push(0, &bx[j], areas[j], cls[j]);
                if keep.len() == max_keep {
                    break;
                }
            }
        }
        return keep;
    }

    let grid = Grid::new(bx);
    let spans: Vec<(usize, usize, usize, usize)> = bx.iter().map(|b| grid.span(b)).collect();
    let is_big = |s: &(usize, usize, usize, usize)| (s.1 - s.0 + 1) * (s.3 - s.2 + 1) > BIG_SPAN;
    let mut counts = vec![0usize; grid.gw * grid.gh];
    let mut nbig = 0;
    for s in &spans {
        if is_big(s) {
            nbig += 1;
            continue;
        }
        for cy in s.2..=s.3 {
            for c in &mut counts[cy * grid.gw + s.0..=cy * grid.gw + s.1] {
                *c += 1;
            }
        }
    }
    let mut cells = Store::with_slots(&counts);
    drop(counts);
    let mut big = Store::single(nbig);
    for j in 0..n {
        let b = &bx[j];
        let (aj, cj) = (areas[j], cls[j]);
        let s = spans[j];
        let suppressed = if is_big(&s) {
            all.cols(0).any_hit(b, aj, cj, thr)
        } else {
            big.cols(0).any_hit(b, aj, cj, thr)
                || (s.2..=s.3).any(|cy| {
                    (s.0..=s.1).any(|cx| cells.cols(cy * grid.gw + cx).any_hit(b, aj, cj, thr))
                })
        };
        if suppressed {
            continue;
        }
        keep.push(j as u32);
        if keep.len() == max_keep {
            break;
        }
        all.push(0, b, aj, cj);
        if is_big(&s) {
            big.push(0, b, aj, cj);
            continue;
        }
        for cy in s.2..=s.3 {
            for cx in s.0..=s.1 {
                cells.push(cy * grid.gw + cx, b, aj, cj);
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::boxes::iou_with_areas;

    /// torchvision's loop, verbatim in structure: the reference.
    fn reference<T: Real>(boxes: &[T], scores: &[f64], cls: Option<&[i64]>, thr: f64) -> Vec<i64> {
        let n = boxes.len() / 4;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap());
        let mut suppressed = vec![false; n];
        let mut keep = vec![];
        for (k, &i) in order.iter().enumerate() {
            if suppressed[i] {
                continue;
            }
            keep.push(i as i64);
            let bi = &boxes[4 * i..4 * i + 4];
            for &j in &order[k + 1..] {
                let bj = &boxes[4 * j..4 * j + 4];
                let same = cls.map_or(true, |c| c[i] == c[j]);
                if same && iou_with_areas(bi, area(bi), bj, area(bj)).to_f64() > thr {
                    suppressed[j] = true;
                }
            }
        }
        keep
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn random_boxes(n: usize, seed: u64, extent: f64, lo: f64, hi: f64) -> (Vec<f32>, Vec<f64>) {
        let mut r = Lcg(seed);
        let mut b = Vec::with_capacity(4 * n);
        let mut s = Vec::with_capacity(n);
        for _ in 0..n {
            let (x, y) = (r.next() * extent, r.next() * extent);
            let (w, h) = (lo + r.next() * (hi - lo), lo + r.next() * (hi - lo));
            b.extend_from_slice(&[x as f32, y as f32, (x + w) as f32, (y + h) as f32]);
            // Coarse scores make ties frequent.
            s.push((r.next() * 50.0).floor() / 50.0);
        }
        (b, s)
    }

    #[test]
    fn matches_reference_on_random_sets() {
        for (seed, n) in [(1u64, 10usize), (2, 200), (3, 3000)] {
            for thr in [0.0, 0.3, 0.5, 0.7, 1.0] {
                let (b, s) = random_boxes(n, seed, 500.0, 4.0, 80.0);
                let got = nms(&b, &s, None, thr, None).unwrap();
                assert_eq!(got, reference(&b, &s, None, thr), "n={n} thr={thr}");
                let cls: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
                let got = nms(&b, &s, Some(&cls), thr, None).unwrap();
                assert_eq!(got, reference(&b, &s, Some(&cls), thr), "classes n={n}");
            }
        }
    }

    #[test]
    fn mixed_sizes_and_negative_threshold() {
        // A few huge boxes among small ones exercise the big-box lists.
        let (mut b, mut s) = random_boxes(2000, 7, 1000.0, 2.0, 30.0);
        let (b2, s2) = random_boxes(60, 8, 200.0, 300.0, 900.0);
        b.extend(b2);
        s.extend(s2);
        for thr in [-0.5, 0.0, 0.1, 0.5] {
            assert_eq!(
                nms(&b, &s, None, thr, None).unwrap(),
                reference(&b, &s, None, thr)
            );
        }
    }

    #[test]
    fn degenerate_layouts() {
        // All boxes identical, all empty, all on one line.
        let n = 500;
        let same: Vec<f64> = (0..n).flat_map(|_| [1.0, 1.0, 5.0, 5.0]).collect();
        let s: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        assert_eq!(
            nms(&same, &s, None, 0.5, None).unwrap(),
            reference(&same, &s, None, 0.5)
        );
        let empty: Vec<f64> = (0..n).flat_map(|i| [i as f64; 4]).collect();
        assert_eq!(nms(&empty, &s, None, 0.5, None).unwrap().len(), n);
        let line: Vec<f64> = (0..n)
            .flat_map(|i| [i as f64, 0.0, i as f64 + 3.0, 0.0])
            .collect();
        assert_eq!(nms(&line, &s, None, 0.5, None).unwrap().len(), n);
    }

    #[test]
    fn ties_keep_index_order_and_cap() {
        let b = [
            0.0f32, 0.0, 1.0, 1.0, 10.0, 10.0, 11.0, 11.0, 20.0, 0.0, 21.0, 1.0,
        ];
        let s = [0.5f64, 0.5, 0.5];
        assert_eq!(nms(&b, &s, None, 0.5, None).unwrap(), vec![0, 1, 2]);
        assert_eq!(nms(&b, &s, None, 0.5, Some(2)).unwrap(), vec![0, 1]);
        assert_eq!(nms(&b, &s, None, 0.5, Some(0)).unwrap(), Vec::<i64>::new());
        let z = [-0.0f64, 0.0, -0.0];
        assert_eq!(nms(&b, &z, None, 0.5, None).unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn bad_input() {
        let b = [0.0f32, 0.0, 1.0, 1.0];
        let e = nms(&b, &[f64::NAN], None, 0.5, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("scores"), "{e}");
        let e = nms(&b, &[1.0f64, 2.0], None, 0.5, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("scores"), "{e}");
        let bad = [2.0f32, 0.0, 1.0, 1.0];
        let e = nms(&bad, &[1.0f64], None, 0.5, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("boxes") && e.contains("x2 < x1"), "{e}");
        let e = nms(&b, &[1.0f64], Some(&[1, 2]), 0.5, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("classes"), "{e}");
        assert!(nms::<f32, f64>(&[], &[], None, 0.5, None)
            .unwrap()
            .is_empty());
    }
}
