"""The decode suite: pixfeed's decoders side by side with every installed peer, equal work.

Every system gets the same inputs (bytes read into memory before timing, or for the ``-files``
workload the same paths, whose files were just read so they are in the page cache) and must
produce the same output: an RGB ``uint8`` array of the same size. Per-library settings that
keep it fair:

* one-thread workloads: ``pixfeed.set_num_threads(1)``, ``cv2.setNumThreads(1)``,
  ``pyvips.concurrency_set(1)`` (simplejpeg, PyTurboJPEG and Pillow decode on the calling
  thread);
* thread-pool peers use a ``ThreadPoolExecutor`` created before timing, fed in chunks of
  images (few tasks, balanced load) so the pool's own overhead is small; libraries with
  internal threads are set to one thread inside the pool;
* libjpeg-turbo's default decoding everywhere (accurate integer IDCT, fancy upsampling):
  simplejpeg ``fastdct=False, fastupsample=False``, PyTurboJPEG ``flags=0``;
* OpenCV decodes straight to RGB with ``IMREAD_COLOR_RGB`` when it has it (OpenCV >= 4.10);
  older versions decode to BGR, which is the same work (one colour conversion, other order);
* pyvips runs with its operation cache disabled and ``access="sequential"``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import peers
from .data import DataSet
from .harness import Floor, Group, Row, Workload, add_cases

TITLE = "decode"

WORKLOADS: list[tuple[str, str]] = [
    ("jpeg-1t", "JPEG full decode to RGB, one thread, ImageNet-like files from memory"),
    ("jpeg-batch-2t", "decode_batch of ImageNet-like JPEGs on 2 threads, from memory"),
    ("jpeg-batch-2t-files", "decode_batch of ImageNet-like JPEGs on 2 threads, from paths"),
    ("jpeg-reduce", "2048x2048 JPEG reduced at decode to >= 224x224 (DCT scaling)"),
    ("jpeg-roi", "224x224 centre ROI of a 4000x4000 JPEG"),
    ("png-small", "PNG decode, ~500x375, one thread"),
    ("png-2048", "PNG decode, 2048x2048, one thread"),
    ("bmp-small", "BMP decode, ~500x375, one thread"),
    ("bmp-2048", "BMP decode, 2048x2048, one thread"),
]

INPUTS = (
    "encoded bytes read into memory before timing; the -files workload reads files that were "
    "read just before (in the page cache)"
)
THREADS = 2
REDUCE_TO = (224, 224)
ROI_SIZE = 224


def _missing(wl: Workload, label: str, peer: peers.Peer) -> bool:
    if peer.ok:
        return False
    wl.missing[label] = peer.error or "not installed"
    return True


def _chunks(items: Sequence[Any], threads: int) -> list[list[Any]]:
    size = max(1, len(items) // (threads * 8))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class _Pool:
    """A thread pool made before timing; ``mapper(fn, items)`` runs fn over items in chunks."""

    def __init__(self, wl: Workload, threads: int) -> None:
        self.threads = threads
        self.ex = ThreadPoolExecutor(threads)
        wl.closers.append(self.ex.shutdown)

    def mapper(
        self, fn: Callable[[Any], np.ndarray], items: Sequence[Any]
    ) -> Callable[[], list[np.ndarray]]:
        chunks = _chunks(items, self.threads)

        def work(chunk: list[Any]) -> list[np.ndarray]:
            return [fn(x) for x in chunk]

        def call() -> list[np.ndarray]:
            out: list[np.ndarray] = []
            for part in self.ex.map(work, chunks):
                out.extend(part)
            return out

        return call


# --------------------------------------------------------------------------------------------
# Per-library decode functions (bytes or path -> RGB uint8 array)


def _cv2_rgb_flag(cv2: Any) -> tuple[int, bool]:
    """(imdecode flag, output is BGR)."""
    rgb = getattr(cv2, "IMREAD_COLOR_RGB", None)
    return (int(rgb), False) if rgb is not None else (int(cv2.IMREAD_COLOR), True)


def _cv2_note(bgr: bool) -> str:
    return "BGR output (same work, other channel order)" if bgr else "IMREAD_COLOR_RGB"


def _pil_rgb(Image: Any, src: Any) -> np.ndarray:
    im = Image.open(io.BytesIO(src) if isinstance(src, bytes) else src)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def _vips_array(im: Any) -> np.ndarray:
    mem = im.write_to_memory()
    return np.frombuffer(mem, dtype=np.uint8).reshape(im.height, im.width, im.bands)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _single_thread_prepare(name: str) -> Callable[[], None] | None:
    p = peers.get(name)
    if not p.ok:
        return None
    m = p.module
    if name == "pixfeed":
        return lambda: m.set_num_threads(1)
    if name == "cv2":
        return lambda: m.setNumThreads(1)
    if name == "pyvips":
        return lambda: m.concurrency_set(1)
    return None


def _one_thread(name: str) -> Callable[[Any], Callable[[], None] | None]:
    """A `Row`'s ``prepare``: the peer ``name`` set to one thread (where it has a setting)."""
    return lambda _: _single_thread_prepare(name)


def _tj() -> Any:
    """The TurboJPEG() handle of the pyturbojpeg peer."""
    return peers.get("pyturbojpeg").instance


def _bgr(cv2: Any) -> bool:
    return _cv2_rgb_flag(cv2)[1]


# --------------------------------------------------------------------------------------------
# Workloads: each a table of cases (`harness.Group` / `harness.Row`)


def _pixfeed(call: Callable[[Any], Callable[[], Any]], note: str) -> Group:
    """pixfeed on one thread (``set_num_threads(1)``)."""
    return Group("pixfeed", (Row(call, note=note, prepare=_one_thread("pixfeed")),), "pixfeed")


def _jpeg_1t(ds: DataSet, n: int) -> Workload:
    data = ds.read(n)
    wl = Workload(
        "jpeg-1t",
        WORKLOADS[0][1],
        f"{len(data)} files of '{ds.name}' ({ds.description}), each decoded to an RGB uint8 "
        "array from bytes already in memory, one after another on one thread.",
        n_images=len(data),
        input_megapixels=ds.megapixels(n),
        floor=Floor(
            0.95,
            ["cv2", "simplejpeg", "pyturbojpeg"],
            ">= 0.95x the best of cv2 / simplejpeg / PyTurboJPEG",
        ),
    )

    def cv2_decode(cv2: Any) -> Callable[[], Any]:
        flag, _ = _cv2_rgb_flag(cv2)
        imdecode, frombuf = cv2.imdecode, np.frombuffer
        return lambda: [imdecode(frombuf(b, np.uint8), flag) for b in data]

    def tj_decode(tj: Any) -> Callable[[], Any]:
        tjd, rgb = _tj().decode, tj.TJPF_RGB
        return lambda: [tjd(b, pixel_format=rgb) for b in data]

    def vips_decode(pyvips: Any) -> Callable[[], Any]:
        nfb = pyvips.Image.new_from_buffer
        return lambda: [_vips_array(nfb(b, "", access="sequential")) for b in data]

    add_cases(
        wl,
        [
            _pixfeed(
                lambda pf: lambda: [pf.decode(b) for b in data], "decode(bytes), set_num_threads(1)"
            ),
            Group(
                "simplejpeg",
                (Row(lambda sj: lambda: [sj.decode_jpeg(b, colorspace="RGB") for b in data]),),
                "simplejpeg",
            ),
            Group(
                "cv2",
                (
                    Row(
                        cv2_decode,
                        note=lambda cv2: _cv2_note(_bgr(cv2)) + ", setNumThreads(1)",
                        prepare=_one_thread("cv2"),
                        bgr=_bgr,
                    ),
                ),
                "cv2",
            ),
            Group("pyturbojpeg", (Row(tj_decode),), "pyturbojpeg"),
            Group(
                "Pillow",
                (
                    Row(
                        lambda image: lambda: [_pil_rgb(image, b) for b in data],
                        note="Image.open(BytesIO) + np.asarray (one copy)",
                    ),
                ),
                "Pillow",
            ),
            Group(
                "pyvips",
                (
                    Row(
                        vips_decode,
                        note="new_from_buffer(sequential) + write_to_memory, concurrency 1",
                        prepare=_one_thread("pyvips"),
                    ),
                ),
                "pyvips",
            ),
        ],
    )
    wl.notes.append("Output of every system: the same RGB uint8 arrays (max abs diff column).")
    return wl


def _jpeg_batch(ds: DataSet, n: int, *, files: bool) -> Workload:
    name = "jpeg-batch-2t-files" if files else "jpeg-batch-2t"
    data: list[Any] = ds.paths[:n] if files else ds.read(n)
    if files:
        ds.read(n)  # make sure the files are in the page cache
    src = "paths (files in the page cache)" if files else "bytes already in memory"
    wl = Workload(
        name,
        WORKLOADS[2 if files else 1][1],
        f"{len(data)} files of '{ds.name}' decoded to RGB uint8 from {src} on {THREADS} "
        f"threads: pixfeed.decode_batch(threads={THREADS}) vs each peer's decode function in a "
        f"{THREADS}-thread ThreadPoolExecutor.",
        n_images=len(data),
        input_megapixels=ds.megapixels(n),
    )
    if not files:
        wl.floor = Floor(
            1.05,
            [f"simplejpeg ({THREADS}-thread pool)", f"cv2 ({THREADS}-thread pool)"],
            f">= 1.05x the best {THREADS}-thread pool of simplejpeg / cv2",
        )
    pool = _Pool(wl, THREADS)
    read: Callable[[Any], bytes] = _read if files else (lambda b: b)
    pool_label = f"({THREADS}-thread pool)"

    def cv2_decode(cv2: Any) -> Callable[[], Any]:
        flag, _ = _cv2_rgb_flag(cv2)
        if files:
            return pool.mapper(lambda s: cv2.imread(s, flag), data)
        return pool.mapper(lambda s: cv2.imdecode(np.frombuffer(s, np.uint8), flag), data)

    def cv2_note(cv2: Any) -> str:
        return ("imread, " if files else "") + _cv2_note(_bgr(cv2)) + ", setNumThreads(1)"

    def tj_decode(tj: Any) -> Callable[[], Any]:
        tjd, rgb = _tj().decode, tj.TJPF_RGB
        return pool.mapper(lambda s: tjd(read(s), pixel_format=rgb), data)

    def vips_decode(pyvips: Any) -> Callable[[], Any]:
        if files:
            return pool.mapper(
                lambda s: _vips_array(pyvips.Image.new_from_file(s, access="sequential")), data
            )
        return pool.mapper(
            lambda s: _vips_array(pyvips.Image.new_from_buffer(s, "", access="sequential")),
            data,
        )

    def pooled(system: str, row: Row) -> Group:
        return Group(system, (row,), system, f"{system} {pool_label}")

    add_cases(
        wl,
        [
            Group(
                "pixfeed",
                (
                    Row(
                        lambda pf: lambda: pf.decode_batch(data, threads=THREADS),
                        f"pixfeed ({THREADS} threads)",
                        f"decode_batch(threads={THREADS})",
                    ),
                    Row(
                        lambda pf: lambda: pf.decode_batch(data, threads=1),
                        "pixfeed (1 thread)",
                        "decode_batch(threads=1): 1 -> 2 thread scaling",
                        primary=False,
                        peer=False,
                    ),
                ),
                "pixfeed",
            ),
            pooled(
                "simplejpeg",
                Row(
                    lambda sj: pool.mapper(
                        lambda s: sj.decode_jpeg(read(s), colorspace="RGB"), data
                    ),
                    f"simplejpeg {pool_label}",
                ),
            ),
            pooled(
                "cv2",
                Row(
                    cv2_decode,
                    f"cv2 {pool_label}",
                    cv2_note,
                    prepare=lambda cv2: lambda: cv2.setNumThreads(1),
                    bgr=_bgr,
                ),
            ),
            pooled(
                "pyturbojpeg",
                Row(tj_decode, f"pyturbojpeg {pool_label}", "ctypes call releases the GIL"),
            ),
            pooled(
                "Pillow",
                Row(
                    lambda image: pool.mapper(lambda s: _pil_rgb(image, s), data),
                    f"Pillow {pool_label}",
                    "decoder releases the GIL",
                ),
            ),
            pooled(
                "pyvips",
                Row(
                    vips_decode,
                    f"pyvips {pool_label}",
                    "concurrency 1 per call",
                    prepare=lambda pyvips: lambda: pyvips.concurrency_set(1),
                ),
            ),
        ],
    )
    if files:
        wl.notes.append(
            "Peers read each file in the worker (open().read(), or the library's own file "
            "loader for cv2.imread / pyvips.new_from_file); pixfeed gets the paths."
        )
    wl.notes.append(
        f"Pool peers get {len(_chunks(data, THREADS))} tasks of "
        f"{len(_chunks(data, THREADS)[0])} images each (pool made before timing)."
    )
    return wl


def _jpeg_reduce(ds: DataSet) -> Workload:
    f = ds.files[0]
    b = ds.read(1)[0]
    tw, th = REDUCE_TO
    wl = Workload(
        "jpeg-reduce",
        WORKLOADS[3][1],
        f"One {f.width}x{f.height} JPEG decoded with libjpeg's DCT scaling to the smallest "
        f"M/8 scale that is still >= {tw}x{th} (1/8 here: 256x256), RGB, one thread.",
        n_images=1,
        input_megapixels=f.megapixels,
        floor=Floor(
            1.0,
            ["simplejpeg (min_width/min_height)", "Pillow (draft)"],
            ">= 1.0x the best of simplejpeg min_* / Pillow draft",
        ),
    )

    def pil_draft(image: Any) -> Callable[[], Any]:
        def run() -> np.ndarray:
            im = image.open(io.BytesIO(b))
            im.draft("RGB", REDUCE_TO)
            return np.asarray(im)

        return run

    def cv2_reduced(cv2: Any) -> Callable[[], Any]:
        flag, bgr = _cv2_rgb_flag(cv2)
        rflag = int(cv2.IMREAD_REDUCED_COLOR_8)
        if not bgr:
            rflag = (rflag & ~int(cv2.IMREAD_COLOR)) | flag
        arr = np.frombuffer(b, np.uint8)
        return lambda: cv2.imdecode(arr, rflag)

    def tj_scaled(tj: Any) -> Callable[[], Any]:
        tjd, rgb = _tj().decode, tj.TJPF_RGB
        return lambda: tjd(b, pixel_format=rgb, scaling_factor=(1, 8))

    def vips_shrunk(pyvips: Any) -> Callable[[], Any]:
        nfb = pyvips.Image.new_from_buffer
        return lambda: _vips_array(nfb(b, "", shrink=8, access="sequential"))

    def one(system: str, row: Row) -> Group:
        label = row.label
        assert isinstance(label, str)
        return Group(system, (row,), system, label)

    add_cases(
        wl,
        [
            _pixfeed(
                lambda pf: lambda: pf.decode(b, reduce_to=REDUCE_TO),
                f"decode(reduce_to={REDUCE_TO})",
            ),
            one(
                "simplejpeg",
                Row(
                    lambda sj: (
                        lambda: sj.decode_jpeg(b, colorspace="RGB", min_width=tw, min_height=th)
                    ),
                    "simplejpeg (min_width/min_height)",
                ),
            ),
            one("Pillow", Row(pil_draft, "Pillow (draft)", 'draft("RGB", (224, 224))')),
            one(
                "cv2",
                Row(
                    cv2_reduced,
                    "cv2 (IMREAD_REDUCED_COLOR_8)",
                    lambda cv2: (
                        "fixed 1/8 scale chosen by the caller" + ("; BGR" if _bgr(cv2) else "")
                    ),
                    prepare=_one_thread("cv2"),
                    bgr=_bgr,
                ),
            ),
            one(
                "pyturbojpeg",
                Row(
                    tj_scaled,
                    "pyturbojpeg (scaling_factor 1/8)",
                    "fixed scale chosen by the caller",
                ),
            ),
            one(
                "pyvips",
                Row(
                    vips_shrunk,
                    "pyvips (shrink=8 on load)",
                    "jpegload shrink-on-load (same DCT scaling); thumbnail_buffer would "
                    "also resize to 224 (more work), so not used",
                    prepare=_one_thread("pyvips"),
                ),
            ),
        ],
    )
    return wl


def _jpeg_roi(ds: DataSet) -> Workload:
    f = ds.files[0]
    b = ds.read(1)[0]
    s = ROI_SIZE
    x, y = (f.width - s) // 2, (f.height - s) // 2
    wl = Workload(
        "jpeg-roi",
        WORKLOADS[4][1],
        f"The {s}x{s} region at ({x}, {y}) (the centre) of one {f.width}x{f.height} JPEG, as an "
        "owned RGB array, one thread. Peers without region decoding decode everything and "
        "slice (+ copy, so every output is an owned C-contiguous array).",
        n_images=1,
        input_megapixels=f.megapixels,
        floor=Floor(
            2.5,
            ["simplejpeg (full decode + slice)"],
            ">= 2.5x simplejpeg full decode + slice",
        ),
    )

    def cv2_sliced(cv2: Any) -> Callable[[], Any]:
        flag, _ = _cv2_rgb_flag(cv2)
        arr = np.frombuffer(b, np.uint8)
        return lambda: cv2.imdecode(arr, flag)[y : y + s, x : x + s].copy()

    def vips_crop(pyvips: Any) -> Callable[[], Any]:
        nfb = pyvips.Image.new_from_buffer
        return lambda: _vips_array(nfb(b, "", access="sequential").crop(x, y, s, s))

    def tj_crop(tj: Any) -> Callable[[], Any]:
        tji, rgb = _tj(), tj.TJPF_RGB
        return lambda: tji.decode(tji.crop(b, x, y, s, s), pixel_format=rgb)

    def tj_sliced(tj: Any) -> Callable[[], Any]:
        tji, rgb = _tj(), tj.TJPF_RGB
        return lambda: tji.decode(b, pixel_format=rgb)[y : y + s, x : x + s].copy()

    tj_rows = (
        Row(
            tj_crop,
            "pyturbojpeg (lossless crop + decode)",
            "tjTransform crop to a small JPEG, then decode it; needs an MCU-aligned "
            "corner; edge pixels may differ (chroma upsampling context)",
        ),
    )
    add_cases(
        wl,
        [
            _pixfeed(
                lambda pf: lambda: pf.decode(b, roi=(x, y, s, s)),
                f"decode(roi=({x}, {y}, {s}, {s}))",
            ),
            Group(
                "simplejpeg",
                (
                    Row(
                        lambda sj: (
                            lambda: sj.decode_jpeg(b, colorspace="RGB")[y : y + s, x : x + s].copy()
                        ),
                        "simplejpeg (full decode + slice)",
                    ),
                ),
                "simplejpeg",
                "simplejpeg (full decode + slice)",
            ),
            Group(
                "cv2",
                (
                    Row(
                        cv2_sliced,
                        "cv2 (full decode + slice)",
                        lambda cv2: _cv2_note(_bgr(cv2)),
                        prepare=_one_thread("cv2"),
                        bgr=_bgr,
                    ),
                ),
                "cv2",
                "cv2 (full decode + slice)",
            ),
            Group(
                "Pillow",
                (
                    Row(
                        lambda image: (
                            lambda: np.asarray(image.open(io.BytesIO(b)).crop((x, y, x + s, y + s)))
                        ),
                        "Pillow (crop)",
                        "crop() loads (decodes) the whole image first",
                    ),
                ),
                "Pillow",
                "Pillow (crop)",
            ),
            Group(
                "pyvips",
                (
                    Row(
                        vips_crop,
                        "pyvips (sequential + crop)",
                        "decodes full-width rows down to the crop's last row, then stops",
                        prepare=_one_thread("pyvips"),
                    ),
                ),
                "pyvips",
                "pyvips (sequential + crop)",
            ),
            Group(
                "pyturbojpeg",
                (tj_rows if x % 16 == 0 and y % 16 == 0 else ())
                + (Row(tj_sliced, "pyturbojpeg (full decode + slice)"),),
                "pyturbojpeg",
                "pyturbojpeg (lossless crop + decode)",
            ),
        ],
    )
    return wl


def _lossless(ds: DataSet, n: int | None, fmt: str, name: str, title: str) -> Workload:
    data = ds.read(n)
    files = ds.files[: len(data)]
    size = (
        f"{files[0].width}x{files[0].height}"
        if len(files) == 1
        else f"{len(files)} files of ~500x375"
    )
    wl = Workload(
        name,
        title,
        f"{size} ({ds.description}) decoded to RGB uint8 from bytes in memory, one thread.",
        n_images=len(data),
        input_megapixels=ds.megapixels(n),
        floor=Floor(1.0, ["Pillow"], ">= 1.0x Pillow"),
    )

    def cv2_decode(cv2: Any) -> Callable[[], Any]:
        flag, _ = _cv2_rgb_flag(cv2)
        return lambda: [cv2.imdecode(np.frombuffer(b, np.uint8), flag) for b in data]

    def vips_decode(pyvips: Any) -> Callable[[], Any]:
        nfb = pyvips.Image.new_from_buffer
        return lambda: [_vips_array(nfb(b, "", access="sequential")) for b in data]

    def vips_loads(pyvips: Any) -> str | None:
        """Why this libvips build cannot load ``fmt`` (None: it can)."""
        try:
            pyvips.Image.new_from_buffer(data[0], "", access="sequential")
        except Exception as e:
            msg = str(e).strip().splitlines()
            return f"this libvips build has no {fmt} loader ({msg[0] if msg else type(e).__name__})"
        return None

    add_cases(
        wl,
        [
            _pixfeed(
                lambda pf: lambda: [pf.decode(b) for b in data], "decode(bytes), set_num_threads(1)"
            ),
            Group(
                "Pillow",
                (Row(lambda image: lambda: [_pil_rgb(image, b) for b in data]),),
                "Pillow",
            ),
            Group(
                "cv2",
                (
                    Row(
                        cv2_decode,
                        note=lambda cv2: _cv2_note(_bgr(cv2)),
                        prepare=_one_thread("cv2"),
                        bgr=_bgr,
                    ),
                ),
                "cv2",
            ),
            Group(
                "pyvips",
                (Row(vips_decode, note="concurrency 1", prepare=_one_thread("pyvips")),),
                "pyvips",
                check=vips_loads,
            ),
        ],
    )
    return wl


def build(
    sets: dict[str, DataSet], *, quick: bool, only: Sequence[str] | None = None
) -> list[Workload]:
    """The decode workloads (``only``: names to keep)."""
    n_1t = 64 if quick else 256
    n_batch = 128 if quick else 256
    n_small = 16 if quick else 32
    makers: dict[str, Callable[[], Workload]] = {
        "jpeg-1t": lambda: _jpeg_1t(sets["imagenet"], n_1t),
        "jpeg-batch-2t": lambda: _jpeg_batch(sets["imagenet"], n_batch, files=False),
        "jpeg-batch-2t-files": lambda: _jpeg_batch(sets["imagenet"], n_batch, files=True),
        "jpeg-reduce": lambda: _jpeg_reduce(sets["jpeg2048"]),
        "jpeg-roi": lambda: _jpeg_roi(sets["jpeg4000"]),
        "png-small": lambda: _lossless(sets["png_small"], n_small, "PNG", *WORKLOADS[5]),
        "png-2048": lambda: _lossless(sets["png2048"], None, "PNG", *WORKLOADS[6]),
        "bmp-small": lambda: _lossless(sets["bmp_small"], n_small, "BMP", *WORKLOADS[7]),
        "bmp-2048": lambda: _lossless(sets["bmp2048"], None, "BMP", *WORKLOADS[8]),
    }
    names = [n for n, _ in WORKLOADS if not only or n in only]
    return [makers[n]() for n in names]
