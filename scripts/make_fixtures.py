#!/usr/bin/env python3
"""Generate pixfeed's decoder test fixtures (nothing binary is committed).

Every edge file the decoding tests need is produced here from scikit-image's sample photos,
with Pillow where Pillow can write the variant and with the small writers below where it
cannot (16-bit and 1/2/4-bit PNG, Adam7 interlacing, all PNG filter types, top-down and
16-bit/RLE BMP, 4:4:0 / 4:1:1 / YCCK / Adobe-RGB JPEG, EXIF in either byte order...).
Each hand-written file is checked against Pillow while it is generated: Pillow must decode it
to the samples we meant to store, so a writer bug cannot silently become a wrong reference.

    python scripts/make_fixtures.py OUTDIR      # write every fixture + manifest.json
    python scripts/make_fixtures.py --list      # names and tags only

The tests import this module (``fixture_specs()`` for parametrization without building
anything, ``generate(outdir)`` from a session-scoped fixture).
"""

from __future__ import annotations

import functools
import io
import json
import math
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["Fixture", "exif_block", "fixture_specs", "generate"]

DEFAULT_MAX_PIXELS = 178_956_970


# ------------------------------------------------------------------------------------------
# Fixture description
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """One generated file and what the tests may assume about it."""

    name: str  # file name, extension included
    fmt: str  # "jpeg" | "png" | "bmp" | "webp" | "gif" | "tiff"
    build: Callable[[], bytes | tuple[bytes, np.ndarray]] = field(repr=False, compare=False)
    tags: frozenset[str] = frozenset()
    #: "image" (decodable), "unsupported" (another format's bytes), "bomb" (huge header)
    kind: str = "image"
    #: EXIF orientation pixfeed should report (1 when absent/invalid)
    orientation: int = 1
    #: lossy WebP: compared with a tolerance instead of exactly
    lossy: bool = False
    #: progressive JPEG / interlaced PNG
    progressive: bool = False
    #: expected ``probe().bit_depth`` (None: the spec leaves it open, e.g. palette / sub-byte)
    bit_depth: int | None = 8
    #: expected native channels of ``mode="unchanged"`` (None: not fixed by the spec)
    channels: int | None = None
    #: bombs: the (width, height) the header declares
    declared_size: tuple[int, int] | None = None

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def meta(self) -> dict[str, object]:
        return {
            "name": self.name,
            "fmt": self.fmt,
            "tags": sorted(self.tags),
            "kind": self.kind,
            "orientation": self.orientation,
            "lossy": self.lossy,
            "progressive": self.progressive,
            "bit_depth": self.bit_depth,
            "channels": self.channels,
            "declared_size": self.declared_size,
        }


# ------------------------------------------------------------------------------------------
# Source photos
# ------------------------------------------------------------------------------------------


@functools.cache
def photo(name: str) -> np.ndarray:
    import skimage.data

    a = np.ascontiguousarray(getattr(skimage.data, name)())
    a.setflags(write=False)
    return a


def orient_base() -> np.ndarray:
    """A non-square crop, neither dimension a multiple of 8 or 16 (203 wide, 157 high)."""
    return photo("chelsea")[23 : 23 + 157, 61 : 61 + 203]


def small(w: int, h: int, src: str = "astronaut", x: int = 180, y: int = 200) -> np.ndarray:
    return np.ascontiguousarray(photo(src)[y : y + h, x : x + w])


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    """RGBA with an alpha holding 0, 255 and everything between (gradient and a hole)."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    alpha = (255 * (xx + yy) / max(1, (w - 1) + (h - 1))).astype(np.uint8)
    r = min(h, w) / 4
    alpha[(xx - w / 2) ** 2 + (yy - h / 2) ** 2 < r * r] = 0
    alpha[: max(1, h // 8), :] = 255
    return np.dstack([rgb, alpha])


def gray_of(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


# ------------------------------------------------------------------------------------------
# EXIF
# ------------------------------------------------------------------------------------------


def exif_block(
    orientation: int, *, big_endian: bool = False, prefix: bool = True, extra_tags: bool = True
) -> bytes:
    """A TIFF-structured EXIF block with IFD0 holding the orientation tag (0x0112).

    ``extra_tags`` adds tags before and after it (ImageWidth-ish LONG, a RATIONAL with an
    out-of-line value), so a reader cannot assume orientation is the first/only entry.
    """
    e = ">" if big_endian else "<"
    entries: list[tuple[int, int, int, bytes]] = []
    if extra_tags:
        entries.append((0x010F, 2, 6, b"pixfe\0"))  # Make (ASCII, out of line: 6 > 4 bytes)
    entries.append((0x0112, 3, 1, struct.pack(e + "H", orientation) + b"\0\0"))
    if extra_tags:
        entries.append((0x011A, 5, 1, struct.pack(e + "II", 72, 1)))  # XResolution RATIONAL
        entries.append((0x0131, 2, 4, b"abc\0"))  # Software, fits inline
    n = len(entries)
    ifd_size = 2 + 12 * n + 4
    out_of_line = 8 + ifd_size
    ifd = struct.pack(e + "H", n)
    blob = b""
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            ifd += struct.pack(e + "HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack(e + "HHII", tag, typ, count, out_of_line + len(blob))
            blob += value
    ifd += struct.pack(e + "I", 0)
    head = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff = head + ifd + blob
    return (b"Exif\0\0" if prefix else b"") + tiff


XMP_ORIENT6 = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    b'tiff:Orientation="6"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


# ------------------------------------------------------------------------------------------
# Pillow writers
# ------------------------------------------------------------------------------------------


def pil_bytes(arr_or_im: np.ndarray | Image.Image, fmt: str, **kw: object) -> bytes:
    im = arr_or_im if isinstance(arr_or_im, Image.Image) else Image.fromarray(arr_or_im)
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


# ------------------------------------------------------------------------------------------
# JPEG: segment helpers and a small baseline encoder (4:4:0, 4:1:1, YCCK, Adobe RGB)
# ------------------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, offset of the 0xFF, total length incl. marker) for segments up to SOS."""
    assert data[:2] == b"\xff\xd8"
    out = [(0xD8, 0, 2)]
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, f"bad marker at {i}"
        m = data[i + 1]
        n = struct.unpack(">H", data[i + 2 : i + 4])[0]
        out.append((m, i, 2 + n))
        if m == 0xDA:
            break
        i += 2 + n
    return out


def jpeg_strip(data: bytes, marker: int, ident: bytes = b"") -> bytes:
    """Remove every segment with ``marker`` (whose payload starts with ``ident``)."""
    out = bytearray(data)
    for m, off, n in reversed(jpeg_segments(data)):
        if m == marker and data[off + 4 : off + 4 + len(ident)] == ident:
            del out[off : off + n]
    return bytes(out)


def jpeg_insert(data: bytes, segment_marker: int, payload: bytes) -> bytes:
    """Insert a segment right after SOI."""
    seg = bytes([0xFF, segment_marker]) + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + seg + data[2:]


def jpeg_sos_end(data: bytes) -> int:
    """Offset of the first entropy-coded byte (just after the first SOS header)."""
    m, off, n = jpeg_segments(data)[-1]
    assert m == 0xDA
    return off + n


def jpeg_patch_size(data: bytes, width: int, height: int) -> bytes:
    out = bytearray(data)
    for m, off, _n in jpeg_segments(data):
        if m in (0xC0, 0xC1, 0xC2):
            out[off + 5 : off + 9] = struct.pack(">HH", height, width)
            return bytes(out)
    raise AssertionError("no SOF")


@functools.cache
def _std_tables(quality: int) -> tuple[list[np.ndarray], dict[tuple[int, int], tuple]]:
    """Quantization (natural order) and Huffman tables (libjpeg's standard ones), taken
    from a file libjpeg-turbo (via Pillow) writes at ``quality``."""
    d = pil_bytes(np.zeros((8, 8, 3), np.uint8), "JPEG", quality=quality, subsampling=0)
    qts: dict[int, np.ndarray] = {}
    hts: dict[tuple[int, int], tuple] = {}
    zz = zigzag()
    for m, off, n in jpeg_segments(d):
        p = d[off + 4 : off + n]
        if m == 0xDB:
            while p:
                assert p[0] >> 4 == 0
                q = np.zeros(64, np.int32)
                q[zz] = np.frombuffer(p[1:65], np.uint8)
                qts[p[0] & 15] = q.reshape(8, 8)
                p = p[65:]
        elif m == 0xC4:
            while p:
                tc, th = p[0] >> 4, p[0] & 15
                counts = list(p[1:17])
                vals = list(p[17 : 17 + sum(counts)])
                hts[(tc, th)] = (counts, vals)
                p = p[17 + sum(counts) :]
    return [qts[0], qts[1]], hts


@functools.cache
def zigzag() -> np.ndarray:
    """zigzag[k] = natural (row-major) index of the k-th coefficient in zigzag order."""
    order = sorted(
        ((u, v) for u in range(8) for v in range(8)),
        key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]),
    )
    return np.array([u * 8 + v for u, v in order])


def _huff_codes(counts: list[int], vals: list[int]) -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, code: int, length: int) -> None:
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            self.n -= 8
            b = (self.acc >> self.n) & 0xFF
            self.out.append(b)
            if b == 0xFF:
                self.out.append(0)
        self.acc &= (1 << self.n) - 1

    def flush(self) -> None:
        if self.n:
            pad = 8 - self.n
            self.write((1 << pad) - 1, pad)


def _dct_matrix() -> np.ndarray:
    d = np.zeros((8, 8))
    for u in range(8):
        for x in range(8):
            c = math.sqrt(1 / 8) if u == 0 else math.sqrt(2 / 8)
            d[u, x] = c * math.cos((2 * x + 1) * u * math.pi / 16)
    return d


def encode_jpeg(
    planes: list[np.ndarray],
    sampling: list[tuple[int, int]],
    *,
    quality: int = 90,
    ids: list[int] | None = None,
    adobe_transform: int | None = None,
    restart_interval: int = 0,
    tables: list[int] | None = None,
) -> bytes:
    """Baseline sequential JPEG, one interleaved scan, standard Huffman tables.

    ``planes`` are full-resolution component samples (what the file stores: Y/Cb/Cr, or
    R/G/B, or C/M/Y/K...); each is box-downsampled to its ``sampling`` factor.
    """
    nc = len(planes)
    hgt, wid = planes[0].shape
    hmax = max(h for h, _ in sampling)
    vmax = max(v for _, v in sampling)
    mcux = -(-wid // (8 * hmax))
    mcuy = -(-hgt // (8 * vmax))
    qts, hts = _std_tables(quality)
    tables = tables or [0] + [1] * (nc - 1)
    ids = ids or list(range(1, nc + 1))
    dmat = _dct_matrix()
    zz = zigzag()
    coefs = []
    for plane, (h, v) in zip(planes, sampling, strict=True):
        fx, fy = hmax // h, vmax // v
        assert fx * h == hmax and fy * v == vmax
        p = plane.astype(np.float64)
        ph, pw = -(-hgt // fy) * fy, -(-wid // fx) * fx
        p = np.pad(p, ((0, ph - hgt), (0, pw - wid)), mode="edge")
        p = p.reshape(ph // fy, fy, pw // fx, fx).mean(axis=(1, 3))
        p = np.round(p)
        th, tw = mcuy * v * 8, mcux * h * 8
        p = np.pad(p, ((0, th - p.shape[0]), (0, tw - p.shape[1])), mode="edge")
        blocks = p.reshape(th // 8, 8, tw // 8, 8).transpose(0, 2, 1, 3) - 128.0
        c = np.einsum("ux,abxy,vy->abuv", dmat, blocks, dmat)
        q = qts[tables[len(coefs)]]
        c = np.round(c / q).astype(np.int64).reshape(th // 8, tw // 8, 64)[..., zz]
        coefs.append(c)

    dc_codes = [_huff_codes(*hts[(0, t)]) for t in (0, 1)]
    ac_codes = [_huff_codes(*hts[(1, t)]) for t in (0, 1)]
    bw = _BitWriter()

    def put_value(v: int) -> tuple[int, int]:
        size = abs(v).bit_length()
        return size, (v if v >= 0 else v + (1 << size) - 1)

    pred = [0] * nc
    mcu = 0
    rst = 0
    for my in range(mcuy):
        for mx in range(mcux):
            if restart_interval and mcu and mcu % restart_interval == 0:
                bw.flush()
                bw.out += bytes([0xFF, 0xD0 + rst % 8])
                rst += 1
                pred = [0] * nc
            mcu += 1
            for ci, (h, v) in enumerate(sampling):
                t = tables[ci]
                for by in range(v):
                    for bx in range(h):
                        blk = coefs[ci][my * v + by, mx * h + bx]
                        diff = int(blk[0]) - pred[ci]
                        pred[ci] = int(blk[0])
                        size, bits = put_value(diff)
                        bw.write(*dc_codes[t][size])
                        if size:
                            bw.write(bits, size)
                        run = 0
                        last = 63
                        while last > 0 and blk[last] == 0:
                            last -= 1
                        for k in range(1, last + 1):
                            a = int(blk[k])
                            if a == 0:
                                run += 1
                                continue
                            while run > 15:
                                bw.write(*ac_codes[t][0xF0])
                                run -= 16
                            size, bits = put_value(a)
                            bw.write(*ac_codes[t][(run << 4) | size])
                            bw.write(bits, size)
                            run = 0
                        if last < 63:
                            bw.write(*ac_codes[t][0x00])
    bw.flush()

    def seg(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    out = b"\xff\xd8"
    if adobe_transform is None and nc == 3 and ids == [1, 2, 3]:
        out += seg(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if adobe_transform is not None:
        out += seg(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, adobe_transform))
    used_q = sorted(set(tables))
    out += seg(0xDB, b"".join(bytes([t]) + bytes(qts[t].reshape(64)[zz].astype(np.uint8)) for t in used_q))
    sof = struct.pack(">BHHB", 8, hgt, wid, nc)
    for ci in range(nc):
        h, v = sampling[ci]
        sof += bytes([ids[ci], (h << 4) | v, tables[ci]])
    out += seg(0xC0, sof)
    dht = b""
    for tc in (0, 1):
        for th in used_q:
            counts, vals = hts[(tc, th)]
            dht += bytes([(tc << 4) | th]) + bytes(counts) + bytes(vals)
    out += seg(0xC4, dht)
    if restart_interval:
        out += seg(0xDD, struct.pack(">H", restart_interval))
    sos = bytes([nc])
    for ci in range(nc):
        sos += bytes([ids[ci], (tables[ci] << 4) | tables[ci]])
    sos += bytes([0, 63, 0])
    out += seg(0xDA, sos)
    return out + bytes(bw.out) + b"\xff\xd9"


def rgb_to_ycc(rgb: np.ndarray) -> list[np.ndarray]:
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168735892 * r - 0.331264108 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418687589 * g - 0.081312411 * b + 128
    return [np.clip(np.round(c), 0, 255).astype(np.uint8) for c in (y, cb, cr)]


def ink_cmyk(rgb: np.ndarray) -> np.ndarray:
    """A CMYK rendition with a real black channel (Pillow's RGB->CMYK has K=0)."""
    f = rgb.astype(np.float64) / 255
    k = 1 - f.max(axis=2)
    d = np.where(k < 1, 1 - k, 1)
    cmy = (1 - f - k[..., None]) / d[..., None]
    out = np.dstack([cmy, k]) * 255
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _check_close(data: bytes, want: np.ndarray, *, mode: str, min_psnr: float, what: str) -> None:
    got = np.asarray(Image.open(io.BytesIO(data)).convert(mode)).astype(np.float64)
    mse = float(np.mean((got - want.astype(np.float64)) ** 2))
    psnr = 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)
    if psnr < min_psnr:
        raise AssertionError(f"{what}: Pillow decodes it at PSNR {psnr:.1f} < {min_psnr}")


def jpeg_hand_ycc(rgb: np.ndarray, sampling: list[tuple[int, int]], **kw: object) -> bytes:
    d = encode_jpeg(rgb_to_ycc(rgb), sampling, **kw)  # type: ignore[arg-type]
    _check_close(d, rgb, mode="RGB", min_psnr=28, what=f"hand JPEG {sampling}")
    return d


def jpeg_adobe_rgb(rgb: np.ndarray) -> bytes:
    """Three components stored as R, G, B (Adobe transform 0: no colour transform)."""
    d = encode_jpeg(
        [rgb[..., i] for i in range(3)],
        [(1, 1)] * 3,
        ids=[ord("R"), ord("G"), ord("B")],
        adobe_transform=0,
        tables=[0, 0, 0],
    )
    _check_close(d, rgb, mode="RGB", min_psnr=30, what="Adobe RGB JPEG")
    return d


def jpeg_ycck(rgb: np.ndarray) -> bytes:
    """Adobe YCCK (transform 2) as Photoshop/libjpeg write it from Adobe-inverted CMYK;
    Y and K sampled 2x2, chroma 1x1."""
    cmyk = ink_cmyk(rgb)
    # libjpeg's CMYK->YCCK takes R = 255 - C of the (Adobe-inverted) inks, so the stored
    # Y/Cb/Cr are those of the plain inks; K is stored inverted.
    ycc = rgb_to_ycc(cmyk[..., :3])
    d = encode_jpeg(
        [*ycc, 255 - cmyk[..., 3]],
        [(2, 2), (1, 1), (1, 1), (2, 2)],
        adobe_transform=2,
        tables=[0, 1, 1, 0],
    )
    im = Image.open(io.BytesIO(d))
    assert im.mode == "CMYK" and im.info.get("adobe_transform") == 2, im.info
    _check_close(d, cmyk, mode="CMYK", min_psnr=26, what="YCCK JPEG")
    return d


def jpeg_cmyk_pillow(rgb: np.ndarray, *, adobe: bool) -> bytes:
    """Pillow writes CMYK JPEGs inverted (rawmode CMYK;I) with an Adobe APP14 (transform 0);
    ``adobe=False`` strips that marker (libjpeg then still reads 4 components as CMYK, and
    Pillow still inverts)."""
    d = pil_bytes(Image.fromarray(ink_cmyk(rgb), "CMYK"), "JPEG", quality=92)
    assert b"Adobe" in d
    if not adobe:
        d = jpeg_strip(d, 0xEE, b"Adobe")
        assert b"Adobe" not in d
    return d


def jpeg_pillow(arr: np.ndarray, **kw: object) -> bytes:
    kw.setdefault("quality", 90)
    return pil_bytes(arr, "JPEG", **kw)


# ------------------------------------------------------------------------------------------
# PNG writer (any bit depth, all five filters, Adam7, tRNS/eXIf/multiple IDAT)
# ------------------------------------------------------------------------------------------

PNG_SIG = b"\x89PNG\r\n\x1a\n"
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_chunk(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + typ + payload + struct.pack(">I", zlib.crc32(typ + payload))


def png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset of the length field, total chunk length)."""
    assert data[:8] == PNG_SIG
    out = []
    i = 8
    while i + 8 <= len(data):
        n = struct.unpack(">I", data[i : i + 4])[0]
        out.append((data[i + 4 : i + 8], i, 12 + n))
        i += 12 + n
    return out


def _pack_row(row: np.ndarray, bit_depth: int) -> np.ndarray:
    """Samples of one scanline (flattened) -> bytes."""
    if bit_depth == 16:
        return np.frombuffer(row.astype(">u2").tobytes(), np.uint8)
    if bit_depth == 8:
        return row.astype(np.uint8)
    per = 8 // bit_depth
    n = -(-row.size // per) * per
    padded = np.zeros(n, np.uint16)
    padded[: row.size] = row
    padded = padded.reshape(-1, per)
    shifts = np.array([8 - bit_depth * (i + 1) for i in range(per)], np.uint16)
    return (padded << shifts).sum(axis=1).astype(np.uint8)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_rows(rows: list[np.ndarray], bpp: int, start: int) -> bytes:
    out = bytearray()
    prior = np.zeros_like(rows[0], dtype=np.int32) if rows else None
    for i, row in enumerate(rows):
        r = row.astype(np.int32)
        a = np.concatenate([np.zeros(bpp, np.int32), r[:-bpp]])[: r.size]
        b = prior
        c = np.concatenate([np.zeros(bpp, np.int32), prior[:-bpp]])[: r.size]
        ftype = (start + i) % 5
        pred = [np.zeros_like(r), a, b, (a + b) >> 1, _paeth(a, b, c)][ftype]
        out.append(ftype)
        out += ((r - pred) & 0xFF).astype(np.uint8).tobytes()
        prior = r
    return bytes(out)


def png_encode(
    samples: np.ndarray,
    *,
    color_type: int,
    bit_depth: int,
    palette: np.ndarray | None = None,
    trns: bytes | None = None,
    interlace: bool = False,
    exif: bytes | None = None,
    exif_after_idat: bool = False,
    idat_size: int | None = None,
    filters: bool = True,
) -> bytes:
    if samples.ndim == 2:
        samples = samples[..., None]
    h, w, c = samples.shape
    assert c == PNG_CHANNELS[color_type]
    bpp = max(1, c * bit_depth // 8)
    raw = bytearray()
    k = 0
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for xs, ys, dx, dy in passes:
        sub = samples[ys::dy, xs::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [_pack_row(r.reshape(-1), bit_depth) for r in sub]
        if filters:
            raw += _filter_rows(rows, bpp, k)
        else:
            raw += b"".join(b"\0" + r.tobytes() for r in rows)
        k += len(rows)
    z = zlib.compress(bytes(raw), 6)
    out = PNG_SIG + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlace))
    )
    if palette is not None:
        out += png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    if exif is not None and not exif_after_idat:
        out += png_chunk(b"eXIf", exif)
    step = idat_size or len(z) or 1
    for i in range(0, max(len(z), 1), step):
        out += png_chunk(b"IDAT", z[i : i + step])
    if exif is not None and exif_after_idat:
        out += png_chunk(b"eXIf", exif)
    return out + png_chunk(b"IEND", b"")


def png_hand(samples: np.ndarray, *, color_type: int, bit_depth: int, **kw: object) -> tuple[bytes, np.ndarray]:
    """A hand-written PNG plus the stored samples (the ``mode="unchanged"`` truth), checked
    against Pillow's reading of it."""
    d = png_encode(samples, color_type=color_type, bit_depth=bit_depth, **kw)  # type: ignore[arg-type]
    _check_png_against_pillow(d, samples, color_type, bit_depth, kw)
    return d, samples


def _check_png_against_pillow(
    d: bytes, samples: np.ndarray, ct: int, bd: int, kw: dict[str, object]
) -> None:
    im = Image.open(io.BytesIO(d))
    im.load()
    got = np.asarray(im)
    if ct == 3:
        want = samples
    elif bd == 16:
        if ct == 0:
            want = samples  # I;16 (raw 16-bit values)
        elif ct == 4:  # Pillow opens 16-bit gray+alpha as RGBA (rawmode LA;16B)
            hi = (samples >> 8).astype(np.uint8)
            want = np.dstack([hi[..., 0]] * 3 + [hi[..., 1]])
        else:
            want = (samples >> 8).astype(np.uint8)  # Pillow keeps the high byte
    elif bd < 8:
        if im.mode == "1":
            want = samples.astype(bool)
        else:
            want = (samples * (255 // ((1 << bd) - 1))).astype(np.uint8)  # L;2 / L;4 scale
    else:
        want = samples
    if got.shape != want.shape or not np.array_equal(got, want):
        raise AssertionError(f"PNG writer check failed: Pillow {im.mode} {got.shape} vs {want.shape}")


def png_pillow(arr_or_im: np.ndarray | Image.Image, **kw: object) -> bytes:
    return pil_bytes(arr_or_im, "PNG", **kw)


# ------------------------------------------------------------------------------------------
# BMP writer (1/4/8/16/24/32-bit, top-down/bottom-up, BITFIELDS, V5, RLE8/RLE4)
# ------------------------------------------------------------------------------------------

BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS = 0, 1, 2, 3


def _run_length(row: list[int], i: int) -> int:
    """How many pixels from ``row[i]`` on repeat it (one RLE count: at most 255)."""
    j = i
    while j < len(row) and row[j] == row[i] and j - i < 255:
        j += 1
    return j - i


def _rle_rows(
    rows: Iterable[np.ndarray], code: Callable[[list[int], int], tuple[bytes, int]]
) -> bytes:
    """The RLE body: each row as the codes ``code(row, i)`` gives (a code and where the next
    starts), then an end of line; the end of bitmap replaces the last end of line."""
    out = bytearray()
    for row in rows:
        pixels = [int(v) for v in row]
        i = 0
        while i < len(pixels):
            c, i = code(pixels, i)
            out += c
        out += b"\0\0"  # end of line
    out[-2:] = b"\0\1"
    return bytes(out)


def _rle8_code(row: list[int], i: int) -> tuple[bytes, int]:
    """One RLE8 code at ``row[i]``: a run of 2 or more, else literal pixels."""
    run = _run_length(row, i)
    if run >= 2:
        return bytes([run, row[i]]), i + run
    # literal run until two equal neighbours start (absolute mode needs >= 3)
    j = i
    while j < len(row) and j - i < 255 and not (j + 1 < len(row) and row[j] == row[j + 1]):
        j += 1
    lit = row[i:j]
    if len(lit) >= 3:
        return bytes([0, len(lit), *lit]) + (b"\0" if len(lit) % 2 else b""), j
    return b"".join(bytes([1, v]) for v in lit), j


def _rle4_code(row: list[int], i: int) -> tuple[bytes, int]:
    """One RLE4 code at ``row[i]``: a run of 4 or more (or the row's last pixels), else
    up to 8 literal pixels."""
    run = _run_length(row, i)
    if run >= 4 or len(row) - i < 4:
        return bytes([run, (row[i] << 4) | row[i]]), i + run
    # absolute mode: up to 8 pixels that are not a run of 4
    j = min(len(row), i + 8)
    lit = row[i:j]
    packed = bytearray()
    for k in range(0, len(lit), 2):
        hi = lit[k]
        lo = lit[k + 1] if k + 1 < len(lit) else 0
        packed.append((hi << 4) | lo)
    if len(packed) % 2:
        packed.append(0)
    return bytes([0, len(lit)]) + packed, j


def bmp_encode(
    pixels: np.ndarray,
    bpp: int,
    *,
    palette: np.ndarray | None = None,
    top_down: bool = False,
    compression: int = BI_RGB,
    masks: tuple[int, ...] | None = None,
    header_size: int = 40,
    x_byte: np.ndarray | None = None,
    rle_body: bytes | None = None,
) -> bytes:
    h, w = pixels.shape[:2]
    stride = ((w * bpp + 31) // 32) * 4
    rows_out: list[bytes] = []
    order = range(h) if top_down else range(h - 1, -1, -1)
    if rle_body is not None:
        body = rle_body
    elif compression == BI_RLE8:
        body = _rle_rows((pixels[y] for y in order), _rle8_code)
    elif compression == BI_RLE4:
        body = _rle_rows((pixels[y] for y in order), _rle4_code)
    else:
        for y in order:
            row = pixels[y]
            if bpp in (1, 4, 8):
                b = _pack_row(row.reshape(-1), bpp).tobytes()
            elif bpp == 16:
                r, g, bb = (row[:, i].astype(np.uint16) for i in range(3))
                if masks == (0xF800, 0x7E0, 0x1F):
                    v = ((r >> 3) << 11) | ((g >> 2) << 5) | (bb >> 3)
                else:
                    v = ((r >> 3) << 10) | ((g >> 3) << 5) | (bb >> 3)
                b = v.astype("<u2").tobytes()
            elif bpp == 24:
                b = row[:, ::-1].tobytes()
            elif bpp == 32:
                if row.shape[1] == 4:  # BGRA
                    b = row[:, [2, 1, 0, 3]].tobytes()
                else:
                    x = x_byte[y] if x_byte is not None else np.zeros(w, np.uint8)
                    b = np.column_stack([row[:, ::-1], x]).astype(np.uint8).tobytes()
            else:
                raise ValueError(bpp)
            rows_out.append(b.ljust(stride, b"\0"))
        body = b"".join(rows_out)
    pal = b""
    if palette is not None:
        entry = (lambda r, g, b: bytes([b, g, r])) if header_size == 12 else (lambda r, g, b: bytes([b, g, r, 0]))
        pal = b"".join(entry(r, g, b) for r, g, b in palette.astype(int))
    if header_size == 12:  # OS/2 1.x BITMAPCOREHEADER
        assert not top_down and compression == BI_RGB
        hdr = struct.pack("<IHHHH", 12, w, h, 1, bpp)
        off = 14 + 12 + len(pal)
        return b"BM" + struct.pack("<IHHI", off + len(body), 0, 0, off) + hdr + pal + body
    extra = b""
    if header_size == 40 and compression == BI_BITFIELDS:
        extra = struct.pack("<III", *masks[:3])  # type: ignore[index]
    hdr = struct.pack(
        "<IiiHHIIiiII",
        header_size,
        w,
        -h if top_down else h,
        1,
        bpp,
        compression,
        len(body),
        2835,
        2835,
        0 if palette is None else len(palette),
        0,
    )
    if header_size == 124:  # BITMAPV5HEADER
        m = masks or (0, 0, 0, 0)
        hdr += struct.pack("<IIII", *m) + b"BGRs" + b"\0" * 36 + b"\0" * 12
        hdr += struct.pack("<IIII", 4, 0, 0, 0)
    assert len(hdr) == header_size
    off = 14 + header_size + len(extra) + len(pal)
    fh = b"BM" + struct.pack("<IHHI", off + len(body), 0, 0, off)
    return fh + hdr + extra + pal + body


def bmp_hand(pixels: np.ndarray, bpp: int, *, want_mode: str, want: np.ndarray, **kw: object) -> bytes:
    d = bmp_encode(pixels, bpp, **kw)  # type: ignore[arg-type]
    im = Image.open(io.BytesIO(d))
    im.load()
    got = np.asarray(im.convert(want_mode))
    if got.shape != want.shape or not np.array_equal(got, want):
        diff = np.abs(got.astype(int) - want.astype(int)).max() if got.shape == want.shape else "shape"
        raise AssertionError(f"BMP writer check failed ({bpp} bit, {kw.get('compression')}): {diff}")
    return d


def color_palette(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pal = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    pal[0] = (0, 0, 0)
    pal[-1] = (255, 255, 255)
    return pal


def quantize(rgb: np.ndarray, pal: np.ndarray) -> np.ndarray:
    d = ((rgb[:, :, None, :].astype(np.int32) - pal[None, None].astype(np.int32)) ** 2).sum(-1)
    return d.argmin(-1).astype(np.uint8)


def bmp_indexed(rgb: np.ndarray, bpp: int, **kw: object) -> bytes:
    pal = color_palette(1 << bpp, seed=bpp)
    idx = quantize(rgb, pal)
    return bmp_hand(idx, bpp, palette=pal, want_mode="RGB", want=pal[idx], **kw)


def bmp_rgb(rgb: np.ndarray, bpp: int, **kw: object) -> bytes:
    want = rgb
    if bpp == 16:
        masks = kw.get("masks")
        bits = (5, 6, 5) if masks == (0xF800, 0x7E0, 0x1F) else (5, 5, 5)
        # the writer truncates; what Pillow expands the 5/6-bit values to is Pillow's business
        # (the tests compare with Pillow), so the check here only bounds the error
        d = bmp_encode(rgb, bpp, **kw)  # type: ignore[arg-type]
        got = np.asarray(Image.open(io.BytesIO(d)).convert("RGB")).astype(int)
        err = np.abs(got - rgb.astype(int)).max()
        assert err <= 255 >> min(bits), f"16-bit BMP check failed: {err}"
        return d
    return bmp_hand(rgb, bpp, want_mode="RGB", want=want, **kw)


# ------------------------------------------------------------------------------------------
# WebP helpers
# ------------------------------------------------------------------------------------------


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    out = []
    i = 12
    while i + 8 <= len(data):
        typ = data[i : i + 4]
        n = struct.unpack("<I", data[i + 4 : i + 8])[0]
        out.append((typ, data[i + 8 : i + 8 + n]))
        i += 8 + n + (n & 1)
    return out


def webp_build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP"
    for typ, payload in chunks:
        body += typ + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_with_exif(data: bytes, exif: bytes) -> bytes:
    """Replace (or add) the EXIF chunk, keeping VP8X flags right."""
    chunks = [c for c in webp_chunks(data) if c[0] != b"EXIF"]
    assert chunks[0][0] == b"VP8X", "start from a file Pillow wrote with exif="
    flags = chunks[0][1][0] | 0x08
    chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    return webp_build([*chunks, (b"EXIF", exif)])


def webp_pillow(arr: np.ndarray, **kw: object) -> bytes:
    return pil_bytes(arr, "WEBP", **kw)


# ------------------------------------------------------------------------------------------
# Bombs: tiny files whose headers declare huge images
# ------------------------------------------------------------------------------------------


def bomb_jpeg(w: int, h: int) -> bytes:
    return jpeg_patch_size(jpeg_pillow(small(16, 16)), w, h)


def bomb_png(w: int, h: int) -> bytes:
    d = png_pillow(small(16, 16))
    typ, off, n = png_chunks(d)[0]
    assert typ == b"IHDR"
    ihdr = bytearray(d[off + 8 : off + 8 + 13])
    ihdr[0:8] = struct.pack(">II", w, h)
    return d[:off] + png_chunk(b"IHDR", bytes(ihdr)) + d[off + n :]


def bomb_bmp(w: int, h: int) -> bytes:
    d = bytearray(pil_bytes(small(16, 16), "BMP"))
    d[18:26] = struct.pack("<ii", w, h)
    return bytes(d)


def bomb_webp_vp8l(w: int, h: int) -> bytes:
    d = webp_pillow(small(16, 16), lossless=True)
    chunks = webp_chunks(d)
    assert chunks[0][0] == b"VP8L"
    p = bytearray(chunks[0][1])
    bits = struct.unpack("<I", p[1:5])[0]
    bits = (bits & ~0x0FFFFFFF) | ((w - 1) & 0x3FFF) | (((h - 1) & 0x3FFF) << 14)
    p[1:5] = struct.pack("<I", bits)
    return webp_build([(b"VP8L", bytes(p))])


def bomb_webp_vp8(w: int, h: int) -> bytes:
    d = webp_pillow(small(16, 16), quality=80)
    chunks = webp_chunks(d)
    assert chunks[0][0] == b"VP8 "
    p = bytearray(chunks[0][1])
    assert p[3:6] == b"\x9d\x01\x2a"
    p[6:10] = struct.pack("<HH", w & 0x3FFF, h & 0x3FFF)
    return webp_build([(b"VP8 ", bytes(p))])


def bomb_webp_vp8x(w: int, h: int) -> bytes:
    d = webp_pillow(small(16, 16), lossless=True, exif=exif_block(1))
    chunks = webp_chunks(d)
    assert chunks[0][0] == b"VP8X"
    p = bytearray(chunks[0][1])
    p[4:10] = (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    chunks[0] = (b"VP8X", bytes(p))
    return webp_build(chunks)


# ------------------------------------------------------------------------------------------
# The fixture list
# ------------------------------------------------------------------------------------------


def _tags(*t: str) -> frozenset[str]:
    return frozenset(t)


ODD_SIZES = [(1, 1), (1, 37), (37, 1), (17, 31), (2, 3)]


def fixture_specs() -> list[Fixture]:
    F = Fixture
    specs: list[Fixture] = []
    add = specs.append

    # ---------------- JPEG ----------------
    jp = dict(fmt="jpeg", channels=3)
    for ss, label in [(0, "444"), (1, "422"), (2, "420")]:
        add(F(f"jpeg_astronaut_{label}.jpg", build=lambda ss=ss: jpeg_pillow(photo("astronaut"), subsampling=ss),
              tags=_tags("photo", f"ss{label}", "reduce"), **jp))
        add(F(f"jpeg_chelsea_{label}.jpg", build=lambda ss=ss: jpeg_pillow(photo("chelsea"), subsampling=ss, quality=85),
              tags=_tags("photo", f"ss{label}", "reduce", "roi"), **jp))
        add(F(f"jpeg_progressive_{label}.jpg",
              build=lambda ss=ss: jpeg_pillow(photo("coffee"), subsampling=ss, progressive=True),
              tags=_tags("photo", "progressive", f"ss{label}", "reduce", "roi"), progressive=True, **jp))
    add(F("jpeg_rocket_420_q50.jpg", build=lambda: jpeg_pillow(photo("rocket"), quality=50),
          tags=_tags("photo", "ss420", "reduce"), **jp))
    add(F("jpeg_hand_440.jpg", build=lambda: jpeg_hand_ycc(photo("chelsea")[:211, :287], [(1, 2), (1, 1), (1, 1)]),
          tags=_tags("photo", "ss440", "hand", "reduce", "roi"), **jp))
    add(F("jpeg_hand_411.jpg", build=lambda: jpeg_hand_ycc(photo("chelsea")[:150, :203], [(4, 1), (1, 1), (1, 1)]),
          tags=_tags("photo", "ss411", "hand", "roi", "reduce"), **jp))
    add(F("jpeg_hand_444_restart.jpg",
          build=lambda: jpeg_hand_ycc(small(93, 61, "coffee", 200, 100), [(1, 1)] * 3, restart_interval=3),
          tags=_tags("restart", "hand", "ss444", "roi"), **jp))
    add(F("jpeg_restart_blocks_420.jpg",
          build=lambda: jpeg_pillow(photo("chelsea"), restart_marker_blocks=7),
          tags=_tags("photo", "restart", "ss420", "roi", "reduce"), **jp))
    add(F("jpeg_restart_rows_422.jpg",
          build=lambda: jpeg_pillow(photo("coffee"), subsampling=1, restart_marker_rows=1),
          tags=_tags("photo", "restart", "ss422", "roi"), **jp))
    add(F("jpeg_progressive_restart.jpg",
          build=lambda: jpeg_pillow(photo("chelsea"), progressive=True, restart_marker_blocks=5),
          tags=_tags("photo", "restart", "progressive", "ss420", "roi", "reduce"), progressive=True, **jp))
    add(F("jpeg_optimized_huffman.jpg", build=lambda: jpeg_pillow(photo("astronaut"), optimize=True, quality=75),
          tags=_tags("photo", "ss420"), **jp))
    add(F("jpeg_gray.jpg", build=lambda: jpeg_pillow(photo("camera")),
          tags=_tags("photo", "gray", "reduce", "roi"), fmt="jpeg", channels=1))
    add(F("jpeg_gray_progressive.jpg", build=lambda: jpeg_pillow(photo("camera")[:301, :399], progressive=True),
          tags=_tags("photo", "gray", "progressive", "roi"), fmt="jpeg", channels=1, progressive=True))
    add(F("jpeg_adobe_rgb.jpg", build=lambda: jpeg_adobe_rgb(small(77, 45, "coffee", 300, 120)),
          tags=_tags("adobe_rgb", "hand"), **jp))
    add(F("jpeg_cmyk_adobe.jpg", build=lambda: jpeg_cmyk_pillow(photo("coffee")[:203, :301], adobe=True),
          tags=_tags("cmyk", "photo", "roi", "reduce"), fmt="jpeg", channels=4))
    add(F("jpeg_cmyk_noadobe.jpg", build=lambda: jpeg_cmyk_pillow(photo("coffee")[:203, :301], adobe=False),
          tags=_tags("cmyk", "photo"), fmt="jpeg", channels=4))
    add(F("jpeg_ycck.jpg", build=lambda: jpeg_ycck(photo("chelsea")[:157, :203]),
          tags=_tags("cmyk", "ycck", "hand", "roi", "reduce"), fmt="jpeg", channels=4))
    for o in range(1, 9):
        add(F(f"jpeg_orient{o}.jpg",
              build=lambda o=o: jpeg_pillow(orient_base(), exif=exif_block(o)),
              tags=_tags("orient", "ss420", "roi", "reduce"), orientation=o, **jp))
    add(F("jpeg_orient6_be.jpg", build=lambda: jpeg_pillow(orient_base(), exif=exif_block(6, big_endian=True)),
          tags=_tags("orient", "ss420"), orientation=6, **jp))
    add(F("jpeg_orient5_444_progressive.jpg",
          build=lambda: jpeg_pillow(orient_base(), exif=exif_block(5), subsampling=0, progressive=True),
          tags=_tags("orient", "ss444", "progressive", "roi"), orientation=5, progressive=True, **jp))
    add(F("jpeg_orient7_422.jpg",
          build=lambda: jpeg_pillow(orient_base(), exif=exif_block(7), subsampling=1),
          tags=_tags("orient", "ss422", "roi", "reduce"), orientation=7, **jp))
    add(F("jpeg_orient8_gray.jpg", build=lambda: jpeg_pillow(gray_of(orient_base()), exif=exif_block(8)),
          tags=_tags("orient", "gray", "roi"), orientation=8, fmt="jpeg", channels=1))
    add(F("jpeg_orient_invalid9.jpg", build=lambda: jpeg_pillow(orient_base(), exif=exif_block(9)),
          tags=_tags("orient", "orient_invalid"), orientation=1, **jp))
    add(F("jpeg_orient_invalid0.jpg", build=lambda: jpeg_pillow(orient_base(), exif=exif_block(0)),
          tags=_tags("orient", "orient_invalid"), orientation=1, **jp))
    add(F("jpeg_exif_no_orientation.jpg",
          build=lambda: jpeg_pillow(orient_base(), exif=_exif_without_orientation()),
          tags=_tags("orient"), orientation=1, **jp))
    add(F("jpeg_xmp_app1_before_exif_orient3.jpg",
          build=lambda: jpeg_insert(jpeg_pillow(orient_base(), exif=exif_block(3)), 0xE1,
                                    b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"),
          tags=_tags("orient", "roi"), orientation=3, **jp))
    add(F("jpeg_xmp_orient6.jpg", build=lambda: jpeg_pillow(orient_base(), xmp=XMP_ORIENT6),
          tags=_tags("xmp_orientation"), orientation=6, **jp))
    for w, h in ODD_SIZES:
        add(F(f"jpeg_{w}x{h}_420.jpg", build=lambda w=w, h=h: jpeg_pillow(small(w, h)),
              tags=_tags("odd", "ss420"), **jp))
    add(F("jpeg_17x31_444.jpg", build=lambda: jpeg_pillow(small(17, 31), subsampling=0),
          tags=_tags("odd", "ss444"), **jp))
    add(F("jpeg_17x31_422_progressive.jpg", build=lambda: jpeg_pillow(small(17, 31), subsampling=1, progressive=True),
          tags=_tags("odd", "ss422", "progressive"), progressive=True, **jp))
    add(F("jpeg_17x31_gray.jpg", build=lambda: jpeg_pillow(gray_of(small(17, 31))),
          tags=_tags("odd", "gray"), fmt="jpeg", channels=1))
    add(F("jpeg_1x1_gray.jpg", build=lambda: jpeg_pillow(gray_of(small(1, 1))),
          tags=_tags("odd", "gray"), fmt="jpeg", channels=1))

    # ---------------- PNG ----------------
    pn = dict(fmt="png")
    add(F("png_rgb.png", build=lambda: png_pillow(photo("astronaut")), tags=_tags("photo", "roi"), channels=3, **pn))
    add(F("png_rgba.png", build=lambda: png_pillow(with_alpha(photo("chelsea"))),
          tags=_tags("photo", "alpha", "roi"), channels=4, **pn))
    add(F("png_gray.png", build=lambda: png_pillow(photo("camera")), tags=_tags("photo", "gray", "roi"), channels=1, **pn))
    add(F("png_gray_alpha.png", build=lambda: png_pillow(Image.fromarray(with_alpha(orient_base())).convert("LA")),
          tags=_tags("alpha", "gray_alpha"), channels=2, **pn))
    add(F("png_palette.png", build=lambda: png_pillow(Image.fromarray(photo("coffee")).quantize(200)),
          tags=_tags("palette", "photo", "roi"), bit_depth=None, **pn))
    add(F("png_palette_trns.png", build=_png_palette_trns, tags=_tags("palette", "trns", "alpha"), bit_depth=None, **pn))
    add(F("png_palette4_trns_hand.png", build=lambda: _png_palette_hand(4, trns=True),
          tags=_tags("palette", "trns", "alpha", "hand", "subbyte"), bit_depth=None, **pn))
    add(F("png_palette1_hand.png", build=lambda: _png_palette_hand(1, trns=False),
          tags=_tags("palette", "hand", "subbyte"), bit_depth=None, **pn))
    add(F("png_palette2_hand.png", build=lambda: _png_palette_hand(2, trns=False),
          tags=_tags("palette", "hand", "subbyte"), bit_depth=None, **pn))
    add(F("png_gray_trns.png",
          build=lambda: png_hand(gray_of(orient_base()), color_type=0, bit_depth=8, trns=struct.pack(">H", 128)),
          tags=_tags("trns", "gray", "hand"), bit_depth=8, **pn))
    add(F("png_rgb_trns.png", build=_png_rgb_trns, tags=_tags("trns", "hand"), bit_depth=8, **pn))
    for bd in (1, 2, 4):
        add(F(f"png_gray{bd}.png",
              build=lambda bd=bd: png_hand(gray_of(small(61, 43)) >> (8 - bd), color_type=0, bit_depth=bd),
              tags=_tags("gray", "hand", "subbyte", "roi"), bit_depth=None, channels=1, **pn))
    add(F("png16_gray.png",
          build=lambda: png_hand(_sixteen(gray_of(orient_base()).astype(np.uint16)), color_type=0, bit_depth=16),
          tags=_tags("sixteen", "gray", "hand", "roi"), bit_depth=16, channels=1, **pn))
    add(F("png16_gray_alpha.png",
          build=lambda: png_hand(_sixteen(with_alpha(orient_base())[..., 2:]), color_type=4, bit_depth=16),
          tags=_tags("sixteen", "gray_alpha", "alpha", "hand"), bit_depth=16, channels=2, **pn))
    add(F("png16_rgb.png", build=lambda: png_hand(_sixteen(orient_base()), color_type=2, bit_depth=16),
          tags=_tags("sixteen", "hand", "roi"), bit_depth=16, channels=3, **pn))
    add(F("png16_rgba.png", build=lambda: png_hand(_sixteen(with_alpha(orient_base())), color_type=6, bit_depth=16),
          tags=_tags("sixteen", "alpha", "hand"), bit_depth=16, channels=4, **pn))
    add(F("png16_rgb_interlaced.png",
          build=lambda: png_hand(_sixteen(small(45, 29)), color_type=2, bit_depth=16, interlace=True),
          tags=_tags("sixteen", "interlaced", "hand", "roi"), bit_depth=16, channels=3, progressive=True, **pn))
    add(F("png_interlaced_rgb.png",
          build=lambda: png_hand(photo("chelsea"), color_type=2, bit_depth=8, interlace=True),
          tags=_tags("interlaced", "hand", "photo", "roi"), channels=3, progressive=True, **pn))
    add(F("png_interlaced_rgba.png",
          build=lambda: png_hand(with_alpha(orient_base()), color_type=6, bit_depth=8, interlace=True),
          tags=_tags("interlaced", "alpha", "hand", "roi"), channels=4, progressive=True, **pn))
    add(F("png_interlaced_gray1.png",
          build=lambda: png_hand(gray_of(small(37, 23)) >> 7, color_type=0, bit_depth=1, interlace=True),
          tags=_tags("interlaced", "gray", "subbyte", "hand"), bit_depth=None, channels=1, progressive=True, **pn))
    add(F("png_interlaced_palette4.png", build=lambda: _png_palette_hand(4, trns=False, interlace=True),
          tags=_tags("interlaced", "palette", "subbyte", "hand"), bit_depth=None, progressive=True, **pn))
    for w, h in [(1, 1), (2, 3), (3, 1), (9, 9)]:
        add(F(f"png_interlaced_{w}x{h}.png",
              build=lambda w=w, h=h: png_hand(small(w, h), color_type=2, bit_depth=8, interlace=True),
              tags=_tags("interlaced", "odd", "hand"), channels=3, progressive=True, **pn))
    add(F("png_multi_idat_unfiltered.png",
          build=lambda: png_hand(orient_base(), color_type=2, bit_depth=8, idat_size=997, filters=False),
          tags=_tags("hand", "roi"), channels=3, **pn))
    add(F("png_apng_two_frames.png", build=_apng, tags=_tags("apng", "alpha"), channels=4, **pn))
    for o in range(1, 9):
        add(F(f"png_orient{o}.png", build=lambda o=o: png_pillow(orient_base(), exif=exif_block(o)),
              tags=_tags("orient", "roi"), orientation=o, channels=3, **pn))
    add(F("png_orient6_exif_prefixed.png",
          build=lambda: png_encode(orient_base(), color_type=2, bit_depth=8, exif=exif_block(6, prefix=True)),
          tags=_tags("orient", "hand"), orientation=6, channels=3, **pn))
    add(F("png_orient3_be_rgba.png",
          build=lambda: png_encode(with_alpha(orient_base()), color_type=6, bit_depth=8,
                                   exif=exif_block(3, big_endian=True, prefix=False)),
          tags=_tags("orient", "alpha", "hand"), orientation=3, channels=4, **pn))
    add(F("png_orient6_exif_after_idat.png",
          build=lambda: png_encode(orient_base(), color_type=2, bit_depth=8, exif=exif_block(6, prefix=False),
                                   exif_after_idat=True),
          # pixfeed reads eXIf before IDAT only (documented; Pillow applies this one)
          tags=_tags("orient", "exif_after_idat", "hand"), orientation=1, channels=3, **pn))
    for w, h in ODD_SIZES:
        add(F(f"png_{w}x{h}.png", build=lambda w=w, h=h: png_pillow(small(w, h)), tags=_tags("odd"), channels=3, **pn))
    add(F("png_17x31_palette.png", build=lambda: png_pillow(Image.fromarray(small(17, 31)).quantize(7)),
          tags=_tags("odd", "palette"), bit_depth=None, **pn))

    # ---------------- BMP ----------------
    bm = dict(fmt="bmp")
    for name, arr in [("chelsea", lambda: photo("chelsea")), ("17x31", lambda: small(17, 31)),
                      ("1x1", lambda: small(1, 1)), ("3x2", lambda: small(3, 2))]:
        add(F(f"bmp24_{name}.bmp", build=lambda arr=arr: pil_bytes(arr(), "BMP"),
              tags=_tags("bottom_up", "roi") | (_tags("odd") if name != "chelsea" else _tags("photo")),
              channels=3, **bm))
    add(F("bmp32_pillow_rgba.bmp", build=lambda: pil_bytes(with_alpha(orient_base()), "BMP"),
          tags=_tags("bottom_up", "bmp32_rgb", "roi"), channels=3, **bm))
    add(F("bmp8_pillow_palette.bmp", build=lambda: pil_bytes(Image.fromarray(photo("coffee")).quantize(100), "BMP"),
          tags=_tags("bottom_up", "palette", "photo", "roi"), bit_depth=None, **bm))
    add(F("bmp8_pillow_gray.bmp", build=lambda: pil_bytes(photo("camera"), "BMP"),
          tags=_tags("bottom_up", "gray", "photo"), bit_depth=None, **bm))
    add(F("bmp1_pillow_bw.bmp", build=lambda: pil_bytes(Image.fromarray(small(61, 43)).convert("1"), "BMP"),
          tags=_tags("bottom_up", "palette", "odd"), bit_depth=None, **bm))
    src = lambda: small(61, 43, "coffee", 250, 150)  # noqa: E731
    for bpp in (1, 4, 8):
        add(F(f"bmp{bpp}_palette_bottomup.bmp", build=lambda bpp=bpp: bmp_indexed(src(), bpp),
              tags=_tags("bottom_up", "palette", "hand", "roi"), bit_depth=None, **bm))
        add(F(f"bmp{bpp}_palette_topdown.bmp", build=lambda bpp=bpp: bmp_indexed(src(), bpp, top_down=True),
              tags=_tags("top_down", "palette", "hand", "roi"), bit_depth=None, **bm))
    add(F("bmp24_topdown.bmp", build=lambda: bmp_rgb(orient_base(), 24, top_down=True),
          tags=_tags("top_down", "hand", "roi"), channels=3, **bm))
    add(F("bmp32_topdown_xbyte.bmp",
          build=lambda: bmp_rgb(src(), 32, top_down=True, x_byte=np.full(src().shape[:2], 77, np.uint8)),
          tags=_tags("top_down", "hand", "bmp32_rgb", "roi"), channels=3, **bm))
    add(F("bmp32_v5_bitfields_alpha.bmp",
          build=lambda: bmp_hand(with_alpha(src()), 32, compression=BI_BITFIELDS, header_size=124,
                                 masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000),
                                 want_mode="RGBA", want=with_alpha(src())),
          tags=_tags("bottom_up", "alpha", "hand", "roi"), channels=4, **bm))
    add(F("bmp32_v5_bitfields_alpha_topdown.bmp",
          build=lambda: bmp_hand(with_alpha(src()), 32, compression=BI_BITFIELDS, header_size=124, top_down=True,
                                 masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000),
                                 want_mode="RGBA", want=with_alpha(src())),
          tags=_tags("top_down", "alpha", "hand", "roi"), channels=4, **bm))
    add(F("bmp32_v5_rgb_ignores_alpha.bmp",
          build=lambda: bmp_hand(with_alpha(src()), 32, header_size=124, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000),
                                 want_mode="RGB", want=src()),
          tags=_tags("bottom_up", "bmp32_rgb", "hand"), channels=3, **bm))
    add(F("bmp16_555.bmp", build=lambda: bmp_rgb(src(), 16), tags=_tags("bottom_up", "bmp16", "hand", "roi"),
          bit_depth=None, channels=3, **bm))
    add(F("bmp16_565_bitfields.bmp",
          build=lambda: bmp_rgb(src(), 16, compression=BI_BITFIELDS, masks=(0xF800, 0x7E0, 0x1F)),
          tags=_tags("bottom_up", "bmp16", "hand"), bit_depth=None, channels=3, **bm))
    add(F("bmp16_555_topdown.bmp", build=lambda: bmp_rgb(src(), 16, top_down=True),
          tags=_tags("top_down", "bmp16", "hand"), bit_depth=None, channels=3, **bm))
    add(F("bmp8_rle8.bmp", build=lambda: _bmp_rle(8), tags=_tags("bottom_up", "rle", "palette", "hand"),
          bit_depth=None, **bm))
    add(F("bmp4_rle4.bmp", build=lambda: _bmp_rle(4), tags=_tags("bottom_up", "rle", "palette", "hand"),
          bit_depth=None, **bm))
    add(F("bmp8_os2_core_header.bmp", build=lambda: bmp_indexed(src(), 8, header_size=12),
          tags=_tags("bottom_up", "palette", "hand", "roi"), bit_depth=None, **bm))
    add(F("bmp24_os2_core_header.bmp", build=lambda: bmp_rgb(small(17, 31), 24, header_size=12),
          tags=_tags("bottom_up", "hand", "odd"), channels=3, **bm))
    add(F("bmp8_short_palette.bmp", build=_bmp_short_palette, tags=_tags("bottom_up", "palette", "hand"),
          bit_depth=None, **bm))
    add(F("bmp8_rle8_delta.bmp", build=_bmp_rle8_delta, tags=_tags("bottom_up", "rle", "palette", "hand"),
          bit_depth=None, **bm))
    add(F("bmp32_bitfields_noalpha.bmp",
          build=lambda: bmp_hand(src(), 32, compression=BI_BITFIELDS, masks=(0xFF0000, 0xFF00, 0xFF),
                                 want_mode="RGB", want=src()),
          tags=_tags("bottom_up", "hand", "roi"), channels=3, **bm))
    for bpp in (1, 4):
        add(F(f"bmp{bpp}_17x31_topdown.bmp", build=lambda bpp=bpp: bmp_indexed(small(17, 31), bpp, top_down=True),
              tags=_tags("top_down", "palette", "odd", "hand"), bit_depth=None, **bm))

    # ---------------- WebP ----------------
    wp = dict(fmt="webp")
    add(F("webp_lossy.webp", build=lambda: webp_pillow(photo("astronaut"), quality=80),
          tags=_tags("photo", "lossy", "roi"), lossy=True, channels=3, **wp))
    add(F("webp_lossy_odd.webp", build=lambda: webp_pillow(photo("chelsea"), quality=90),
          tags=_tags("photo", "lossy", "roi"), lossy=True, channels=3, **wp))
    add(F("webp_lossy_alpha.webp", build=lambda: webp_pillow(with_alpha(orient_base()), quality=80),
          tags=_tags("lossy", "alpha", "roi"), lossy=True, channels=4, **wp))
    add(F("webp_lossy_q10.webp", build=lambda: webp_pillow(photo("rocket"), quality=10),
          tags=_tags("photo", "lossy"), lossy=True, channels=3, **wp))
    add(F("webp_lossy_q100_m6.webp", build=lambda: webp_pillow(photo("coffee"), quality=100, method=6),
          tags=_tags("photo", "lossy", "roi"), lossy=True, channels=3, **wp))
    add(F("webp_lossy_m0_alpha_q30.webp",
          build=lambda: webp_pillow(with_alpha(photo("chelsea")), quality=60, method=0, alpha_quality=30),
          tags=_tags("photo", "lossy", "alpha"), lossy=True, channels=4, **wp))
    add(F("webp_lossless.webp", build=lambda: webp_pillow(photo("coffee"), lossless=True),
          tags=_tags("photo", "lossless", "roi"), channels=3, **wp))
    add(F("webp_lossless_alpha.webp", build=lambda: webp_pillow(with_alpha(orient_base()), lossless=True, exact=True),
          tags=_tags("lossless", "alpha", "roi"), channels=4, **wp))
    add(F("webp_animated.webp", build=_webp_animated, tags=_tags("animated", "lossless"), **wp))
    for o in range(1, 9):
        add(F(f"webp_orient{o}.webp",
              build=lambda o=o: webp_pillow(orient_base(), lossless=True, exif=exif_block(o)),
              tags=_tags("orient", "lossless", "roi"), orientation=o, channels=3, **wp))
    add(F("webp_orient6_lossy.webp", build=lambda: webp_pillow(orient_base(), quality=85, exif=exif_block(6)),
          tags=_tags("orient", "lossy"), orientation=6, lossy=True, channels=3, **wp))
    add(F("webp_orient8_exif_prefixed.webp",
          build=lambda: webp_with_exif(webp_pillow(orient_base(), lossless=True, exif=exif_block(1)),
                                       exif_block(8, prefix=True)),
          tags=_tags("orient", "lossless", "hand"), orientation=8, channels=3, **wp))
    for w, h in [(1, 1), (17, 31), (37, 1)]:
        add(F(f"webp_{w}x{h}_lossless.webp", build=lambda w=w, h=h: webp_pillow(small(w, h), lossless=True),
              tags=_tags("odd", "lossless"), channels=3, **wp))
        add(F(f"webp_{w}x{h}_lossy.webp", build=lambda w=w, h=h: webp_pillow(small(w, h), quality=90),
              tags=_tags("odd", "lossy"), lossy=True, channels=3, **wp))

    # ---------------- other formats, wrong names, bombs ----------------
    add(F("png_named.jpg", build=lambda: png_pillow(small(17, 31)), tags=_tags("wrong_ext"), fmt="png", channels=3))
    add(F("jpeg_named.png", build=lambda: jpeg_pillow(small(17, 31)), tags=_tags("wrong_ext"), fmt="jpeg", channels=3))
    add(F("webp_named.bmp", build=lambda: webp_pillow(small(17, 31), lossless=True), tags=_tags("wrong_ext"),
          fmt="webp", channels=3))
    add(F("unsupported.gif", build=lambda: pil_bytes(small(17, 31), "GIF"), fmt="gif", kind="unsupported"))
    add(F("unsupported_le.tif", build=lambda: pil_bytes(small(17, 31), "TIFF"), fmt="tiff", kind="unsupported"))
    add(F("unsupported_be.tif", build=lambda: _tiff_be(), fmt="tiff", kind="unsupported"))
    big = (60000, 60000)
    for name, fn, size in [
        ("bomb.jpg", bomb_jpeg, big),
        ("bomb.png", bomb_png, big),
        ("bomb.bmp", bomb_bmp, big),
        ("bomb_vp8l.webp", bomb_webp_vp8l, (16384, 16384)),
        ("bomb_vp8.webp", bomb_webp_vp8, (16383, 16383)),
        ("bomb_vp8x.webp", bomb_webp_vp8x, (40000, 40000)),
    ]:
        add(F(name, build=lambda fn=fn, size=size: fn(*size), fmt=name.rsplit(".", 1)[1].replace("jpg", "jpeg"),
              kind="bomb", declared_size=size))
    names = [s.name for s in specs]
    assert len(names) == len(set(names)), "duplicate fixture name"
    return specs


def _exif_without_orientation() -> bytes:
    e = "<"
    ifd = struct.pack(e + "H", 1) + struct.pack(e + "HHI", 0x0131, 2, 4) + b"abc\0" + struct.pack(e + "I", 0)
    return b"Exif\0\0II" + struct.pack(e + "HI", 42, 8) + ifd


def _sixteen(a8: np.ndarray) -> np.ndarray:
    """8-bit photo -> 16-bit samples with a non-trivial low byte (so v >> 8 differs from
    rounding and from clipping)."""
    a = a8.astype(np.uint16)
    yy, xx = np.indices(a.shape[:2])
    low = ((xx * 37 + yy * 101) % 256).astype(np.uint16)
    if a.ndim == 3:
        low = low[..., None]
    return (a << 8) | low


def _png_palette_trns() -> bytes:
    im = Image.fromarray(orient_base()).quantize(64)
    trns = bytes(int(v) for v in np.linspace(0, 255, 40).astype(np.uint8))  # shorter than PLTE
    d = png_pillow(im, transparency=trns)
    assert b"tRNS" in d
    return d


def _png_palette_hand(bits: int, *, trns: bool, interlace: bool = False) -> tuple[bytes, np.ndarray]:
    n = 1 << bits
    pal = color_palette(n, seed=10 + bits)
    rgb = small(45, 29, "coffee", 100, 200)
    idx = quantize(rgb, pal)
    t = bytes(int(v) for v in np.linspace(0, 255, max(1, n - 3)).astype(np.uint8)) if trns else None
    return png_hand(idx, color_type=3, bit_depth=bits, palette=pal, trns=t, interlace=interlace)


def _png_rgb_trns() -> tuple[bytes, np.ndarray]:
    rgb = orient_base().copy()
    rgb[40:80, 50:120] = (12, 200, 34)  # the transparent colour, exactly
    return png_hand(rgb, color_type=2, bit_depth=8, trns=struct.pack(">HHH", 12, 200, 34))


def _bmp_rle(bpp: int) -> bytes:
    n = 1 << bpp
    pal = color_palette(n, seed=20 + bpp)
    rgb = small(61, 43, "coffee", 250, 150)
    idx = quantize(rgb, pal)
    idx[5:15, 3:40] = 2  # long runs
    idx[20, :] = np.arange(idx.shape[1]) % n  # long literal stretch
    return bmp_hand(idx, bpp, palette=pal, compression=BI_RLE8 if bpp == 8 else BI_RLE4,
                    want_mode="RGB", want=pal[idx])


def _apng() -> bytes:
    a = with_alpha(small(45, 29))
    b = np.ascontiguousarray(a[::-1])
    d = png_pillow(Image.fromarray(a), save_all=True, append_images=[Image.fromarray(b)], duration=100)
    assert b"acTL" in d and b"fdAT" in d
    return d


def _webp_animated() -> bytes:
    a = small(45, 29)
    b = np.ascontiguousarray(a[::-1])
    d = pil_bytes(Image.fromarray(a), "WEBP", save_all=True, append_images=[Image.fromarray(b)],
                  lossless=True, duration=100)
    assert b"ANIM" in d and b"ANMF" in d
    return d


def _bmp_short_palette() -> bytes:
    """8-bit indices with only 16 palette entries: indices past the palette are black (Pillow)."""
    pal = color_palette(16, seed=5)
    rgb = small(61, 43, "coffee", 250, 150)
    idx = quantize(rgb, color_palette(256, seed=6))
    full_pal = np.zeros((256, 3), np.uint8)
    full_pal[:16] = pal
    return bmp_hand(idx, 8, palette=pal, want_mode="RGB", want=full_pal[idx])


def _bmp_rle8_delta() -> bytes:
    """RLE8 with an absolute run, an in-row delta and a delta that skips a row (skipped
    pixels are index 0, as in Pillow), 8 x 4, bottom-up."""
    body = bytes([
        4, 1, 0, 3, 2, 3, 4, 0, 1, 5, 0, 0,   # row 3: run, absolute (padded), run; EOL
        2, 6, 0, 2, 3, 0, 3, 7, 0, 0,         # row 2: run, delta(+3, 0), run; EOL
        0, 2, 2, 1, 2, 8, 4, 9, 0, 1,         # row 1: delta(+2, +1) into row 0, runs; end of bitmap
    ])  # fmt: skip
    fileorder = np.zeros((4, 8), np.uint8)  # first row in the file = bottom image row
    fileorder[0] = [1, 1, 1, 1, 2, 3, 4, 5]
    fileorder[1] = [6, 6, 0, 0, 0, 7, 7, 7]
    fileorder[3] = [0, 0, 8, 8, 9, 9, 9, 9]
    idx = fileorder[::-1].copy()
    pal = color_palette(256, seed=8)
    return bmp_hand(idx, 8, palette=pal, compression=BI_RLE8, rle_body=body, want_mode="RGB",
                    want=pal[idx])


def _tiff_be() -> bytes:
    """Big-endian TIFF magic (Pillow only writes little-endian TIFF): a minimal MM file
    with an empty IFD is enough for format detection."""
    return b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 0) + struct.pack(">I", 0)


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------


def generate(outdir: str | Path, names: Iterable[str] | None = None) -> dict[str, dict[str, object]]:
    """Write the fixtures (all, or ``names``) into ``outdir``; returns and writes the manifest.
    16-bit PNGs (and other hand-written PNGs) also get ``<name>.truth.npy``: the stored
    samples, i.e. what ``mode="unchanged"`` must return before orientation."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(names) if names is not None else None
    manifest: dict[str, dict[str, object]] = {}
    for spec in fixture_specs():
        if wanted is not None and spec.name not in wanted:
            continue
        res = spec.build()
        meta = spec.meta()
        if isinstance(res, tuple):
            data, truth = res
            np.save(out / f"{spec.name}.truth.npy", truth)
            meta["truth"] = f"{spec.name}.truth.npy"
        else:
            data = res
        (out / spec.name).write_bytes(data)
        meta["bytes"] = len(data)
        manifest[spec.name] = meta
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "--list":
        for s in fixture_specs():
            print(f"{s.name:40s} {s.kind:12s} {' '.join(sorted(s.tags))}")
        return 0
    m = generate(argv[0])
    total = sum(int(v["bytes"]) for v in m.values())  # type: ignore[call-overload]
    print(f"wrote {len(m)} fixtures ({total / 1e6:.1f} MB) to {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
