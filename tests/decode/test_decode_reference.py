"""`pixfeed.decode` against Pillow, fixture by fixture and mode by mode (docs/decoding.md).

JPEG, PNG, BMP and lossless WebP must be *identical* to Pillow (libjpeg-turbo islow IDCT and
fancy upsampling for JPEG, exif_transpose applied). Lossy WebP is decoded by image-webp, not
libwebp, so it is compared within LOSSY_WEBP_* below (measured; see the constants).

Documented divergences (pixfeed's codec docs, not Pillow): an eXIf chunk *after* IDAT is
ignored (probe is header-only and decoding stops after the last needed row); pinned by
test_png_exif_after_idat_is_ignored.
"""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
from PIL import Image, ImageOps

import pixfeed
from conftest import (
    MODES,
    SPECS,
    FixtureSet,
    assert_output_array,
    channels_of,
    diff_report,
    names,
    orient,
    pil_open,
    pil_orientation,
    pil_reference,
    psnr,
)

# Lossy WebP: pixfeed decodes VP8 with image-webp, Pillow with libwebp 1.6. Measured on every
# lossy fixture here (quality 10..100, method 0..6, ALPH alpha, odd sizes) in every mode: max
# abs difference 0, i.e. bit-identical. A second VP8 implementation is not guaranteed to be
# identical on every stream, so the bound leaves room for rare +-1 rounding differences only:
LOSSY_WEBP_MAX_ABS = 2  # no sample may differ by more than this
LOSSY_WEBP_MEAN_ABS = 0.02  # mean absolute difference over all samples
LOSSY_WEBP_MIN_PSNR = 55.0  # dB

# Documented divergences from Pillow are tested on their own (see the end of this module).
IMAGES = names(no_tags=["xmp_orientation", "exif_after_idat"])
EXACT = [n for n in IMAGES if not SPECS[n].lossy]
LOSSY = [n for n in IMAGES if SPECS[n].lossy]
ORIENTED = names(any_tags=["orient"], no_tags=["exif_after_idat"])


def assert_lossy_close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape, (got.shape, want.shape)
    d = np.abs(got.astype(np.int64) - want.astype(np.int64))
    p = psnr(got, want)
    msg = f"max {d.max()}, mean {d.mean():.4f}, PSNR {p:.2f} dB"
    assert d.max() <= LOSSY_WEBP_MAX_ABS, msg
    assert d.mean() <= LOSSY_WEBP_MEAN_ABS, msg
    assert p >= LOSSY_WEBP_MIN_PSNR, msg


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", EXACT)
def test_identical_to_pillow(fx: FixtureSet, name: str, mode: str) -> None:
    path = fx.path(name)
    got = pixfeed.decode(path, mode=mode)
    assert_output_array(got)
    want = pil_reference(path, mode)
    assert got.shape == want.shape, f"{name} {mode}: {got.shape} != Pillow {want.shape}"
    assert np.array_equal(got, want), f"{name} {mode}: {diff_report(got, want)}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", LOSSY)
def test_lossy_webp_close_to_pillow(fx: FixtureSet, name: str, mode: str) -> None:
    path = fx.path(name)
    got = pixfeed.decode(path, mode=mode)
    assert_output_array(got)
    want = pil_reference(path, mode)
    assert_lossy_close(got, want)
    if mode == "RGBA" and "alpha" in SPECS[name].tags:
        # The alpha plane of lossy WebP is losslessly coded: it must be exact.
        assert np.array_equal(got[..., 3], want[..., 3]), diff_report(got[..., 3], want[..., 3])


@pytest.mark.parametrize("name", ORIENTED)
def test_apply_exif_false_is_stored_geometry(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    got = pixfeed.decode(path, apply_exif=False)
    want = pil_reference(path, "RGB", apply_exif=False)
    if SPECS[name].lossy:
        assert_lossy_close(got, want)
    else:
        assert np.array_equal(got, want), diff_report(got, want)
    # and the oriented decode is exactly the stored one, transposed/flipped
    oriented = pixfeed.decode(path)
    assert np.array_equal(oriented, orient(got, pil_orientation(path)))


def test_every_orientation_fixture_is_really_oriented(fx: FixtureSet) -> None:
    """Guard against a fixture bug making the orientation tests vacuous."""
    seen = {SPECS[n].fmt: set() for n in ORIENTED}
    for n in ORIENTED:
        o = pil_orientation(fx.path(n))
        assert o == SPECS[n].orientation, n
        seen[SPECS[n].fmt].add(o)
    for fmt, os_ in seen.items():
        assert os_ == set(range(1, 9)), (fmt, os_)


# ------------------------------------------------------------------------------------------
# mode="unchanged"
# ------------------------------------------------------------------------------------------


def unchanged_reference(fx: FixtureSet, name: str, nch: int) -> np.ndarray:
    """What ``mode="unchanged"`` must hold, given its channel count."""
    spec = SPECS[name]
    truth = fx.truth(name)
    o = pil_orientation(fx.path(name))
    if spec.bit_depth == 16:
        assert truth is not None
        t = truth[..., 0] if truth.ndim == 3 and truth.shape[2] == 1 else truth
        return orient(t, o)
    if nch == 4 and "cmyk" in spec.tags:
        return np.asarray(pil_open(fx.path(name)))  # Pillow's CMYK values
    im = pil_open(fx.path(name))
    return np.asarray(im.convert({1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[nch]))


@pytest.mark.parametrize("name", IMAGES)
def test_unchanged(fx: FixtureSet, name: str) -> None:
    spec = SPECS[name]
    path = fx.path(name)
    got = pixfeed.decode(path, mode="unchanged")
    assert_output_array(got, dtype=np.uint16 if spec.bit_depth == 16 else np.uint8)
    assert got.ndim in (2, 3), got.shape
    if got.ndim == 3:
        assert got.shape[2] in (2, 3, 4), "one channel must be a 2-D array (docs/conventions.md)"
    nch = channels_of(got)
    if spec.channels is not None:
        assert nch == spec.channels, f"native channels {nch}, expected {spec.channels}"
    assert nch == pixfeed.probe(path).channels, "unchanged disagrees with probe().channels"
    rgb = pixfeed.decode(path)
    assert got.shape[:2] == rgb.shape[:2]
    want = unchanged_reference(fx, name, nch)
    if spec.lossy:
        assert_lossy_close(got, want)
    else:
        assert np.array_equal(got, want), diff_report(got, want)


@pytest.mark.parametrize("name", names(all_tags=["sixteen"]))
def test_sixteen_bit_png_is_high_byte(fx: FixtureSet, name: str) -> None:
    """16-bit samples become 8-bit as ``v >> 8`` (documented pixfeed rule; Pillow keeps the
    high byte for RGB/RGBA/LA but clips I;16 -> L). Checked on the uint16 result and on
    Pillow's raw 16-bit array where Pillow has one."""
    path = fx.path(name)
    raw = pixfeed.decode(path, mode="unchanged")
    assert raw.dtype == np.uint16
    hi = (raw >> 8).astype(np.uint8)
    nch = channels_of(raw)
    if nch == 1:
        im = Image.open(path)
        assert im.mode.startswith("I;16")
        assert np.array_equal(np.asarray(im), raw), "unchanged differs from Pillow's I;16"
        gray = hi
        rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    elif nch == 2:
        rgba = np.dstack([hi[..., 0]] * 3 + [hi[..., 1]])
        gray = hi[..., 0]
    else:
        rgba = hi if nch == 4 else np.dstack([hi, np.full(hi.shape[:2], 255, np.uint8)])
        gray = None
    assert np.array_equal(pixfeed.decode(path, mode="RGBA"), rgba)
    assert np.array_equal(pixfeed.decode(path, mode="RGB"), rgba[..., :3])
    assert np.array_equal(pixfeed.decode(path, mode="BGR"), rgba[..., 2::-1])
    if gray is not None:
        assert np.array_equal(pixfeed.decode(path, mode="L"), gray)
    # the low byte must not leak in: the fixtures have a non-zero low byte everywhere
    assert (raw & 0xFF).any()


# ------------------------------------------------------------------------------------------
# Sources: every accepted type gives the same pixels
# ------------------------------------------------------------------------------------------

SOURCE_FIXTURES = [
    "jpeg_orient6.jpg",
    "png_palette_trns.png",
    "png16_rgb.png",
    "bmp4_palette_topdown.bmp",
    "webp_lossless_alpha.webp",
    "webp_lossy.webp",
]


@pytest.mark.parametrize("mode", ["RGB", "unchanged"])
@pytest.mark.parametrize("name", SOURCE_FIXTURES)
def test_source_types_agree(fx: FixtureSet, name: str, mode: str, tmp_path: pathlib.Path) -> None:
    path = fx.path(name)
    data = fx.data(name)
    ref = pixfeed.decode(str(path), mode=mode)
    padded = b"\0" * 7 + data + b"\0" * 5
    odd = tmp_path / "a dir with spaces" / "ünïcødé 图像 #1.IMG"
    odd.parent.mkdir()
    odd.write_bytes(data)
    sources = {
        "pathlib": path,
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "memoryview-slice": memoryview(padded)[7 : 7 + len(data)],
        "memoryview-bytearray": memoryview(bytearray(data)),
        "unicode-path": str(odd),
        "unicode-pathlib": odd,
    }
    for label, src in sources.items():
        got = pixfeed.decode(src, mode=mode)
        assert np.array_equal(got, ref), f"{label}: {diff_report(got, ref)}"
        assert got.dtype == ref.dtype


def test_source_bytes_not_modified(fx: FixtureSet) -> None:
    data = bytearray(fx.data("jpeg_orient6.jpg"))
    before = bytes(data)
    pixfeed.decode(data)
    pixfeed.decode(memoryview(data), roi=(1, 2, 30, 40), reduce_to=(10, 10))
    assert bytes(data) == before


def test_outputs_are_independent(fx: FixtureSet) -> None:
    a = pixfeed.decode(fx.path("png_rgb.png"))
    b = pixfeed.decode(fx.path("png_rgb.png"))
    a[...] = 0
    assert b.any(), "two decodes share memory"


# ------------------------------------------------------------------------------------------
# Pillow behaviours worth pinning explicitly (each is also covered by the sweep above, but a
# named test says *what* broke)
# ------------------------------------------------------------------------------------------


def test_cmyk_is_inverted_even_without_adobe_marker(fx: FixtureSet) -> None:
    """Pillow reads every 4-component JPEG as Adobe-inverted CMYK (rawmode CMYK;I), with
    or without the APP14 marker; so both files decode to the same pixels."""
    a = pixfeed.decode(fx.path("jpeg_cmyk_adobe.jpg"), mode="unchanged")
    b = pixfeed.decode(fx.path("jpeg_cmyk_noadobe.jpg"), mode="unchanged")
    assert np.array_equal(a, b)
    assert np.array_equal(a, np.asarray(Image.open(fx.path("jpeg_cmyk_adobe.jpg"))))


def test_bmp32_bi_rgb_ignores_fourth_byte(fx: FixtureSet) -> None:
    """Pillow reads 32-bit BI_RGB BMPs as RGB ("BGRX") even when the 4th byte holds alpha
    (its own RGBA writer produces such files): RGBA output has alpha 255."""
    for n in ("bmp32_pillow_rgba.bmp", "bmp32_v5_rgb_ignores_alpha.bmp", "bmp32_topdown_xbyte.bmp"):
        got = pixfeed.decode(fx.path(n), mode="RGBA")
        assert (got[..., 3] == 255).all(), n


def test_png_trns_becomes_alpha(fx: FixtureSet) -> None:
    """tRNS on gray/RGB PNGs: the matching colour gets alpha 0 in RGBA, as Pillow does."""
    for n in ("png_gray_trns.png", "png_rgb_trns.png"):
        got = pixfeed.decode(fx.path(n), mode="RGBA")
        assert (got[..., 3] == 0).any() and (got[..., 3] == 255).any(), n
        assert set(np.unique(got[..., 3])) <= {0, 255}


def test_xmp_only_orientation_like_pillow(fx: FixtureSet) -> None:
    """Pillow's exif_transpose also honours ``tiff:Orientation`` in XMP when the file has no
    EXIF orientation. docs/decoding.md documents that fallback; this pins it either way:
    pixfeed must equal Pillow (rotated), or the difference must be documented."""
    path = fx.path("jpeg_xmp_orient6.jpg")
    got = pixfeed.decode(path)
    assert np.array_equal(got, pil_reference(path, "RGB")), "XMP orientation ignored"


def test_helpers_self_check(fx: FixtureSet) -> None:
    """``orient`` (used to build expectations) agrees with Pillow's exif_transpose."""
    base = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    for o in range(1, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        b = io.BytesIO()
        Image.fromarray(base).save(b, "PNG", exif=ex)
        want = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(b.getvalue()))))
        assert np.array_equal(orient(base, o), want), o


def test_png_exif_after_idat_is_ignored(fx: FixtureSet) -> None:
    """Documented pixfeed choice (codecs/png.rs): orientation comes from an eXIf chunk before
    IDAT only, so probe stays header-only and decode agrees with it. Pillow applies a late
    eXIf after load(), so this file is the one place pixfeed and Pillow rotate differently."""
    path = fx.path("png_orient6_exif_after_idat.png")
    assert pil_orientation(path) == 6  # Pillow sees it
    info = pixfeed.probe(path)
    assert info.orientation == 1 and (info.width, info.height) == (203, 157)
    assert np.array_equal(pixfeed.decode(path), pil_reference(path, "RGB", apply_exif=False))


@pytest.mark.parametrize("fmt", ["BMP", "JPEG", "PNG"])
def test_large_files_from_path(tmp_path: pathlib.Path, fmt: str) -> None:
    """Files of 1 MiB or more take the memory-mapped path: same pixels as from bytes and as
    Pillow, whole and by ROI."""
    import skimage.data

    img = np.tile(skimage.data.coffee(), (3, 2, 1))  # 1200 x 1200
    path = tmp_path / f"big.{fmt.lower()}"
    kw = {"quality": 98, "subsampling": 0} if fmt == "JPEG" else {}
    Image.fromarray(img).save(path, fmt, **kw)
    assert path.stat().st_size >= 2**20
    got = pixfeed.decode(path)
    assert np.array_equal(got, pil_reference(path, "RGB"))
    assert np.array_equal(got, pixfeed.decode(path.read_bytes()))
    roi = (517, 1003, 300, 197)
    assert np.array_equal(pixfeed.decode(path, roi=roi), got[1003:1200, 517:817])
