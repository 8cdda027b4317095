"""Polygon area, IoU, simplification and point tests against shapely 2 (GEOS), on random
simple non-convex polygons: star shapes with free coordinates, and grid polygons that share
edges, vertices and T-junctions with each other (the degenerate cases annotations have)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pixfeed

shapely = pytest.importorskip("shapely")

REL = 1e-9


def star(rng: np.random.Generator, k: int, center: np.ndarray, r: float) -> np.ndarray:
    """A simple, usually non-convex polygon: one vertex per angular sector around `center`."""
    ang = (np.arange(k) + rng.uniform(0.05, 0.95, k)) * (2 * np.pi / k)
    rad = r * rng.uniform(0.25, 1.0, k)
    pts = np.stack([center[0] + rad * np.cos(ang), center[1] + rad * np.sin(ang)], 1)
    return pts[::-1] if rng.random() < 0.5 else pts  # both orientations


def grid_polygon(rng: np.random.Generator, size: int = 6) -> np.ndarray:
    """A random skyline on the integer grid (columns of random heights), turned and
    mirrored at random: simple, non-convex, and sharing edges, stretches of edges,
    vertices and T-junctions with other such polygons."""
    k = int(rng.integers(1, size + 1))
    h = rng.integers(1, size + 1, k)
    top = [(x, y) for i in range(k - 1, -1, -1) for x, y in ((i + 1, h[i]), (i, h[i]))]
    ring = np.array([(0, 0), (k, 0), *top], float)
    ring = ring[np.any(ring != np.roll(ring, 1, axis=0), axis=1)]  # repeated corners
    for _ in range(int(rng.integers(0, 4))):
        ring = ring[:, ::-1] * [1, -1]  # quarter turn
    if rng.random() < 0.5:
        ring = ring[::-1]
    return ring


@st.composite
def polygon_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["star", "grid", "far"]))
    if kind == "grid":
        a, b = grid_polygon(rng), grid_polygon(rng)
        shift = rng.integers(-2, 3, 2) * draw(st.sampled_from([1.0, 0.5]))
        return a, b + shift
    offset = 1e6 if kind == "far" else 0.0
    c = rng.uniform(0, 100, 2) + offset
    r = rng.uniform(5, 30)
    a = star(rng, int(rng.integers(3, 20)), c, r)
    b = star(rng, int(rng.integers(3, 20)), c + rng.uniform(-r, r, 2), r * rng.uniform(0.5, 1.5))
    return a, b


def shapely_iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = shapely.Polygon(a), shapely.Polygon(b)
    inter = shapely.intersection(pa, pb).area
    return float(inter / (pa.area + pb.area - inter))


def close(got: float, want: float) -> bool:
    return abs(got - want) <= REL * abs(want) if want != 0 else abs(got) <= 1e-12


@settings(max_examples=200, deadline=None)
@given(polygon_pairs())
def test_area_and_iou_equal_shapely(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    for p in (a, b):
        assert close(pixfeed.polygon_area(p), shapely.Polygon(p).area)
    want = shapely_iou(a, b)
    assert close(pixfeed.polygon_iou(a, b), want), (pixfeed.polygon_iou(a, b), want)
    assert close(pixfeed.polygon_iou(b, a), want)


def test_vectorized_iou_equals_shapely() -> None:
    rng = np.random.default_rng(0)
    a, b = [], []
    for _ in range(2000):
        c, r = rng.uniform(0, 500, 2), rng.uniform(5, 30)
        a.append(star(rng, int(rng.integers(3, 16)), c, r))
        b.append(star(rng, int(rng.integers(3, 16)), c + rng.uniform(-r, r, 2), r))
    got = pixfeed.polygon_iou(a, b)
    assert got.shape == (2000,) and got.dtype == np.float64
    ga = np.array([shapely.Polygon(p) for p in a])
    gb = np.array([shapely.Polygon(p) for p in b])
    inter = shapely.area(shapely.intersection(ga, gb))
    want = inter / (shapely.area(ga) + shapely.area(gb) - inter)
    nz = want > 0
    assert np.all(np.abs(got[nz] - want[nz]) <= REL * want[nz])
    assert np.all(np.abs(got[~nz]) <= 1e-12)
    np.testing.assert_allclose(pixfeed.polygon_area(a), shapely.area(ga), rtol=REL)
    # Same answers one thread at a time, and from the (P, K, 2) form.
    np.testing.assert_array_equal(pixfeed.polygon_iou(a, b, threads=1), got)
    a3 = np.stack([star(rng, 8, np.zeros(2), 10) for _ in range(50)])
    b3 = a3 + 3.0
    np.testing.assert_array_equal(pixfeed.polygon_iou(a3, b3), pixfeed.polygon_iou(list(a3), b3))


def test_grid_polygons_sharing_edges_equal_shapely() -> None:
    # Outlines of cell unions shifted by whole or half cells: many pairs share edges,
    # stretches of edges, vertices and T-junctions.
    rng = np.random.default_rng(3)
    a, b = [], []
    for _ in range(1500):
        a.append(grid_polygon(rng, 4))
        b.append(grid_polygon(rng, 4) + rng.integers(-1, 2, 2) * rng.choice([1.0, 0.5]))
    got = pixfeed.polygon_iou(a, b)
    ga = np.array([shapely.Polygon(p) for p in a])
    gb = np.array([shapely.Polygon(p) for p in b])
    inter = shapely.area(shapely.intersection(ga, gb))
    want = inter / (shapely.area(ga) + shapely.area(gb) - inter)
    bad = [i for i in range(len(a)) if not close(got[i], want[i])]
    assert not bad, [(a[i].tolist(), b[i].tolist()) for i in bad[:3]]
    # The degenerate cases are really exercised.
    shared = shapely.length(shapely.intersection(shapely.boundary(ga), shapely.boundary(gb)))
    assert np.count_nonzero(shared > 0) > 500


def exact_iou_convex(a: np.ndarray, b: np.ndarray) -> float:
    """Exact IoU when `a` is convex: Sutherland-Hodgman clipping of `b` by `a` in rational
    arithmetic (the clipped ring may have degenerate stretches; its shoelace area is exact
    all the same)."""

    def q(p: np.ndarray) -> list[tuple[Fraction, Fraction]]:
        return [(Fraction(x), Fraction(y)) for x, y in p.tolist()]

    def area2(r: list[tuple[Fraction, Fraction]]) -> Fraction:
        return sum(
            (
                r[i][0] * r[(i + 1) % len(r)][1] - r[(i + 1) % len(r)][0] * r[i][1]
                for i in range(len(r))
            ),
            Fraction(0),
        )

    ca, out = q(a), q(b)
    if area2(ca) < 0:
        ca = ca[::-1]
    for i in range(len(ca)):
        (px, py), (qx, qy) = ca[i], ca[(i + 1) % len(ca)]

        def side(p: tuple[Fraction, Fraction]) -> Fraction:
            return (qx - px) * (p[1] - py) - (qy - py) * (p[0] - px)  # noqa: B023

        src, out = out, []
        for k in range(len(src)):
            cur, nxt = src[k], src[(k + 1) % len(src)]
            sc, sn = side(cur), side(nxt)
            if sc >= 0:
                out.append(cur)
            if (sc > 0 > sn) or (sc < 0 < sn):
                t = sc / (sc - sn)
                out.append((cur[0] + t * (nxt[0] - cur[0]), cur[1] + t * (nxt[1] - cur[1])))
        if not out:
            return 0.0
    inter = abs(area2(out))
    union = abs(area2(ca)) + abs(area2(q(b))) - inter
    return float(inter / union)


def test_snapped_vertices_against_exact_arithmetic() -> None:
    # Vertices of b placed on a's edges in floating point (off by rounding) or on a's
    # vertices exactly: nearly parallel edges, T-junctions that are not quite, slivers. An
    # exact rational oracle (GEOS itself gets some of these wrong).
    rng = np.random.default_rng(4)
    a_list, b_list = [], []
    while len(a_list) < 300:
        c, r = rng.uniform(0, 100, 2), rng.uniform(5, 30)
        k = int(rng.integers(3, 7))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        a = np.stack([c[0] + r * np.cos(ang), c[1] + r * np.sin(ang)], 1)  # convex
        b = star(rng, int(rng.integers(3, 10)), c + rng.uniform(-r, r, 2), r)
        for i in range(len(b)):
            u, j = rng.random(), int(rng.integers(len(a)))
            if u < 0.35:
                t = rng.choice([rng.random(), 1e-13, 1 - 1e-13, 1e-16])
                b[i] = a[j] + t * (a[(j + 1) % len(a)] - a[j])
            elif u < 0.5:
                b[i] = a[j]
        if shapely.Polygon(a).is_valid and shapely.Polygon(b).is_valid:
            a_list.append(a)
            b_list.append(b)
    got = pixfeed.polygon_iou(a_list, b_list)
    for a, b, g in zip(a_list, b_list, got, strict=True):
        want = exact_iou_convex(a, b)
        assert abs(g - want) <= 1e-9 * max(want, 1e-3), (a.tolist(), b.tolist(), g, want)


def test_broadcast_one_against_many() -> None:
    rng = np.random.default_rng(1)
    one = star(rng, 12, np.array([50.0, 50.0]), 20)
    many = [star(rng, 9, rng.uniform(30, 70, 2), 15) for _ in range(100)]
    got = pixfeed.polygon_iou(one, many)
    np.testing.assert_array_equal(got, pixfeed.polygon_iou([one] * 100, many))
    np.testing.assert_array_equal(pixfeed.polygon_iou(many, one), got)
    with pytest.raises(ValueError, match=r"^b: expected one polygon, or 100 polygons"):
        pixfeed.polygon_iou(many, many[:3])


def test_exact_degenerate_cases() -> None:
    sq = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    assert pixfeed.polygon_iou(sq, sq) == 1.0
    assert pixfeed.polygon_iou(sq, sq[::-1]) == 1.0
    assert pixfeed.polygon_iou(sq, np.roll(sq, 1, axis=0)) == pytest.approx(1.0, abs=1e-15)
    assert pixfeed.polygon_iou(sq, sq + np.array([2, 0])) == 0.0  # touching along an edge
    assert pixfeed.polygon_iou(sq, sq + np.array([2, 2])) == 0.0  # touching at a corner
    assert pixfeed.polygon_iou(sq, sq + np.array([5, 5])) == 0.0
    closed = np.vstack([sq, sq[:1]])
    dup = np.array([[0, 0], [2, 0], [2, 0], [2, 2], [0, 2], [0, 0]], float)
    assert pixfeed.polygon_iou(closed, dup) == 1.0
    assert pixfeed.polygon_area(closed) == 4.0
    # Large polygons (many vertices) take the sorted-edge paths.
    t = np.linspace(0, 2 * np.pi, 3000, endpoint=False)
    circle = np.stack([np.cos(t), np.sin(t)], 1)
    moved = circle + np.array([0.5, 0.2])
    assert close(pixfeed.polygon_iou(circle, moved), shapely_iou(circle, moved))


def test_bad_polygons() -> None:
    bow = [[0, 0], [2, 2], [2, 0], [0, 2]]
    sq = [[0, 0], [1, 0], [1, 1], [0, 1]]
    with pytest.raises(ValueError, match=r"^polygon: polygon 0 is not simple: edges 0 and 2"):
        pixfeed.polygon_area(bow)
    with pytest.raises(ValueError, match=r"^b: polygon 1 is not simple"):
        pixfeed.polygon_iou([sq, sq], [sq, bow])
    with pytest.raises(ValueError, match=r"^a: polygon 0 has 2 distinct points"):
        pixfeed.polygon_iou([[0, 0], [1, 1], [0, 0]], sq)
    with pytest.raises(ValueError, match=r"not simple"):  # a spike doubling back
        pixfeed.polygon_area([[0, 0], [2, 0], [1, 0], [1, 1]])
    with pytest.raises(ValueError, match=r"not simple"):  # collinear: zero area
        pixfeed.polygon_area([[0, 0], [1, 0], [2, 0]])
    with pytest.raises(ValueError, match=r"non-finite"):
        pixfeed.polygon_area([[0, 0], [1, np.nan], [1, 1]])
    with pytest.raises(ValueError, match=r"^polygon: expected a \(K, 2\) array"):
        pixfeed.polygon_area(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"^polygon\[1\]: expected a \(K, 2\) array"):
        pixfeed.polygon_area([np.zeros((3, 2)), np.zeros((4, 3))])
    with pytest.raises(TypeError, match=r"^polygon: expected"):
        pixfeed.polygon_area("square")
    assert pixfeed.polygon_area([]).shape == (0,)
    assert pixfeed.polygon_iou([], []).shape == (0,)


def test_points_in_polygon_equals_shapely_intersects() -> None:
    rng = np.random.default_rng(2)
    for _ in range(30):
        poly = grid_polygon(rng, 5)
        edges = np.roll(poly, -1, axis=0)
        pts = np.concatenate(
            [
                rng.uniform(-1, 6, (200, 2)),
                rng.integers(-1, 7, (100, 2)).astype(float),
                poly,  # vertices
                (poly + edges) / 2,  # edge midpoints
            ]
        )
        got = pixfeed.points_in_polygon(pts, poly)
        want = shapely.intersects_xy(shapely.Polygon(poly), pts[:, 0], pts[:, 1])
        np.testing.assert_array_equal(got, want)
    p = star(rng, 11, np.zeros(2), 10)
    pts = rng.uniform(-10, 10, (5000, 2))
    np.testing.assert_array_equal(
        pixfeed.points_in_polygon(pts, p),
        shapely.intersects_xy(shapely.Polygon(p), pts[:, 0], pts[:, 1]),
    )
    assert pixfeed.points_in_polygon((0.0, 0.0), p) is True
    assert pixfeed.points_in_polygon(np.zeros((0, 2)), p).shape == (0,)


def test_points_in_self_intersecting_polygon_is_even_odd() -> None:
    bow = [[0, 0], [2, 2], [2, 0], [0, 2]]
    got = pixfeed.points_in_polygon([[1.5, 1.0], [0.5, 1.0], [1.0, 1.5], [1.0, 1.0]], bow)
    assert got.tolist() == [True, True, False, True]
    with pytest.raises(ValueError, match=r"^polygon: polygon 0 has 2 distinct points"):
        pixfeed.points_in_polygon([[0, 0]], [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match=r"^points: expected an \(N, 2\) array"):
        pixfeed.points_in_polygon([[0, 0, 0]], bow)


def noisy_ring(rng: np.random.Generator, k: int) -> np.ndarray:
    t = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = 10 + rng.normal(0, 0.3, k)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0, 3.0, 8.0]))
def test_simplify_equals_shapely(seed: int, tol: float) -> None:
    rng = np.random.default_rng(seed)
    ring = noisy_ring(rng, int(rng.integers(4, 120)))
    got = pixfeed.simplify_polygon(ring, tol)
    ref = shapely.Polygon(ring).simplify(tol, preserve_topology=False)
    if len(got) == 0:
        assert ref.is_empty
    elif shapely.Polygon(got).is_valid:
        # shapely returns the Douglas-Peucker ring itself when it is valid.
        np.testing.assert_array_equal(got, np.asarray(ref.exterior.coords)[:-1])
    # Open polylines: no repair step, always the same vertices.
    line = ring[: max(2, len(ring) // 2)]
    want = np.asarray(shapely.LineString(line).simplify(tol, preserve_topology=False).coords)
    np.testing.assert_array_equal(pixfeed.simplify_polygon(line, tol, closed=False), want)


def test_simplify_forms_and_errors() -> None:
    sq = [[1, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
    np.testing.assert_array_equal(
        pixfeed.simplify_polygon(sq, 0.1), [[2, 0], [2, 2], [0, 2], [0, 0]]
    )
    out = pixfeed.simplify_polygon([np.array(sq, float), np.array(sq, float) * 3], 0.1)
    assert isinstance(out, list) and len(out) == 2 and out[1].shape == (4, 2)
    assert pixfeed.simplify_polygon([[0, 0], [1, 0], [0.5, 0.01]], 0.1).shape == (0, 2)
    with pytest.raises(ValueError, match=r"^tolerance: must be a finite number >= 0"):
        pixfeed.simplify_polygon(sq, -1)
    with pytest.raises(ValueError, match=r"^points: polygon 0 has 2 points"):
        pixfeed.simplify_polygon([[0, 0], [1, 1]], 0.1)
    assert pixfeed.simplify_polygon([[0, 0], [1, 1]], 0.1, closed=False).shape == (2, 2)
