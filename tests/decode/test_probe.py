"""`pixfeed.probe` (docs/decoding.md): header facts equal to Pillow's, without pixel data."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from PIL import Image

import pixfeed
from conftest import SPECS, FixtureSet, make_fixtures, names, pil_open, pil_orientation

IMAGES = names(no_tags=["xmp_orientation", "exif_after_idat"])


@pytest.mark.parametrize("name", IMAGES)
def test_probe_matches_pillow(fx: FixtureSet, name: str) -> None:
    spec = SPECS[name]
    path = fx.path(name)
    info = pixfeed.probe(path)
    assert isinstance(info, pixfeed.ImageInfo)
    oriented = pil_open(path)
    assert (info.width, info.height) == oriented.size, "size must be after EXIF orientation"
    assert info.orientation == pil_orientation(path) == spec.orientation
    assert info.format == spec.fmt == Image.open(path).format.lower()
    assert info.progressive is spec.progressive
    assert isinstance(info.channels, int) and isinstance(info.bit_depth, int)
    if spec.channels is not None:
        assert info.channels == spec.channels
    if spec.bit_depth is not None:
        assert info.bit_depth == spec.bit_depth
    else:
        assert 1 <= info.bit_depth <= 16
    # consistent with a real decode
    a = pixfeed.decode(path, mode="unchanged")
    assert a.shape[:2] == (info.height, info.width)


@pytest.mark.parametrize(
    "name",
    [
        "jpeg_orient6.jpg",
        "png_palette_trns.png",
        "bmp8_rle8.bmp",
        "webp_orient8_exif_prefixed.webp",
        "png16_gray_alpha.png",
    ],
)
def test_probe_bytes_equals_path(fx: FixtureSet, name: str) -> None:
    data = fx.data(name)
    a = pixfeed.probe(fx.path(name))
    assert pixfeed.probe(data) == a
    assert pixfeed.probe(bytearray(data)) == a
    assert pixfeed.probe(memoryview(data)) == a
    assert pixfeed.probe(str(fx.path(name))) == a


def test_probe_palette_channels(fx: FixtureSet) -> None:
    """Palette images report their expanded channels: RGB, or RGBA with tRNS."""
    assert pixfeed.probe(fx.path("png_palette.png")).channels == 3
    assert pixfeed.probe(fx.path("png_palette_trns.png")).channels == 4
    assert pixfeed.probe(fx.path("png_palette4_trns_hand.png")).channels == 4


def header_end(name: str, data: bytes) -> int:
    """Where the headers stop and pixel data begins."""
    fmt = SPECS[name].fmt
    if fmt == "jpeg":
        return make_fixtures.jpeg_sos_end(data)
    if fmt == "png":
        for typ, off, _n in make_fixtures.png_chunks(data):
            if typ == b"IDAT":
                return off + 8
        raise AssertionError("no IDAT")
    if fmt == "bmp":
        return struct.unpack("<I", data[10:14])[0]
    raise AssertionError(fmt)


TRUNCATED = names(fmt=("jpeg", "png", "bmp"), no_tags=["exif_after_idat", "xmp_orientation"])


@pytest.mark.parametrize("name", TRUNCATED)
def test_probe_reads_header_only(fx: FixtureSet, name: str) -> None:
    """A file cut right after its headers (no pixel data at all) still probes the same."""
    data = fx.data(name)
    cut = data[: header_end(name, data)]
    assert pixfeed.probe(cut) == pixfeed.probe(data)
    with pytest.raises(pixfeed.DecodeError):
        pixfeed.decode(cut)


@pytest.mark.parametrize("name", names(fmt="webp", no_tags=["orient"]))
def test_probe_webp_without_image_data(fx: FixtureSet, name: str) -> None:
    """WebP: the VP8X/VP8/VP8L headers are enough (cut inside the first image chunk)."""
    data = fx.data(name)
    chunks = make_fixtures.webp_chunks(data)
    off = 12
    for typ, payload in chunks:
        if typ in (b"VP8 ", b"VP8L"):
            off += 8 + 10
            break
        off += 8 + len(payload) + (len(payload) & 1)
    assert pixfeed.probe(data[:off]) == pixfeed.probe(data)


@pytest.mark.parametrize("name", names(kind="bomb"))
def test_probe_bomb_reports_declared_size_fast(fx: FixtureSet, name: str) -> None:
    """probe never allocates pixels, so a huge declared size is reported, not refused."""
    t = time.perf_counter()
    info = pixfeed.probe(fx.path(name))
    assert time.perf_counter() - t < 0.5
    assert (info.width, info.height) == SPECS[name].declared_size
    assert info.format == SPECS[name].fmt


def test_probe_errors(fx: FixtureSet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match=r"nope\.jpg"):
        pixfeed.probe(tmp_path / "nope.jpg")
    with pytest.raises(IsADirectoryError):
        pixfeed.probe(tmp_path)
    with pytest.raises(pixfeed.UnsupportedFormatError):
        pixfeed.probe(fx.path("unsupported.gif"))
    with pytest.raises(pixfeed.DecodeError):
        pixfeed.probe(b"")
    with pytest.raises(pixfeed.DecodeError):
        pixfeed.probe(fx.data("png_rgb.png")[:20])  # inside IHDR
    with pytest.raises(pixfeed.DecodeError):
        pixfeed.probe(b"\xff\xd8\xff\xe0\x00\x10JFIF")  # no SOF
    with pytest.raises(TypeError, match="source"):
        pixfeed.probe(42)  # type: ignore[arg-type]


def test_probe_is_cheap(fx: FixtureSet) -> None:
    """Probing must not decode: 200 probes of a 512x512 progressive JPEG / interlaced PNG
    take far less than 200 decodes would."""
    for name in ("jpeg_progressive_420.jpg", "png_interlaced_rgb.png"):
        data = fx.data(name)
        t = time.perf_counter()
        for _ in range(200):
            pixfeed.probe(data)
        probe_t = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(5):
            pixfeed.decode(data)
        decode_t = (time.perf_counter() - t) / 5 * 200
        assert probe_t < decode_t / 10, (name, probe_t, decode_t)


def test_probe_batch_equals_probe_per_source(fx: FixtureSet, tmp_path: Path) -> None:
    """The native batch probe (behind `buckets.image_sizes`): the same header tuple as
    `probe` for every source, in order, with a failure as that item's exception."""
    from pixfeed import _core

    good = [str(fx.path(n)) for n in names() if not n.startswith("unsupported")][:40]
    sources: list[object] = [*good, str(tmp_path / "missing.jpg"), b"\xff\xd8\xff\xe0", *good[:3]]
    for threads in (None, 1, 2):
        got = _core.probe_batch(sources, threads)  # type: ignore[arg-type]
        assert len(got) == len(sources)
        for src, r in zip(sources, got, strict=True):
            try:
                want = _core.probe(src)  # type: ignore[arg-type]
            except Exception as e:
                assert type(r) is type(e), (src, r, e)
                assert str(r) == str(e)
            else:
                assert r == want, src
    assert isinstance(got[len(good)], FileNotFoundError)
    assert isinstance(got[len(good) + 1], pixfeed.DecodeError)
