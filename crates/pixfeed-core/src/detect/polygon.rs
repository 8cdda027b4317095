//! Polygons: area, exact intersection-over-union of simple polygons (convex or not), and
//! point-in-polygon tests.
//!
//! A polygon is a ring of `(x, y)` vertices, implicitly closed (a repeated closing vertex
//! and repeated consecutive vertices are ignored). Area and IoU need *simple* polygons (no
//! edge touches a non-adjacent edge, no spike doubles back along itself); anything else is
//! an error naming the polygon and the two edges, decided with exact orientation predicates.
//!
//! ## How the IoU is computed, and why not `geo`
//! Only the *area* of `A ∩ B` is needed, never its shape. By Green's theorem the area of a
//! region is the sum over its boundary of `(x dy - y dx) / 2`, and the boundary of `A ∩ B`
//! is made of the pieces of A's boundary that lie inside B and the pieces of B's boundary
//! inside A (pieces where the two boundaries run together are counted once, when both
//! interiors are on the same side). So each edge is split where the other polygon's
//! boundary meets it, each piece is classified inside/outside, and the inside pieces'
//! cross products are summed, in coordinates relative to a local origin.
//!
//! Robustness: which edges meet, where boundaries run together, and on which side of the
//! other polygon an edge is just before and just after each meeting point (its edge's
//! side, or the angular sector of its vertex) are all decided with Shewchuk's exact
//! `orient2d` on the input vertices; a piece takes the side its bounding splits agree on,
//! classifications carry along the boundary past vertices that touch nothing, and input
//! vertices are located exactly. Only the positions of crossings are rounded (computed in
//! double-double, so nearly parallel crossings stay in order). Shared edges and vertices,
//! T-junctions, and vertices snapped onto the other polygon's edges in floating point (off
//! by rounding: slivers, near-parallel edges) all come out right; identical polygons give
//! IoU 1. The tests check against exact rational arithmetic where GEOS itself fails.
//! Cost O(n·m) per pair with bounding-box pruning, no allocation per pair.
//!
//! Why not `geo`'s `BooleanOps::intersection` (via i_overlay): it snaps coordinates to an
//! integer grid (relative area errors far over the 1e-9 the tests require), builds the
//! intersection polygons we do not need, and falls short of the speed floor (figures in
//! benchmarks/RESULTS.md, "Moved from code comments").

use super::orient;
use crate::{Error, Result};

type P = [f64; 2];

/// Many polygons packed as in the Python layer: `xy` holds `(x, y)` pairs back to back and
/// polygon `i` is points `offsets[i]..offsets[i + 1]`.
#[derive(Debug, Clone, Copy)]
pub struct PolySet<'a> {
    xy: &'a [f64],
    offsets: &'a [i64],
    arg: &'static str,
}

impl<'a> PolySet<'a> {
    /// Check the packing; `arg` names the argument in errors.
    pub fn new(xy: &'a [f64], offsets: &'a [i64], arg: &'static str) -> Result<Self> {
        if xy.len() % 2 != 0 {
            return Err(Error::invalid(arg, "coordinates must come in (x, y) pairs"));
        }
        let npts = (xy.len() / 2) as i64;
        let ok = offsets.first() == Some(&0)
            && offsets.last() == Some(&npts)
            && offsets.windows(2).all(|w| w[0] <= w[1]);
        if !ok {
            return Err(Error::invalid(arg, "inconsistent polygon offsets"));
        }
        Ok(PolySet { xy, offsets, arg })
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Polygon `i` as flat `(x, y)` pairs, as given.
    pub fn points(&self, i: usize) -> &'a [f64] {
        &self.xy[2 * self.offsets[i] as usize..2 * self.offsets[i + 1] as usize]
    }

    /// The argument name used in errors.
    pub fn arg(&self) -> &'static str {
        self.arg
    }
}

/// Polygons after cleaning (duplicates dropped) and checking: ring `i` is
/// `pts[start[i]..start[i + 1]]`.
struct Rings {
    pts: Vec<P>,
    start: Vec<usize>,
    /// Bounding box of each edge, aligned with `pts` (edge k joins vertices k and k + 1).
    ebox: Vec<[f64; 4]>,
    bbox: Vec<[f64; 4]>,
    /// +1 for counter-clockwise rings (y up), -1 for clockwise.
    sign: Vec<f64>,
    /// Twice the signed area, relative to the ring's first vertex.
    area2: Vec<f64>,
}

impl Rings {
    fn ring(&self, i: usize) -> &[P] {
        &self.pts[self.start[i]..self.start[i + 1]]
    }
    fn edge_boxes(&self, i: usize) -> &[[f64; 4]] {
        &self.ebox[self.start[i]..self.start[i + 1]]
    }
    fn view(&self, i: usize) -> Ring<'_> {
        Ring {
            pts: self.ring(i),
            ebox: self.edge_boxes(i),
            bbox: self.bbox[i],
            sign: self.sign[i],
            area: 0.5 * self.area2[i].abs(),
        }
    }
}

/// One checked ring and its precomputed boxes.
#[derive(Clone, Copy)]
struct Ring<'a> {
    pts: &'a [P],
    ebox: &'a [[f64; 4]],
    bbox: [f64; 4],
    sign: f64,
    /// Area, with the shoelace relative to the first vertex.
    area: f64,
}

fn edge_boxes(pts: &[P], start: &[usize]) -> Vec<[f64; 4]> {
    let mut out = Vec::with_capacity(pts.len());
    for w in start.windows(2) {
        let r = &pts[w[0]..w[1]];
        for k in 0..r.len() {
            out.push(seg_bbox(r[k], r[(k + 1) % r.len()]));
        }
    }
    out
}

/// Drop repeated consecutive vertices and the closing vertex; require finite coordinates
/// and at least 3 distinct vertices.
fn clean(set: &PolySet<'_>) -> Result<(Vec<P>, Vec<usize>)> {
    let mut pts: Vec<P> = Vec::with_capacity(set.xy.len() / 2);
    let mut start = Vec::with_capacity(set.len() + 1);
    for i in 0..set.len() {
        let s = pts.len();
        start.push(s);
        for c in set.points(i).chunks_exact(2) {
            let p = [c[0], c[1]];
            if !(p[0].is_finite() && p[1].is_finite()) {
                return Err(Error::invalid(
                    set.arg,
                    format!("polygon {i} has a non-finite coordinate"),
                ));
            }
            if pts.len() == s || pts[pts.len() - 1] != p {
                pts.push(p);
            }
        }
        if pts.len() - s > 1 && pts[s] == pts[pts.len() - 1] {
            pts.pop();
        }
        if pts.len() - s < 3 {
            return Err(Error::invalid(
                set.arg,
                format!(
                    "polygon {i} has {} distinct points; a polygon needs at least 3",
                    pts.len() - s
                ),
            ));
        }
    }
    start.push(pts.len());
    Ok((pts, start))
}

fn bbox_of(r: &[P]) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in r {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    b
}

#[inline(always)]
fn seg_bbox(a: P, b: P) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[0].max(b[0]),
        a[1].max(b[1]),
    ]
}

/// Closed boxes overlap (touching counts).
#[inline(always)]
fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

#[inline(always)]
fn same_strict_sign(a: f64, b: f64) -> bool {
    (a > 0.0 && b > 0.0) || (a < 0.0 && b < 0.0)
}

#[inline(always)]
fn sub(a: P, b: P) -> P {
    [a[0] - b[0], a[1] - b[1]]
}

#[inline(always)]
fn dot(a: P, b: P) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

#[inline(always)]
fn cross(a: P, b: P) -> f64 {
    a[0] * b[1] - a[1] * b[0]
}

/// Twice the signed area (positive counter-clockwise), relative to origin `o`.
fn twice_area(r: &[P], o: P) -> f64 {
    let n = r.len();
    let mut s = 0.0;
    for i in 0..n {
        s += cross(sub(r[i], o), sub(r[(i + 1) % n], o));
    }
    s
}

/// Do closed segments `ab` and `cd`, whose bounding boxes overlap, share a point?
fn segments_touch(a: P, b: P, c: P, d: P) -> bool {
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    if same_strict_sign(o1, o2) {
        return false;
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: overlapping boxes means overlapping segments.
        return true;
    }
    !same_strict_sign(orient(c, d, a), orient(c, d, b))
}

/// The first pair of edges `(i, j)` (edge `i` runs from vertex `i` to `i + 1`) that makes
/// the ring non-simple, or None.
fn self_intersection(r: &[P], eb: &[[f64; 4]]) -> Option<(usize, usize)> {
    let n = r.len();
    let e = |i: usize| (r[i], r[(i + 1) % n]);
    // Adjacent edges share a vertex; they must not double back along each other.
    for i in 0..n {
        let (a, b) = e(i);
        let c = r[(i + 2) % n];
        if orient(a, b, c) == 0.0 && dot(sub(b, a), sub(c, b)) < 0.0 {
            return Some((i, (i + 1) % n));
        }
    }
    let adjacent = |i: usize, j: usize| j == i + 1 || (i == 0 && j == n - 1);
    let test = |i: usize, j: usize| {
        let (i, j) = (i.min(j), i.max(j));
        if adjacent(i, j) || !overlaps(&eb[i], &eb[j]) {
            return false;
        }
        let ((a, b), (c, d)) = (e(i), e(j));
        segments_touch(a, b, c, d)
    };
    if n <= 64 {
        for i in 0..n - 2 {
            let bi = eb[i];
            // Edge 0 and edge n - 1 are adjacent.
            let last = if i == 0 { n - 1 } else { n };
            for (j, bj) in eb.iter().enumerate().take(last).skip(i + 2) {
                if bi[0] <= bj[2] && bj[0] <= bi[2] && bi[1] <= bj[3] && bj[1] <= bi[3] {
                    let ((a, b), (c, d)) = (e(i), e(j));
                    if segments_touch(a, b, c, d) {
                        return Some((i, j));
                    }
                }
            }
        }
        return None;
    }
    // Sort-and-sweep on x: only edges whose x-ranges overlap are tested.
    let mut idx: Vec<(f64, f64, usize)> = (0..n)
        .map(|i| {
            let (a, b) = e(i);
            (a[0].min(b[0]), a[0].max(b[0]), i)
        })
        .collect();
    idx.sort_unstable_by(|p, q| p.0.total_cmp(&q.0).then(p.2.cmp(&q.2)));
    let mut found: Option<(usize, usize)> = None;
    for k in 0..n {
        let (_, xmax, i) = idx[k];
        for &(xmin_j, _, j) in &idx[k + 1..] {
            if xmin_j > xmax {
                break;
            }
            if test(i, j) {
                let pair = (i.min(j), i.max(j));
                found = Some(found.map_or(pair, |f| f.min(pair)));
            }
        }
    }
    found
}

/// Clean and check every polygon of `set`; with `simple`, reject non-simple rings.
fn prepare(set: &PolySet<'_>, simple: bool, threads: Option<usize>) -> Result<Rings> {
    let (pts, start) = clean(set)?;
    let ebox = edge_boxes(&pts, &start);
    let n = set.len();
    let work = |i: usize| -> (Option<(usize, usize)>, [f64; 4], f64) {
        let r = &pts[start[i]..start[i + 1]];
        let bad = if simple {
            self_intersection(r, &ebox[start[i]..start[i + 1]])
        } else {
            None
        };
        (bad, bbox_of(r), twice_area(r, r[0]))
    };
    let done = par_map(n, pts.len(), threads, work)?;
    let mut bbox = Vec::with_capacity(n);
    let mut sign = Vec::with_capacity(n);
    let mut area2 = Vec::with_capacity(n);
    for (i, (bad, b, a2)) in done.into_iter().enumerate() {
        if let Some((e1, e2)) = bad {
            return Err(Error::invalid(
                set.arg,
                format!(
                    "polygon {i} is not simple: edges {e1} and {e2} intersect (edge k joins \
                     vertices k and k + 1 after dropping repeated points)"
                ),
            ));
        }
        bbox.push(b);
        sign.push(if a2 < 0.0 { -1.0 } else { 1.0 });
        area2.push(a2);
    }
    Ok(Rings {
        pts,
        start,
        ebox,
        bbox,
        sign,
        area2,
    })
}

/// `f(0..n)` in order, on the pool when the work is large enough.
fn par_map<T: Send>(
    n: usize,
    work: usize,
    threads: Option<usize>,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Result<Vec<T>> {
    use rayon::prelude::*;
    if n < 64 || work < 4096 || threads == Some(1) {
        return Ok((0..n).map(f).collect());
    }
    crate::pool::install_for(n.div_ceil(16), threads, || {
        (0..n).into_par_iter().with_min_len(16).map(f).collect()
    })
}

/// Areas of simple polygons (absolute values, shoelace relative to the first vertex).
pub fn polygon_area(set: &PolySet<'_>, threads: Option<usize>) -> Result<Vec<f64>> {
    crate::error::catch_panic(|| {
        let rings = prepare(set, true, threads)?;
        Ok(rings.area2.iter().map(|a| 0.5 * a.abs()).collect())
    })
}

/// Where one ring's boundary meets the other's, seen from one of the two edges: the
/// parameter along the edge, and on which side of the other ring the edge is just before
/// and just after the point (+1 inside, -1 outside, 0 along its boundary or not needed),
/// decided exactly from the input vertices.
#[derive(Clone, Copy, Debug)]
struct Split {
    edge: u32,
    t: f64,
    before: i8,
    after: i8,
}

/// Reusable buffers of one worker.
#[derive(Default)]
struct Scratch {
    splits_a: Vec<Split>,
    splits_b: Vec<Split>,
    /// Stretches where the boundaries run together: (edge, from, to, same direction).
    shared_a: Vec<(u32, f64, f64, bool)>,
    shared_b: Vec<(u32, f64, f64, bool)>,
    /// Edges of B sorted by min x, for large rings: (min x, edge index).
    index: Vec<(f64, u32)>,
    events: Vec<Event>,
    clusters: Vec<Cluster>,
}

/// Even-odd test of a point in floating point: only for pieces whose classification the
/// exact rules leave open (shorter than about 1e-12 of their edge: negligible area).
fn inside_even_odd(p: P, r: &[P], bb: &[f64; 4]) -> bool {
    if p[0] < bb[0] || p[0] > bb[2] || p[1] < bb[1] || p[1] > bb[3] {
        return false;
    }
    let mut c = false;
    let mut a = r[r.len() - 1];
    for &b in r {
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if x > p[0] {
                c = !c;
            }
        }
        a = b;
    }
    c
}

/// Exact location of `p` against ring `r`: 1 inside, -1 outside, 0 on the boundary
/// (even-odd crossing count with exact orientation predicates).
fn locate(p: P, r: &[P], bb: &[f64; 4]) -> i8 {
    let [x, y] = p;
    if x < bb[0] || x > bb[2] || y < bb[1] || y > bb[3] {
        return -1;
    }
    let mut inside = false;
    let mut a = r[r.len() - 1];
    for &b in r {
        let straddles = (a[1] > y) != (b[1] > y);
        let in_box = x >= a[0].min(b[0])
            && x <= a[0].max(b[0])
            && y >= a[1].min(b[1])
            && y <= a[1].max(b[1]);
        if straddles || in_box {
            let o = orient(a, b, p);
            if o == 0.0 && in_box {
                return 0;
            }
            // The ray to +x crosses an upward edge when p is on its left, a downward edge
            // when p is on its right.
            if straddles && ((b[1] > a[1]) == (o > 0.0)) {
                inside = !inside;
            }
        }
        a = b;
    }
    if inside {
        1
    } else {
        -1
    }
}

/// `a * b` as an unevaluated sum `hi + lo`, exactly (Dekker's product, no FMA needed).
#[inline(always)]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    #[inline(always)]
    fn split(a: f64) -> (f64, f64) {
        let c = 134_217_729.0 * a; // 2^27 + 1
        let hi = c - (c - a);
        (hi, a - hi)
    }
    let p = a * b;
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// `a + b` as `hi + lo`, exactly (Knuth's two-sum).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// The orientation determinant of `(a, b, c)` in double-double arithmetic: accurate to
/// the last bits unless it cancels beyond ~2^-100 of its terms (where its sign still comes
/// from [`orient`]).
fn orient_value(a: P, b: P, c: P) -> f64 {
    let (acx, acx_l) = two_sum(a[0], -c[0]);
    let (acy, acy_l) = two_sum(a[1], -c[1]);
    let (bcx, bcx_l) = two_sum(b[0], -c[0]);
    let (bcy, bcy_l) = two_sum(b[1], -c[1]);
    let (p, p_l) = two_prod(acx, bcy);
    let (q, q_l) = two_prod(acy, bcx);
    let p_l = p_l + (acx * bcy_l + acx_l * bcy + acx_l * bcy_l);
    let q_l = q_l + (acy * bcx_l + acy_l * bcx + acy_l * bcx_l);
    let (d, d_l) = two_sum(p, -q);
    d + (d_l + (p_l - q_l))
}

#[inline(always)]
fn sign_of(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// The exact side of ring `other` just before and after a point where its edge `k` meets
/// the edge `x0 -> x1` of the other ring: `on` are the orientations of edge `k`'s two
/// vertices against `x0 -> x1` (a zero puts that vertex on it, where its angular sector
/// decides), `across` those of `x0` and `x1` against edge `k` (its interior otherwise).
#[inline]
fn crossing_sides(
    other: Ring<'_>,
    k: usize,
    on: (f64, f64),
    (x0, x1): (P, P),
    across: (f64, f64),
) -> (i8, i8) {
    let at = |v: usize| {
        (
            sector_side(other.pts, v, x0, other.sign),
            sector_side(other.pts, v, x1, other.sign),
        )
    };
    if on.0 == 0.0 {
        at(k)
    } else if on.1 == 0.0 {
        at((k + 1) % other.pts.len())
    } else {
        (
            sign_of(across.0 * other.sign),
            sign_of(across.1 * other.sign),
        )
    }
}

/// Side of ring `r` (orientation `sign`) that `q` lies on as seen from vertex `k`, for a
/// point `q` reached from the vertex along a straight line: the vertex's angular sector.
/// 0 when `q` lies along one of the vertex's edges (the ring's boundary).
fn sector_side(r: &[P], k: usize, q: P, sign: f64) -> i8 {
    let n = r.len();
    let (prev, v, next) = (r[(k + n - 1) % n], r[k], r[(k + 1) % n]);
    let l1 = orient(prev, v, q) * sign;
    let l2 = orient(v, next, q) * sign;
    if (l1 == 0.0 && dot(sub(q, v), sub(prev, v)) > 0.0)
        || (l2 == 0.0 && dot(sub(q, v), sub(next, v)) > 0.0)
    {
        return 0;
    }
    let turn = orient(prev, v, next) * sign;
    let inside = if turn > 0.0 {
        l1 > 0.0 && l2 > 0.0 // convex vertex: both half-planes
    } else if turn < 0.0 {
        l1 > 0.0 || l2 > 0.0 // reflex vertex: either
    } else {
        l1 > 0.0 // straight vertex
    };
    if inside {
        1
    } else {
        -1
    }
}

/// Parameters along `s -> e` of the overlap with collinear segment `r0 -> r1`, or None.
#[inline]
fn collinear_overlap(s: P, e: P, r0: P, r1: P) -> Option<(f64, f64)> {
    let d = sub(e, s);
    let len2 = dot(d, d);
    let (t0, t1) = (dot(sub(r0, s), d) / len2, dot(sub(r1, s), d) / len2);
    let lo = t0.min(t1).max(0.0);
    let hi = t0.max(t1).min(1.0);
    (hi >= lo).then_some((lo, hi))
}

/// Find where the boundaries of `a` and `b` meet: split points (with the exact side of
/// the other ring before and after each) and shared stretches, on both rings; each edge
/// pair is tested once.
fn meet(a: Ring<'_>, b: Ring<'_>, sc: &mut Scratch) {
    sc.splits_a.clear();
    sc.splits_b.clear();
    sc.shared_a.clear();
    sc.shared_b.clear();
    let (n, m) = (a.pts.len(), b.pts.len());
    let pair = |i: usize, j: usize, sc: &mut Scratch| {
        let (s, e) = (a.pts[i], a.pts[(i + 1) % n]);
        let (r0, r1) = (b.pts[j], b.pts[(j + 1) % m]);
        let (o1, o2) = (orient(s, e, r0), orient(s, e, r1));
        if same_strict_sign(o1, o2) {
            return;
        }
        let split = |edge: usize, t: f64, before: i8, after: i8| Split {
            edge: edge as u32,
            t,
            before,
            after,
        };
        if o1 == 0.0 && o2 == 0.0 {
            let Some((lo, hi)) = collinear_overlap(s, e, r0, r1) else {
                return;
            };
            // Collinear segments touching end to end share a vertex (lo == hi, 0 or 1).
            // The sides around the stretch come from the neighbouring edges' splits.
            let same = dot(sub(e, s), sub(r1, r0)) * a.sign * b.sign > 0.0;
            sc.splits_a.extend([split(i, lo, 0, 0), split(i, hi, 0, 0)]);
            if hi > lo {
                sc.shared_a.push((i as u32, lo, hi, same));
            }
            if let Some((ulo, uhi)) = collinear_overlap(r0, r1, s, e) {
                sc.splits_b
                    .extend([split(j, ulo, 0, 0), split(j, uhi, 0, 0)]);
                if uhi > ulo {
                    sc.shared_b.push((j as u32, ulo, uhi, same));
                }
            }
            return;
        }
        let (o3, o4) = (orient(r0, r1, s), orient(r0, r1, e));
        if same_strict_sign(o3, o4) {
            return;
        }
        // Where along each edge: p / (p - q) from the two determinants, evaluated to full
        // precision (the adaptive predicate's value may be far off when it is tiny, and a
        // near-parallel crossing would land in the wrong place, out of order with the
        // edge's other splits); exact zeros from the predicate.
        let param = |p: f64, q: f64, x: [P; 4]| {
            if p == 0.0 {
                0.0
            } else if q == 0.0 {
                1.0
            } else {
                let (p, q) = (
                    orient_value(x[0], x[1], x[2]),
                    orient_value(x[0], x[1], x[3]),
                );
                (p / (p - q)).clamp(0.0, 1.0)
            }
        };
        let (t, u) = (param(o3, o4, [r0, r1, s, e]), param(o1, o2, [s, e, r0, r1]));
        // On A's edge: B's boundary there is B's edge j (interior point) or a vertex of B,
        // told apart by the exact predicates (a parameter may round to 0 or 1).
        let (before, after) = crossing_sides(b, j, (o1, o2), (s, e), (o3, o4));
        sc.splits_a.push(split(i, t, before, after));
        let (before, after) = crossing_sides(a, i, (o3, o4), (r0, r1), (o1, o2));
        sc.splits_b.push(split(j, u, before, after));
    };
    if m <= 24 {
        for i in 0..n {
            let ea = &a.ebox[i];
            if !overlaps(ea, &b.bbox) {
                continue;
            }
            for j in 0..m {
                if overlaps(ea, &b.ebox[j]) {
                    pair(i, j, sc);
                }
            }
        }
        return;
    }
    // Large rings: B's edges sorted by min x; an edge of A scans those that can reach it.
    sc.index.clear();
    let mut wmax = 0.0f64;
    for (j, eb) in b.ebox.iter().enumerate() {
        sc.index.push((eb[0], j as u32));
        wmax = wmax.max(eb[2] - eb[0]);
    }
    sc.index.sort_unstable_by(|p, q| p.0.total_cmp(&q.0));
    for i in 0..n {
        let ea = a.ebox[i];
        if !overlaps(&ea, &b.bbox) {
            continue;
        }
        let first = sc.index.partition_point(|p| p.0 < ea[0] - wmax);
        for k in first..m {
            let (xmin, j) = sc.index[k];
            if xmin > ea[2] {
                break;
            }
            if overlaps(&ea, &b.ebox[j as usize]) {
                pair(i, j as usize, sc);
            }
        }
    }
}

/// A point where an edge's classification may change: a split, or an end of the edge.
#[derive(Clone, Copy)]
struct Event {
    t: f64,
    before: i8,
    after: i8,
    cluster: u32,
}

/// Splits closer than this (in edge parameter) may be out of order after rounding.
const CLUSTER_EPS: f64 = 1e-12;
/// Marks the edge's end vertex, whose side is computed when needed.
const LAZY: i8 = 2;

/// Events closer than `CLUSTER_EPS`: their true order is unknown, so the piece after the
/// cluster takes the side all its splits agree on (each split's `after` describes the
/// piece after it, the truly last one's included), and likewise before it.
#[derive(Clone, Copy, Default)]
struct Cluster {
    before: i8,
    after: i8,
    /// The edge's start vertex is in this cluster (truly first): its side after, used
    /// when no split says more.
    start_after: i8,
    /// The edge's end vertex is in this cluster (truly last).
    has_end: bool,
}

/// Combine determinate sides (+1/-1): the common value, 0 when there is none, `i8::MIN`
/// when they disagree.
fn agree(acc: i8, v: i8) -> i8 {
    match (acc, v) {
        (_, 0) => acc,
        (0, v) => v,
        (a, v) if a == v => a,
        _ => i8::MIN,
    }
}

/// Twice the area contributed by the pieces of `sub_r`'s boundary inside `clip` (and, with
/// `count_shared`, the stretches running along `clip`'s boundary in the same direction),
/// relative to origin `o`, oriented as if both rings were counter-clockwise.
///
/// Each piece between splits is classified exactly: by the side just after the split
/// that starts it, or just before the split that ends it (exact rules from the input
/// vertices), or by an exact point-in-ring test of an input vertex; classifications carry
/// along the boundary past vertices that touch nothing. Pieces so short that rounding may
/// have reordered their ends fall back to a floating-point midpoint test.
#[allow(clippy::too_many_arguments)]
fn walk(
    sub_r: Ring<'_>,
    clip: Ring<'_>,
    splits: &mut [Split],
    shared: &[(u32, f64, f64, bool)],
    count_shared: bool,
    o: P,
    events: &mut Vec<Event>,
    clusters: &mut Vec<Cluster>,
) -> f64 {
    splits.sort_unstable_by(|p, q| p.edge.cmp(&q.edge).then(p.t.total_cmp(&q.t)));
    let n = sub_r.pts.len();
    let sgn = sub_r.sign;
    let mut sum = 0.0;
    // Exact inside/outside state of the boundary just walked, while nothing intervenes.
    let mut known: Option<bool> = None;
    let mut cursor = 0;
    for i in 0..n {
        let (s, e) = (sub_r.pts[i], sub_r.pts[(i + 1) % n]);
        let first = cursor;
        while cursor < splits.len() && splits[cursor].edge as usize == i {
            cursor += 1;
        }
        let here = &splits[first..cursor];
        if here.is_empty() {
            // Nothing touches this edge (s included: a touch there would be a split).
            let inside = if !overlaps(&sub_r.ebox[i], &clip.bbox) {
                false
            } else {
                known.unwrap_or_else(|| locate(s, clip.pts, &clip.bbox) > 0)
            };
            known = Some(inside);
            if inside {
                sum += cross(sub(s, o), sub(e, o)) * sgn;
            }
            continue;
        }
        events.clear();
        if here[0].t != 0.0 {
            let k = known.unwrap_or_else(|| locate(s, clip.pts, &clip.bbox) > 0);
            events.push(Event {
                t: 0.0,
                before: 0,
                after: if k { 1 } else { -1 },
                cluster: u32::MAX,
            });
        }
        events.extend(here.iter().map(|r| Event {
            t: r.t,
            before: r.before,
            after: r.after,
            cluster: 0,
        }));
        let end_virtual = here[here.len() - 1].t != 1.0;
        if end_virtual {
            events.push(Event {
                t: 1.0,
                before: LAZY,
                after: 0,
                cluster: 0,
            });
        }
        clusters.clear();
        for k in 0..events.len() {
            if k == 0 || events[k].t - events[k - 1].t > CLUSTER_EPS {
                clusters.push(Cluster::default());
            }
            let c = clusters.len() - 1;
            let ev = events[k];
            events[k].cluster = c as u32;
            let cl = &mut clusters[c];
            if ev.cluster == u32::MAX {
                cl.start_after = ev.after;
            } else if ev.before == LAZY {
                cl.has_end = true;
            } else {
                cl.after = agree(cl.after, ev.after);
                cl.before = agree(cl.before, ev.before);
            }
        }
        let d = sub(e, s);
        let at = |t: f64| {
            if t == 0.0 {
                s
            } else if t == 1.0 {
                e
            } else {
                [s[0] + t * d[0], s[1] + t * d[1]]
            }
        };
        let mut last_exact: Option<bool> = None;
        for k in 0..events.len() - 1 {
            let (t0, t1) = (events[k].t, events[k + 1].t);
            if t1 <= t0 {
                continue;
            }
            let tm = 0.5 * (t0 + t1);
            let on = shared
                .iter()
                .find(|&&(edge, lo, hi, _)| edge as usize == i && lo <= tm && tm <= hi);
            if let Some(&(_, _, _, same)) = on {
                if count_shared && same {
                    sum += cross(sub(at(t0), o), sub(at(t1), o)) * sgn;
                }
                last_exact = None;
                continue;
            }
            let (ca, cb) = (events[k].cluster as usize, events[k + 1].cluster as usize);
            let mut side = 0;
            if ca != cb {
                side = match clusters[ca].after {
                    0 => clusters[ca].start_after,
                    v => v,
                };
                if side != 1 && side != -1 {
                    side = match clusters[cb].before {
                        0 if clusters[cb].has_end => locate(e, clip.pts, &clip.bbox),
                        v => v,
                    };
                }
            }
            let inside = if side == 1 || side == -1 {
                last_exact = Some(side == 1);
                side == 1
            } else {
                last_exact = None;
                inside_even_odd([s[0] + tm * d[0], s[1] + tm * d[1]], clip.pts, &clip.bbox)
            };
            if inside {
                sum += cross(sub(at(t0), o), sub(at(t1), o)) * sgn;
            }
        }
        // Carry past e only what is exact; a split at e starts the next edge anyway.
        known = if end_virtual {
            let last_alone = events.len() >= 2
                && events[events.len() - 1].cluster != events[events.len() - 2].cluster;
            match last_exact {
                Some(k) if last_alone => Some(k),
                _ => Some(locate(e, clip.pts, &clip.bbox) > 0),
            }
        } else {
            None
        };
    }
    sum
}

/// (intersection, union) areas of two checked rings.
fn inter_union(a: Ring<'_>, b: Ring<'_>, sc: &mut Scratch) -> (f64, f64) {
    // A local origin keeps cross products small (little cancellation far from (0, 0)).
    // The lesser of the first vertices: the same for (a, b) and (b, a), so IoU is
    // symmetric to the bit unless the boundaries share stretches; and the origin of A's
    // area too when both rings start at the same vertex, so that identical polygons give
    // an intersection equal to the area to the last bit (IoU exactly 1).
    let o = if (b.pts[0][0], b.pts[0][1]) < (a.pts[0][0], a.pts[0][1]) {
        b.pts[0]
    } else {
        a.pts[0]
    };
    let (area_a, area_b) = (a.area, b.area);
    if !overlaps(&a.bbox, &b.bbox) {
        return (0.0, area_a + area_b);
    }
    meet(a, b, sc);
    let (ev, cl) = (&mut sc.events, &mut sc.clusters);
    let from_a = walk(a, b, &mut sc.splits_a, &sc.shared_a, true, o, ev, cl);
    let from_b = walk(b, a, &mut sc.splits_b, &sc.shared_b, false, o, ev, cl);
    let inter = (0.5 * (from_a + from_b)).clamp(0.0, area_a.min(area_b));
    (inter, area_a + area_b - inter)
}

/// Intersection over union of polygon pairs: `a[i]` with `b[i]`, or one polygon with every
/// polygon of the other set. Exact for simple polygons (see the module notes).
pub fn polygon_iou(a: &PolySet<'_>, b: &PolySet<'_>, threads: Option<usize>) -> Result<Vec<f64>> {
    let (na, nb) = (a.len(), b.len());
    if na != nb && na != 1 && nb != 1 {
        return Err(Error::invalid(
            b.arg,
            format!(
                "expected one polygon, or {na} polygons (one per polygon of {}), got {nb}",
                a.arg
            ),
        ));
    }
    crate::error::catch_panic(|| {
        let ra = prepare(a, true, threads)?;
        let rb = prepare(b, true, threads)?;
        let n = if na == 0 || nb == 0 { 0 } else { na.max(nb) };
        let pair = |k: usize, sc: &mut Scratch| {
            let i = if na == 1 { 0 } else { k };
            let j = if nb == 1 { 0 } else { k };
            let (inter, union) = inter_union(ra.view(i), rb.view(j), sc);
            inter / union
        };
        let work = ra.pts.len() + rb.pts.len();
        if n < 64 || work < 2048 || threads == Some(1) {
            let mut sc = Scratch::default();
            return Ok((0..n).map(|k| pair(k, &mut sc)).collect());
        }
        use rayon::prelude::*;
        crate::pool::install_for(n.div_ceil(32), threads, || {
            (0..n)
                .into_par_iter()
                .with_min_len(32)
                .map_init(Scratch::default, |sc, k| pair(k, sc))
                .collect()
        })
    })
}

/// Which `points` (flat `(x, y)` pairs) lie in `polygon` (flat pairs, any ring with at
/// least 3 distinct vertices). Points on the boundary count as inside; rings that cross
/// themselves are read with the even-odd rule. Exact (orientation predicates).
pub fn points_in_polygon(
    points: &[f64],
    polygon: &[f64],
    threads: Option<usize>,
) -> Result<Vec<bool>> {
    let offsets = [0, (polygon.len() / 2) as i64];
    let set = PolySet::new(polygon, &offsets, "polygon")?;
    if points.len() % 2 != 0 {
        return Err(Error::invalid("points", "expected an (N, 2) array"));
    }
    crate::error::catch_panic(|| {
        let rings = prepare(&set, false, Some(1))?;
        let r = rings.ring(0);
        let bb = rings.bbox[0];
        let test = |i: usize| locate([points[2 * i], points[2 * i + 1]], r, &bb) >= 0;
        par_map(points.len() / 2, points.len() / 2 * r.len(), threads, test)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(polys: &[&[P]]) -> (Vec<f64>, Vec<i64>) {
        let mut xy = vec![];
        let mut off = vec![0i64];
        for p in polys {
            for q in *p {
                xy.extend_from_slice(q);
            }
            off.push((xy.len() / 2) as i64);
        }
        (xy, off)
    }

    fn iou(a: &[P], b: &[P]) -> f64 {
        let (xa, oa) = set(&[a]);
        let (xb, ob) = set(&[b]);
        let sa = PolySet::new(&xa, &oa, "a").unwrap();
        let sb = PolySet::new(&xb, &ob, "b").unwrap();
        polygon_iou(&sa, &sb, Some(1)).unwrap()[0]
    }

    fn area(a: &[P]) -> f64 {
        let (x, o) = set(&[a]);
        polygon_area(&PolySet::new(&x, &o, "p").unwrap(), None).unwrap()[0]
    }

    const SQ: [P; 4] = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];

    #[test]
    fn squares() {
        assert_eq!(area(&SQ), 4.0);
        assert_eq!(iou(&SQ, &SQ), 1.0);
        let rev: Vec<P> = SQ.iter().rev().copied().collect();
        assert_eq!(iou(&SQ, &rev), 1.0);
        let rot = [SQ[2], SQ[3], SQ[0], SQ[1]];
        assert_eq!(iou(&SQ, &rot), 1.0);
        let shifted = [[1.0, 0.0], [3.0, 0.0], [3.0, 2.0], [1.0, 2.0]];
        assert!((iou(&SQ, &shifted) - 2.0 / 6.0).abs() < 1e-15);
        let touching = [[2.0, 0.0], [4.0, 0.0], [4.0, 2.0], [2.0, 2.0]];
        assert_eq!(iou(&SQ, &touching), 0.0);
        let inner = [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]];
        assert!((iou(&SQ, &inner) - 0.25 / 4.0).abs() < 1e-15);
        assert!((iou(&inner, &SQ) - 0.25 / 4.0).abs() < 1e-15);
        // Shares two edges and a corner with SQ, from inside.
        let corner = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert!((iou(&SQ, &corner) - 0.25).abs() < 1e-15);
        // T-junction: vertex of one on an edge of the other.
        let tri = [[1.0, 0.0], [3.0, 1.0], [1.0, 2.0]];
        // The triangle's part inside the square is a trapezoid of area 1.5.
        let want = 1.5 / (4.0 + 2.0 - 1.5);
        assert!((iou(&SQ, &tri) - want).abs() < 1e-15, "{}", iou(&SQ, &tri));
        assert!((iou(&tri, &SQ) - want).abs() < 1e-15, "{}", iou(&tri, &SQ));
    }

    #[test]
    fn non_convex() {
        // A "U" and a bar across its arms: the bar's middle lies in the gap.
        let u = [
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 3.0],
            [2.0, 3.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 3.0],
            [0.0, 3.0],
        ];
        assert_eq!(area(&u), 7.0);
        let bar = [[-1.0, 2.0], [4.0, 2.0], [4.0, 2.5], [-1.0, 2.5]];
        // Inside the arms: 2 x (1 x 0.5).
        let want = 1.0 / (7.0 + 2.5 - 1.0);
        assert!((iou(&u, &bar) - want).abs() < 1e-15);
        assert!((iou(&bar, &u) - want).abs() < 1e-15);
    }

    #[test]
    fn bad_polygons() {
        let bow = [[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]];
        let (x, o) = set(&[&SQ, &bow]);
        let e = polygon_area(&PolySet::new(&x, &o, "polygons").unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("polygon 1 is not simple"), "{e}");
        let two = [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]];
        let (x, o) = set(&[&two]);
        let e = polygon_area(&PolySet::new(&x, &o, "p").unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 distinct points"), "{e}");
        let line = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]];
        let (x, o) = set(&[&line]);
        assert!(polygon_area(&PolySet::new(&x, &o, "p").unwrap(), None).is_err());
        // Touching itself at a vertex.
        let pinch = [
            [0.0, 0.0],
            [2.0, 0.0],
            [1.0, 1.0],
            [2.0, 2.0],
            [0.0, 2.0],
            [1.0, 1.0],
        ];
        let (x, o) = set(&[&pinch]);
        assert!(polygon_area(&PolySet::new(&x, &o, "p").unwrap(), None).is_err());
        // Closed ring and repeated points are fine.
        let closed = [SQ[0], SQ[1], SQ[1], SQ[2], SQ[3], SQ[0]];
        assert_eq!(area(&closed), 4.0);
    }

    #[test]
    fn large_rings_use_the_sweeps() {
        // Two 400-gons (circles), offset: compare with the analytic lens area loosely and
        // with the small-ring path by symmetry.
        let circle = |cx: f64, n: usize| -> Vec<P> {
            (0..n)
                .map(|k| {
                    let t = k as f64 * std::f64::consts::TAU / n as f64;
                    [cx + t.cos(), t.sin()]
                })
                .collect()
        };
        let a = circle(0.0, 400);
        let b = circle(1.0, 400);
        let v = iou(&a, &b);
        let r = 1.0f64;
        let d = 1.0f64;
        let lens = 2.0 * r * r * (d / (2.0 * r)).acos() - 0.5 * d * (4.0 * r * r - d * d).sqrt();
        let want = lens / (2.0 * std::f64::consts::PI - lens);
        assert!((v - want).abs() < 1e-3, "{v} {want}");
        assert!((iou(&b, &a) - v).abs() < 1e-14);
        assert!((area(&a) - std::f64::consts::PI).abs() < 1e-3);
    }

    #[test]
    fn near_degenerate_snapped_vertices() {
        // Vertices of one polygon placed on the other's edges in floating point (off by
        // rounding), nearly parallel edges, and a shared vertex: the classification of
        // each piece must stay exact. Expected values checked by Monte Carlo (GEOS gets
        // the first one wrong: 0.0).
        let a = [
            [4.07547422674703, 44.083834786900084],
            [-3.9843386202213056, 60.468560788167096],
            [1.699832982748502, 54.79968307897],
        ];
        let b = [
            [4.07547422674703, 44.083834786900084],
            [1.6998329827485021, 54.79968307897],
            [-1.1422528187364018, 57.63412193356855],
        ];
        assert!((iou(&a, &b) - 0.5).abs() < 1e-12, "{}", iou(&a, &b));
        let a = [
            [25.158151128016836, 84.38034014098913],
            [14.628205505920159, 74.58560716410756],
            [24.94484694818198, 71.90480618096625],
        ];
        let b = [
            [22.742961371057795, 68.26288747376745],
            [22.81043575962112, 72.45943741873342],
            [19.286527684119093, 78.91868004911822],
            [21.0960191569521, 80.60183079238051],
            [20.84081872411819, 78.05834743502635],
            [24.968005266475668, 73.25926808862143],
        ];
        assert!((iou(&a, &b) - 0.19865066490053268).abs() < 1e-12);
        let a = [
            [14.458648578202824, 28.75399845280789],
            [-4.3560285984619505, 36.49623830032422],
            [15.638294884972714, 53.94287171299591],
        ];
        let b = [
            [-4.356028598461949, 36.49623830032422],
            [15.638294884972597, 53.94287171299339],
            [14.458648578202824, 28.75399845280789],
        ];
        assert!((iou(&a, &b) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn orient_value_is_accurate() {
        // Nearly collinear: the plain formula cancels to noise, double-double does not.
        let a = [0.1, 0.1];
        let b = [0.3, 0.3];
        let c = [0.7, 0.7 + 1e-15];
        let v = orient_value(a, b, c);
        // Exact value of (b - a) x (c - a) for these doubles, via f64 -> exact rationals:
        // the sign must match the exact predicate and the magnitude be about 2e-16.
        assert_eq!(v > 0.0, orient(a, b, c) > 0.0);
        assert!(v.abs() > 1e-17 && v.abs() < 1e-15, "{v:e}");
    }

    #[test]
    fn points() {
        let u = [
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 3.0],
            [2.0, 3.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 3.0],
            [0.0, 3.0],
        ];
        let poly: Vec<f64> = u.iter().flatten().copied().collect();
        let pts = [
            0.5, 0.5, // inside
            1.5, 2.0, // in the gap
            1.5, 1.0, // on the gap's bottom edge
            3.0, 1.5, // on the right edge
            0.0, 0.0, // a vertex
            -1.0, 1.0, // outside
            2.5, 3.0, // top of the right arm
            1.0, 3.0, // vertex at the gap
        ];
        let got = points_in_polygon(&pts, &poly, None).unwrap();
        assert_eq!(got, [true, false, true, true, true, false, true, true]);
        // Even-odd on a bowtie.
        let bow = [0.0, 0.0, 2.0, 2.0, 2.0, 0.0, 0.0, 2.0];
        let got = points_in_polygon(&[1.5, 1.0, 1.0, 1.5, 1.0, 1.0], &bow, None).unwrap();
        assert_eq!(got, [true, false, true]);
    }
}
