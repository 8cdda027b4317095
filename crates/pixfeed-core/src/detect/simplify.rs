//! Douglas-Peucker simplification, vertex for vertex as GEOS (shapely 2's
//! `simplify(tolerance, preserve_topology=False)`): the same recursion (first farthest
//! vertex wins ties, vertices at distance <= tolerance are dropped), the same
//! point-to-segment distance arithmetic, and for rings GEOS's last step that also drops
//! the start vertex when it lies within tolerance of the segment joining its neighbours.
//! A ring that collapses below 3 vertices becomes empty, as shapely's polygon does.
//! Unlike shapely, no `buffer(0)` repair follows: with a large tolerance the result may
//! self-intersect (shapely would then return a re-noded polygon instead).

use super::polygon::PolySet;
use crate::{Error, Result};

type P = [f64; 2];

/// GEOS `Distance::pointToSegment`, operation for operation.
fn point_segment_distance(p: P, a: P, b: P) -> f64 {
    let dist = |u: P, v: P| {
        let (dx, dy) = (u[0] - v[0], u[1] - v[1]);
        (dx * dx + dy * dy).sqrt()
    };
    if a == b {
        return dist(p, a);
    }
    let len2 = (b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1]);
    let r = ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / len2;
    if r <= 0.0 {
        return dist(p, a);
    }
    if r >= 1.0 {
        return dist(p, b);
    }
    let s = ((a[1] - p[1]) * (b[0] - a[0]) - (a[0] - p[0]) * (b[1] - a[1])) / len2;
    s.abs() * len2.sqrt()
}

/// Douglas-Peucker over `pts` keeping both ends; an explicit stack instead of recursion
/// (the sections are independent, so the visiting order does not change the result).
fn douglas_peucker(pts: &[P], tol: f64) -> Vec<bool> {
    let n = pts.len();
    let mut keep = vec![true; n];
    if n < 3 {
        return keep;
    }
    let mut stack = vec![(0usize, n - 1)];
    while let Some((i, j)) = stack.pop() {
        if i + 1 >= j {
            continue;
        }
        let (a, b) = (pts[i], pts[j]);
        let mut max_d = -1.0;
        let mut max_k = i;
        for (k, &p) in pts.iter().enumerate().take(j).skip(i + 1) {
            let d = point_segment_distance(p, a, b);
            if d > max_d {
                max_d = d;
                max_k = k;
            }
        }
        if max_d <= tol {
            keep[i + 1..j].iter_mut().for_each(|k| *k = false);
        } else {
            stack.push((max_k, j));
            stack.push((i, max_k));
        }
    }
    keep
}

/// Simplify one ring (`closed`, returned without a closing vertex, empty if it collapses)
/// or one open polyline (ends kept).
pub fn simplify_one(pts: &[P], tol: f64, closed: bool) -> Vec<P> {
    if !closed {
        let keep = douglas_peucker(pts, tol);
        return pts
            .iter()
            .zip(&keep)
            .filter(|(_, &k)| k)
            .map(|(p, _)| *p)
            .collect();
    }
    let mut ring: Vec<P> = pts.to_vec();
    if ring.len() > 1 && ring[0] == ring[ring.len() - 1] {
        ring.pop();
    }
    if ring.is_empty() {
        return ring;
    }
    ring.push(ring[0]);
    let keep = douglas_peucker(&ring, tol);
    let mut out: Vec<P> = ring
        .iter()
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|(p, _)| *p)
        .collect();
    // GEOS `simplifyRingEndpoint`: the start vertex goes too when it is within tolerance of
    // the segment from its successor to its predecessor.
    if out.len() >= 4 && point_segment_distance(out[0], out[1], out[out.len() - 2]) <= tol {
        out.remove(0);
        out.pop();
        out.push(out[0]);
    }
    if out.len() < 4 {
        return Vec::new();
    }
    out.pop();
    out
}

/// Simplify every polygon (or polyline) of `set`; the result is packed the same way
/// (coordinates, offsets).
pub fn simplify(set: &PolySet<'_>, tol: f64, closed: bool) -> Result<(Vec<f64>, Vec<i64>)> {
    if !(tol >= 0.0 && tol.is_finite()) {
        return Err(Error::invalid(
            "tolerance",
            format!("must be a finite number >= 0, got {tol}"),
        ));
    }
    let need = if closed { 3 } else { 2 };
    let mut xy = Vec::new();
    let mut offsets = vec![0i64];
    for i in 0..set.len() {
        let raw = set.points(i);
        if raw.iter().any(|c| !c.is_finite()) {
            return Err(Error::invalid(
                set.arg(),
                format!("polygon {i} has a non-finite coordinate"),
            ));
        }
        let pts: Vec<P> = raw.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        let distinct = if closed && pts.len() > 1 && pts[0] == pts[pts.len() - 1] {
            pts.len() - 1
        } else {
            pts.len()
        };
        if distinct < need {
            let what = if closed { "a polygon" } else { "a line" };
            return Err(Error::invalid(
                set.arg(),
                format!("polygon {i} has {distinct} points; {what} needs at least {need}"),
            ));
        }
        for p in simplify_one(&pts, tol, closed) {
            xy.extend_from_slice(&p);
        }
        offsets.push((xy.len() / 2) as i64);
    }
    Ok((xy, offsets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_endpoint_is_dropped_like_geos() {
        let sq = [[1.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]];
        assert_eq!(
            simplify_one(&sq, 0.1, true),
            vec![[2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]]
        );
        // As an open line the ends stay.
        assert_eq!(simplify_one(&sq, 0.1, false), sq.to_vec());
    }

    #[test]
    fn collapse_and_bump() {
        let flat = [[0.0, 0.0], [1.0, 0.0], [0.5, 0.01]];
        assert!(simplify_one(&flat, 0.1, true).is_empty());
        let bump = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.01], [0.0, 1.0]];
        assert_eq!(
            simplify_one(&bump, 0.1, true),
            vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
        );
        assert_eq!(simplify_one(&bump, 0.0, true), bump.to_vec());
    }

    #[test]
    fn long_line_no_recursion_limit() {
        // A spiral: every vertex is kept at tolerance 0 and the sections nest deeply.
        let pts: Vec<P> = (0..200_000)
            .map(|k| {
                let t = k as f64 * 0.01;
                [t * t.cos(), t * t.sin()]
            })
            .collect();
        assert_eq!(simplify_one(&pts, 0.0, false).len(), pts.len());
    }

    #[test]
    fn errors() {
        let xy = [0.0, 0.0, 1.0, 1.0];
        let off = [0i64, 2];
        let set = PolySet::new(&xy, &off, "points").unwrap();
        assert!(simplify(&set, 0.5, true)
            .unwrap_err()
            .to_string()
            .contains("at least 3"));
        assert!(simplify(&set, 0.5, false).is_ok());
        assert!(simplify(&set, -1.0, false)
            .unwrap_err()
            .to_string()
            .starts_with("tolerance"));
    }
}
