"""Failure behaviour of `decode`/`probe` (docs/conventions.md, docs/decoding.md).

Corrupt input must give a typed exception (`DecodeError` and subclasses) or a correct array,
never a crash, a hang or a silently gray/partial image. Inputs that could crash run in a child
process (conftest.run_in_child) so a crash fails one test with the case named.

Truncation rule (Pillow's behaviour, measured on these fixtures, with one documented pixfeed
exception): WebP and progressive JPEG cut anywhere raise, as in Pillow; a sequential JPEG
must raise unless only its EOI marker is missing (pixfeed decodes that, documented in
codecs/jpeg.rs; Pillow raises); PNG may succeed once the deflate data is complete (Pillow
does not check the adler32/CRC either) and BMP once the last row's pixel bytes are there.
Whenever a truncated input decodes, it must be exactly the full image.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed
from conftest import SPECS, FixtureSet, make_fixtures, names, pil_reference, run_in_child, sha_of

# ------------------------------------------------------------------------------------------
# Files that are not there
# ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "no such dir" / "missing.jpg"
    for src in (p, str(p)):
        with pytest.raises(FileNotFoundError) as ei:
            pixfeed.decode(src)
        assert str(p) in str(ei.value)
        with pytest.raises(FileNotFoundError):
            pixfeed.probe(src)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as ei:
        pixfeed.decode(tmp_path)
    assert isinstance(ei.value, OSError)
    assert str(tmp_path) in str(ei.value)


SPECIAL_FILES_CHILD = """
import json, os, sys
import numpy as np
import pixfeed
fifo, out = sys.argv[1], {}
for name, path in (("fifo", fifo), ("device", "/dev/zero")):
    for call, fn in (
        ("decode", lambda p: pixfeed.decode(p)),
        ("probe", lambda p: pixfeed.probe(p)),
        ("pipeline", lambda p: pixfeed.Pipeline(8)([p])),
        ("shards", lambda p: pixfeed.Shards([p])),
    ):
        try:
            fn(path)
            out[f"{name}/{call}"] = "no error"
        except Exception as e:
            out[f"{name}/{call}"] = [type(e).__name__, str(e)]
print(json.dumps(out))
"""


def test_fifo_and_device_are_errors_not_hangs(tmp_path: Path) -> None:
    # Reading /dev/zero never ends and opening a FIFO waits for a writer: both used to hang
    # the call (a whole Loader or Ray job with it). Run in a child, so a hang fails the test.
    import json
    import subprocess
    import sys

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-c", SPECIAL_FILES_CHILD, str(fifo)],
        capture_output=True,
        timeout=120,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert len(got) == 8
    for case, outcome in got.items():
        assert outcome != "no error", case
        kind, text = outcome
        assert kind == "OSError", (case, outcome)
        assert "not a regular file" in text, (case, outcome)
        assert (str(fifo) if case.startswith("fifo") else "/dev/zero") in text, (case, outcome)


@pytest.mark.parametrize("src", ["file", "bytes"])
def test_empty_input(tmp_path: Path, src: str) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    source = p if src == "file" else b""
    with pytest.raises(pixfeed.DecodeError) as ei:
        pixfeed.decode(source)
    e = ei.value
    assert e.source == (str(p) if src == "file" else "<bytes>")
    assert e.reason and e.reason in str(e) and e.source in str(e)


# ------------------------------------------------------------------------------------------
# Error objects
# ------------------------------------------------------------------------------------------


def test_error_hierarchy() -> None:
    assert issubclass(pixfeed.DecodeError, pixfeed.PixfeedError)
    assert issubclass(pixfeed.DecodeError, ValueError)
    assert issubclass(pixfeed.UnsupportedFormatError, pixfeed.DecodeError)
    assert issubclass(pixfeed.ImageTooLargeError, pixfeed.DecodeError)
    assert pixfeed.MAX_PIXELS == 178_956_970


@pytest.mark.parametrize("name", ["unsupported.gif", "unsupported_le.tif", "unsupported_be.tif"])
def test_unsupported_format(fx: FixtureSet, name: str) -> None:
    kind = "gif" if name.endswith("gif") else "tiff"
    path = fx.path(name)
    for src, source_name in ((path, str(path)), (fx.data(name), "<bytes>")):
        with pytest.raises(pixfeed.UnsupportedFormatError) as ei:
            pixfeed.decode(src)
        e = ei.value
        assert e.source == source_name and source_name in str(e)
        assert kind in e.reason.lower(), f"reason should say what the bytes are: {e.reason!r}"
        with pytest.raises(pixfeed.UnsupportedFormatError):
            pixfeed.probe(src)


def test_decode_error_message_names_source_and_reason(fx: FixtureSet, tmp_path: Path) -> None:
    data = fx.data("jpeg_chelsea_420.jpg")
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(pixfeed.DecodeError) as ei:
        pixfeed.decode(p)
    e = ei.value
    assert e.source == str(p)
    assert str(p) in str(e)
    assert isinstance(e.reason, str) and len(e.reason) > 3 and e.reason in str(e)
    # errors survive pickling (they cross process boundaries in loaders)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is type(e) and e2.source == e.source and e2.reason == e.reason


def test_error_kinds(fx: FixtureSet) -> None:
    """``DecodeError.kind`` (pixfeed/errors.py): truncated / corrupt / unsupported / format /
    too_large, consistent with the exception class."""

    def kind_of(data: bytes) -> str:
        with pytest.raises(pixfeed.DecodeError) as ei:
            pixfeed.decode(data)
        return ei.value.kind

    for name in ("jpeg_chelsea_420.jpg", "png_rgb.png", "bmp24_chelsea.bmp", "webp_lossy.webp"):
        data = fx.data(name)
        assert kind_of(data[: len(data) // 2]) == "truncated", name
    assert kind_of(fx.data("unsupported.gif")) == "format"
    assert kind_of(b"") == "format"
    assert kind_of(fx.data("bomb.png")) == "too_large"
    jpeg = bytearray(fx.data("jpeg_17x31_420.jpg"))
    sof = next(off for m, off, _n in make_fixtures.jpeg_segments(bytes(jpeg)) if m == 0xC0)
    jpeg[sof + 4] = 12  # 12-bit samples
    assert kind_of(bytes(jpeg)) == "unsupported"
    png = bytearray(fx.data("png_rgb.png"))
    idat = next(off for typ, off, _n in make_fixtures.png_chunks(bytes(png)) if typ == b"IDAT")
    png[idat + 8 : idat + 40] = b"\x07" * 32  # garbage in the zlib stream
    assert kind_of(bytes(png)) == "corrupt"


def test_wrong_extension_is_sniffed(fx: FixtureSet) -> None:
    for name, fmt in (
        ("png_named.jpg", "png"),
        ("jpeg_named.png", "jpeg"),
        ("webp_named.bmp", "webp"),
    ):
        path = fx.path(name)
        assert pixfeed.probe(path).format == fmt
        assert np.array_equal(pixfeed.decode(path), pil_reference(path, "RGB"))


# ------------------------------------------------------------------------------------------
# Decompression bombs and max_pixels
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", names(kind="bomb"))
def test_bomb_header_refused_fast(fx: FixtureSet, name: str) -> None:
    w, h = SPECS[name].declared_size
    for src, kwargs in [
        (fx.path(name), {}),
        (fx.data(name), {}),
        (fx.data(name), {"mode": "L"}),
        (fx.data(name), {"roi": (0, 0, 8, 8)}),  # the guard is on the header's full size
        (fx.data(name), {"reduce_to": (16, 16)}),
    ]:
        t = time.perf_counter()
        with pytest.raises(pixfeed.ImageTooLargeError) as ei:
            pixfeed.decode(src, **kwargs)
        assert time.perf_counter() - t < 0.5, "bomb check must come from the header"
        msg = str(ei.value)
        assert str(w * h) in msg or (str(w) in msg and str(h) in msg), msg
        assert str(pixfeed.MAX_PIXELS) in msg.replace(",", "").replace("_", ""), msg


@pytest.mark.parametrize(
    "name",
    [
        "jpeg_astronaut_420.jpg",
        "png_rgb.png",
        "bmp8_pillow_gray.bmp",
        "webp_lossy.webp",
        "jpeg_orient6.jpg",
    ],
)
def test_custom_max_pixels(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    info = pixfeed.probe(path)
    n = info.width * info.height
    assert pixfeed.decode(path, max_pixels=n).shape[:2] == (info.height, info.width)
    with pytest.raises(pixfeed.ImageTooLargeError, match=str(n - 1)):
        pixfeed.decode(path, max_pixels=n - 1)
    with pytest.raises(pixfeed.ImageTooLargeError):
        pixfeed.decode(fx.data(name), max_pixels=1, roi=(0, 0, 1, 1))
    assert pixfeed.decode(path, max_pixels=None).shape[:2] == (info.height, info.width)


def test_under_limit_header_with_no_data(fx: FixtureSet, tmp_path: Path) -> None:
    """Header says 10000x10000 (under the bomb limit), the file holds a few hundred bytes:
    a DecodeError (truncated), without decoding 100 Mpixels of nothing for long."""
    cases = [
        {"id": "jpeg", "data": make_fixtures.bomb_jpeg(10000, 10000)},
        {"id": "png", "data": make_fixtures.bomb_png(10000, 10000)},
        {"id": "bmp", "data": make_fixtures.bomb_bmp(10000, 10000)},
        {"id": "webp", "data": make_fixtures.bomb_webp_vp8l(10000, 10000)},
    ]
    res = run_in_child(cases, tmp_path)
    for cid, r in res.items():
        assert not r["ok"] and "DecodeError" in r["mro"], (cid, r)
        assert r["seconds"] < 10, (cid, r["seconds"])


# ------------------------------------------------------------------------------------------
# Truncation
# ------------------------------------------------------------------------------------------

TRUNCATE = [
    "jpeg_17x31_420.jpg",
    "jpeg_orient6.jpg",
    "jpeg_progressive_420.jpg",
    "jpeg_restart_blocks_420.jpg",
    "jpeg_gray_progressive.jpg",
    "jpeg_ycck.jpg",
    "png_17x31.png",
    "png_interlaced_rgb.png",
    "png16_rgba.png",
    "png_palette_trns.png",
    "png_multi_idat_unfiltered.png",
    "bmp24_17x31.bmp",
    "bmp8_palette_topdown.bmp",
    "bmp32_v5_bitfields_alpha.bmp",
    "bmp8_rle8.bmp",
    "bmp4_rle4.bmp",
    "webp_lossy.webp",
    "webp_lossless.webp",
    "webp_lossy_alpha.webp",
    "webp_17x31_lossless.webp",
]


def must_raise_below(name: str, data: bytes) -> int:
    """Cuts shorter than this must raise (see module docstring); longer cuts may decode but
    must then give exactly the full image."""
    spec = SPECS[name]
    if spec.fmt == "webp":
        return len(data)
    if spec.fmt == "jpeg":
        # Progressive: every cut raises, as in Pillow. Sequential: pixfeed documents (codecs/
        # jpeg.rs) that a file lacking only its EOI marker decodes; Pillow raises there.
        return len(data) if spec.progressive else len(data) - 2
    if spec.fmt == "png":
        # at least 8 bytes of the deflate stream itself missing (not just its adler32)
        idats = [(off, n) for typ, off, n in make_fixtures.png_chunks(data) if typ == b"IDAT"]
        remaining = sum(n - 12 for _, n in idats) - 4 - 8
        for off, n in idats:
            if remaining < n - 12:
                return off + 8 + remaining
            remaining -= n - 12
        raise AssertionError(name)
    off_bits = struct.unpack("<I", data[10:14])[0]
    w, h, _planes, bpp, comp = struct.unpack("<iiHHI", data[18:34])
    if comp in (1, 2):  # RLE: everything but the end-of-bitmap marker
        return len(data) - 2
    stride = ((w * bpp + 31) // 32) * 4
    return off_bits + stride * (abs(h) - 1) + (w * bpp + 7) // 8


def cut_points(n: int, need: int) -> list[int]:
    pts = set(range(0, min(n, 96), 3)) | set(np.linspace(0, n - 1, 48).astype(int).tolist())
    pts |= {n - 1, n - 2, n - 3, n - 4, n - 8, need - 1, need, need + 1}
    return sorted(p for p in pts if 0 <= p < n)


@pytest.mark.parametrize("name", TRUNCATE)
def test_truncation(fx: FixtureSet, name: str, tmp_path: Path) -> None:
    data = fx.data(name)
    need = must_raise_below(name, data)
    full_sha = sha_of(pixfeed.decode(data))
    cases = [{"id": str(k), "data": data[:k]} for k in cut_points(len(data), need)]
    res = run_in_child(cases, tmp_path)
    problems = []
    for c in cases:
        r = res[c["id"]]
        k = int(c["id"])
        if r["ok"]:
            if k < need:
                problems.append(f"cut at {k}/{len(data)}: returned {r['shape']} instead of raising")
            elif r["sha"] != full_sha:
                problems.append(f"cut at {k}/{len(data)}: returned a partial/different image")
        elif "DecodeError" not in r["mro"]:
            problems.append(f"cut at {k}: {r['type']}: {r['msg']}")
        elif r["source"] != "<bytes>" or not r["reason"]:
            problems.append(f"cut at {k}: bad error fields {r}")
    assert not problems, "\n".join(problems[:20])


def test_truncated_jpeg_is_not_gray(fx: FixtureSet) -> None:
    """The classic libjpeg failure: a warning, then gray rows. Must be an error."""
    for name in ("jpeg_chelsea_420.jpg", "jpeg_progressive_444.jpg", "jpeg_gray.jpg"):
        data = fx.data(name)
        for frac in (0.3, 0.6, 0.95):
            with pytest.raises(pixfeed.DecodeError):
                pixfeed.decode(data[: int(len(data) * frac)])


def test_roi_in_truncated_part_raises(fx: FixtureSet) -> None:
    """A ROI below the cut must raise; a ROI above it may decode (the spec lets decoders
    stop after the last needed row) but then it must be right."""
    for name in (
        "jpeg_chelsea_420.jpg",
        "png_rgb.png",
        "bmp24_chelsea.bmp",
        "jpeg_restart_rows_422.jpg",
    ):
        data = fx.data(name)
        ref = pixfeed.decode(data)
        H, W = ref.shape[:2]
        cut = data[: int(len(data) * 0.5)]
        with pytest.raises(pixfeed.DecodeError):
            pixfeed.decode(cut, roi=(0, H - 4, W, 4))
        # BMP is stored bottom-up: its top rows are at the end of the file
        top = (0, H - 4, W, 4) if name.endswith(".bmp") else (0, 0, W, 4)
        try:
            got = pixfeed.decode(cut, roi=top)
        except pixfeed.DecodeError:
            continue
        x, y, w, h = top
        assert np.array_equal(got, ref[y : y + h, x : x + w]), name


def test_unsupported_jpeg_variants(fx: FixtureSet, tmp_path: Path) -> None:
    """12/16-bit, lossless, hierarchical and arithmetic-coded headers patched into a baseline
    file: a DecodeError (Pillow refuses all of them too), never a crash. The exception is
    SOF9 (sequential arithmetic coding, which libjpeg-turbo decodes): arithmetic decoding
    cannot tell Huffman data from valid input, so Pillow returns pixels; pixfeed must then
    return the same pixels (or refuse)."""
    data = fx.data("jpeg_17x31_420.jpg")
    sof = next(off for m, off, _n in make_fixtures.jpeg_segments(data) if m == 0xC0)
    cases = []
    for label, marker, precision in [
        ("sof1-12bit", 0xC1, 12),
        ("sof0-12bit", 0xC0, 12),
        ("sof0-16bit", 0xC0, 16),
        ("sof3-lossless", 0xC3, 8),
        ("sof5-hierarchical", 0xC5, 8),
        ("sof9-arithmetic", 0xC9, 8),
        ("sof10-arith-progressive", 0xCA, 8),
        ("sof0-precision0", 0xC0, 0),
    ]:
        b = bytearray(data)
        b[sof + 1] = marker
        b[sof + 4] = precision
        cases.append({"id": label, "data": bytes(b)})
        cases.append({"id": label + "-probe", "data": bytes(b), "op": "probe"})
    res = run_in_child(cases, tmp_path)
    for c in cases:
        r = res[c["id"]]
        if c.get("op") == "probe":
            assert r["ok"] or "DecodeError" in r["mro"], r
        elif c["id"] == "sof9-arithmetic" and r["ok"]:
            assert r["sha"] == sha_of(pil_reference_bytes(c["data"])), "differs from Pillow"
        else:
            assert not r["ok"] and "DecodeError" in r["mro"], r


def pil_reference_bytes(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    im.load()
    return np.asarray(im.convert("RGB"))


# ------------------------------------------------------------------------------------------
# Random bytes and bit flips
# ------------------------------------------------------------------------------------------

MAGICS = {
    "jpeg": b"\xff\xd8\xff",
    # SOI + a 16x16 3-component SOF0, then noise
    "jpeg-sof": b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03"
    b"\x01\x22\x00\x02\x11\x01\x03\x11\x01",
    "png": make_fixtures.PNG_SIG,
    "png-ihdr": make_fixtures.PNG_SIG
    + make_fixtures.png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)),
    "bmp": b"BM",
    "webp": b"RIFF\x00\x10\x00\x00WEBP",
    "webp-vp8": b"RIFF\x00\x10\x00\x00WEBPVP8 \x00\x08\x00\x00",
    "webp-vp8l": b"RIFF\x00\x10\x00\x00WEBPVP8L\x00\x08\x00\x00\x2f",
    "webp-vp8x": b"RIFF\x00\x10\x00\x00WEBPVP8X\x0a\x00\x00\x00",
}
KNOWN_PREFIXES = (b"\xff\xd8\xff", make_fixtures.PNG_SIG, b"BM", b"RIFF")


def test_random_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1234)
    cases = []
    for i in range(150):
        n = int(rng.choice([1, 2, 3, 7, 16, 100, 1000, 5000]))
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        cases.append({"id": f"raw{i}", "data": data})
    for label, magic in MAGICS.items():
        for i in range(25):
            n = int(rng.choice([0, 1, 10, 100, 1000, 20000]))
            data = magic + rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            cases.append({"id": f"{label}{i}", "data": data, "kwargs": {"max_pixels": 1 << 24}})
            cases.append({"id": f"{label}{i}p", "data": data, "op": "probe"})
    res = run_in_child(cases, tmp_path)
    for c in cases:
        r = res[c["id"]]
        if c["id"].startswith("raw") and not bytes(c["data"]).startswith(KNOWN_PREFIXES):
            assert not r["ok"] and "UnsupportedFormatError" in r["mro"], r
        elif not r["ok"]:
            assert "DecodeError" in r["mro"], r
        elif "shape" in r:
            assert len(r["shape"]) == 3 and r["shape"][2] == 3 and r["dtype"] == "uint8", r


def data_region(name: str, data: bytes) -> tuple[int, int]:
    """[start, end) of the pixel data, where flips cannot change the declared geometry."""
    fmt = SPECS[name].fmt
    if fmt == "jpeg":
        return make_fixtures.jpeg_sos_end(data), len(data) - 2
    if fmt == "png":
        idats = [(off, n) for typ, off, n in make_fixtures.png_chunks(data) if typ == b"IDAT"]
        return idats[0][0] + 8, idats[-1][0] + idats[-1][1] - 4
    if fmt == "bmp":
        return struct.unpack("<I", data[10:14])[0], len(data)
    # WebP: inside the image chunk, past its own header (dimensions)
    off = 12
    for typ, payload in make_fixtures.webp_chunks(data):
        if typ in (b"VP8 ", b"VP8L"):
            return off + 8 + 10, off + 8 + len(payload)
        off += 8 + len(payload) + (len(payload) & 1)
    raise AssertionError(name)


FLIP = [
    "jpeg_17x31_420.jpg",
    "jpeg_hand_444_restart.jpg",
    "jpeg_17x31_422_progressive.jpg",
    "jpeg_ycck.jpg",
    "jpeg_hand_440.jpg",
    "jpeg_orient5_444_progressive.jpg",
    "png_17x31.png",
    "png_interlaced_palette4.png",
    "png16_rgb_interlaced.png",
    "png_palette4_trns_hand.png",
    "png_gray2.png",
    "bmp8_rle8.bmp",
    "bmp4_rle4.bmp",
    "bmp16_565_bitfields.bmp",
    "bmp1_17x31_topdown.bmp",
    "webp_17x31_lossless.webp",
    "webp_17x31_lossy.webp",
    "webp_lossy_alpha.webp",
    "webp_lossless_alpha.webp",
]


def mutate(rng: np.random.Generator, data: bytes, lo: int, hi: int) -> bytes:
    b = bytearray(data)
    kind = int(rng.integers(0, 4))
    if kind == 0:  # a few bit flips
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(lo, hi))
            b[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # a run of 0x00 or 0xFF
        i = int(rng.integers(lo, hi))
        n = int(rng.integers(1, 33))
        b[i : min(hi, i + n)] = bytes([int(rng.choice([0, 255]))]) * (min(hi, i + n) - i)
    elif kind == 2:  # random bytes
        i = int(rng.integers(lo, hi))
        n = min(hi - i, int(rng.integers(1, 17)))
        b[i : i + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    else:  # swap two bytes far apart
        i, j = (int(v) for v in rng.integers(lo, hi, 2))
        b[i], b[j] = b[j], b[i]
    return bytes(b)


@pytest.mark.parametrize("name", FLIP)
def test_bit_flips(fx: FixtureSet, name: str, tmp_path: Path) -> None:
    data = fx.data(name)
    rng = np.random.default_rng(sum(name.encode()))
    ref = pixfeed.decode(data)
    H, W = ref.shape[:2]
    lo, hi = data_region(name, data)
    assert hi > lo
    cases = []
    for i in range(45):
        cases.append({"id": f"d{i}", "data": mutate(rng, data, lo, hi)})
    for i in range(8):
        kw = {"roi": (W // 3, H // 3, max(1, W // 3), max(1, H // 3)), "mode": "RGBA"}
        cases.append({"id": f"r{i}", "data": mutate(rng, data, lo, hi), "kwargs": kw})
        cases.append(
            {"id": f"s{i}", "data": mutate(rng, data, lo, hi), "kwargs": {"reduce_to": (4, 4)}}
        )
    for i in range(25):  # anywhere, headers included
        cases.append(
            {
                "id": f"a{i}",
                "data": mutate(rng, data, 0, len(data)),
                "kwargs": {"max_pixels": 1 << 22},
            }
        )
        cases.append({"id": f"p{i}", "data": mutate(rng, data, 0, len(data)), "op": "probe"})
    res = run_in_child(cases, tmp_path)
    problems = []
    for c in cases:
        r = res[c["id"]]
        if not r["ok"]:
            if "DecodeError" not in r["mro"]:
                problems.append(f"{c['id']}: {r['type']}: {r['msg']}")
            continue
        if c.get("op") == "probe":
            continue
        shape = r["shape"]
        if c["id"].startswith("d"):
            ok = shape == [H, W, 3]
        elif c["id"].startswith("r"):
            ok = shape == [max(1, H // 3), max(1, W // 3), 4]
        else:
            ok = len(shape) == 3 and shape[2] == 3
        if not ok or r["dtype"] != "uint8" or not r["contiguous"]:
            problems.append(f"{c['id']}: bad array {shape} {r['dtype']}")
    assert not problems, "\n".join(problems[:20])


# ------------------------------------------------------------------------------------------
# Bad arguments
# ------------------------------------------------------------------------------------------

BAD_ARGS = [
    ({"mode": "XYZ"}, "mode"),
    ({"mode": ""}, "mode"),
    ({"mode": 3}, "mode"),
    ({"mode": None}, "mode"),
    ({"roi": (-1, 0, 5, 5)}, "roi"),
    ({"roi": (0, -1, 5, 5)}, "roi"),
    ({"roi": (0, 0, 0, 5)}, "roi"),
    ({"roi": (0, 0, 5, 0)}, "roi"),
    ({"roi": (0, 0, -5, 5)}, "roi"),
    ({"roi": (0, 0, 5)}, "roi"),
    ({"roi": (0, 0, 5, 5, 5)}, "roi"),
    ({"roi": (0.5, 0, 5, 5)}, "roi"),
    ({"roi": "0,0,5,5"}, "roi"),
    ({"roi": 5}, "roi"),
    pytest.param({"roi": (0, 0, 10**12, 5)}, "roi"),
    ({"reduce_to": (0, 10)}, "reduce_to"),
    ({"reduce_to": (10, 0)}, "reduce_to"),
    ({"reduce_to": (-3, 10)}, "reduce_to"),
    ({"reduce_to": (10,)}, "reduce_to"),
    ({"reduce_to": (10, 10, 10)}, "reduce_to"),
    ({"reduce_to": 10}, "reduce_to"),
    ({"reduce_to": (1.5, 2)}, "reduce_to"),
    ({"max_pixels": 0}, "max_pixels"),
    ({"max_pixels": -1}, "max_pixels"),
    ({"max_pixels": "many"}, "max_pixels"),
    ({"max_pixels": 1.5}, "max_pixels"),
]


def _bad_arg_id(case: object) -> str:
    kwargs, arg = case.values if hasattr(case, "values") else case  # type: ignore[union-attr]
    return f"{arg}={kwargs[arg]!r}"


@pytest.mark.parametrize(("kwargs", "arg"), BAD_ARGS, ids=[_bad_arg_id(c) for c in BAD_ARGS])
def test_bad_arguments_name_the_argument(fx: FixtureSet, kwargs: dict, arg: str) -> None:
    with pytest.raises((ValueError, TypeError)) as ei:
        pixfeed.decode(fx.path("jpeg_17x31_420.jpg"), **kwargs)
    assert arg in str(ei.value), str(ei.value)
    assert not isinstance(ei.value, pixfeed.DecodeError) or arg == "roi"


@pytest.mark.parametrize("source", [42, None, 1.5, ["a.jpg"], {"path": "a.jpg"}, object()])
def test_bad_source_type(source: object) -> None:
    with pytest.raises(TypeError, match="source"):
        pixfeed.decode(source)  # type: ignore[arg-type]


def test_huge_reduce_to_is_not_an_overflow(fx: FixtureSet) -> None:
    """A request larger than the image is valid (full size), even beyond 32 bits; at worst a
    ValueError naming the argument, never OverflowError."""
    path = fx.path("jpeg_17x31_420.jpg")
    for req in [(10**6, 10**6), (2**32 + 1, 5), (10**12, 10**12)]:
        try:
            got = pixfeed.decode(path, reduce_to=req)
        except ValueError as e:
            assert "reduce_to" in str(e)
        else:
            assert got.shape == (31, 17, 3)


def test_roi_bigger_than_image_names_roi(fx: FixtureSet) -> None:
    with pytest.raises(ValueError, match="roi"):
        pixfeed.decode(fx.path("jpeg_17x31_420.jpg"), roi=(0, 0, 18, 31))
    with pytest.raises(ValueError, match="roi"):
        pixfeed.decode(fx.data("png_17x31.png"), roi=(17, 0, 1, 1))


# ------------------------------------------------------------------------------------------
# No leaks on error paths
# ------------------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_error_paths_do_not_leak(fx: FixtureSet) -> None:
    """2,000 failing decodes (truncated mid-scan JPEG: libjpeg's longjmp path; corrupt
    PNG/BMP/WebP; bombs; unsupported bytes). Each failure holds ~100 kB of output buffer and
    decoder state, so leaking it would add >100 MB; the bound is 24 MB (allocator noise)."""
    jpeg = fx.data("jpeg_orient1.jpg")
    bad = [
        jpeg[: int(len(jpeg) * 0.7)],
        fx.data("png_interlaced_rgba.png")[:-400],
        fx.data("bmp24_topdown.bmp")[:-300],
        fx.data("webp_lossless_alpha.webp")[:-100],
        fx.data("bomb.png"),
        fx.data("unsupported.gif"),
    ]

    def run(n: int) -> None:
        for i in range(n):
            src = bad[0] if i % 2 == 0 else bad[1 + (i // 2) % (len(bad) - 1)]
            try:
                # a ROI in the bottom rows (above the cut a ROI may legitimately decode)
                pixfeed.decode(src, roi=(0, 150, 8, 7) if i % 7 == 0 else None)
            except pixfeed.DecodeError:
                pass
            else:
                raise AssertionError("a corrupt input decoded")

    run(300)  # warm up allocator pools
    before = rss_bytes()
    run(2000)
    grown = rss_bytes() - before
    assert grown < 24 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 2,000 failing decodes"
