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
from .harness import Case, Floor, Workload

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


# --------------------------------------------------------------------------------------------
# Workloads


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
    pf = peers.get("pixfeed")
    if not _missing(wl, "pixfeed", pf):
        dec = pf.module.decode
        wl.add(
            Case(
                "pixfeed",
                lambda: [dec(b) for b in data],
                prepare=_single_thread_prepare("pixfeed"),
                note="decode(bytes), set_num_threads(1)",
            )
        )
    sj = peers.get("simplejpeg")
    if not _missing(wl, "simplejpeg", sj):
        sjd = sj.module.decode_jpeg
        wl.add(Case("simplejpeg", lambda: [sjd(b, colorspace="RGB") for b in data]))
    cv = peers.get("cv2")
    if not _missing(wl, "cv2", cv):
        cv2 = cv.module
        flag, bgr = _cv2_rgb_flag(cv2)
        imdecode, frombuf = cv2.imdecode, np.frombuffer
        wl.add(
            Case(
                "cv2",
                lambda: [imdecode(frombuf(b, np.uint8), flag) for b in data],
                prepare=_single_thread_prepare("cv2"),
                bgr=bgr,
                note=_cv2_note(bgr) + ", setNumThreads(1)",
            )
        )
    tj = peers.get("pyturbojpeg")
    if not _missing(wl, "pyturbojpeg", tj):
        tjd, rgb = tj.instance.decode, tj.module.TJPF_RGB
        wl.add(Case("pyturbojpeg", lambda: [tjd(b, pixel_format=rgb) for b in data]))
    pil = peers.get("Pillow")
    if not _missing(wl, "Pillow", pil):
        Image = pil.module
        wl.add(
            Case(
                "Pillow",
                lambda: [_pil_rgb(Image, b) for b in data],
                note="Image.open(BytesIO) + np.asarray (one copy)",
            )
        )
    vp = peers.get("pyvips")
    if not _missing(wl, "pyvips", vp):
        nfb = vp.module.Image.new_from_buffer
        wl.add(
            Case(
                "pyvips",
                lambda: [_vips_array(nfb(b, "", access="sequential")) for b in data],
                prepare=_single_thread_prepare("pyvips"),
                note="new_from_buffer(sequential) + write_to_memory, concurrency 1",
            )
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
    pf = peers.get("pixfeed")
    if not _missing(wl, "pixfeed", pf):
        batch = pf.module.decode_batch
        wl.add(
            Case(
                "pixfeed",
                lambda: batch(data, threads=THREADS),
                label=f"pixfeed ({THREADS} threads)",
                note=f"decode_batch(threads={THREADS})",
            )
        )
        wl.add(
            Case(
                "pixfeed",
                lambda: batch(data, threads=1),
                label="pixfeed (1 thread)",
                note="decode_batch(threads=1): 1 -> 2 thread scaling",
                primary=False,
                peer=False,
            )
        )
    read: Callable[[Any], bytes] = _read if files else (lambda b: b)
    pool_label = f"({THREADS}-thread pool)"
    sj = peers.get("simplejpeg")
    if not _missing(wl, f"simplejpeg {pool_label}", sj):
        sjd = sj.module.decode_jpeg
        wl.add(
            Case(
                "simplejpeg",
                pool.mapper(lambda s: sjd(read(s), colorspace="RGB"), data),
                label=f"simplejpeg {pool_label}",
            )
        )
    cv = peers.get("cv2")
    if not _missing(wl, f"cv2 {pool_label}", cv):
        cv2 = cv.module
        flag, bgr = _cv2_rgb_flag(cv2)
        if files:
            fn = lambda s: cv2.imread(s, flag)  # noqa: E731
        else:
            fn = lambda s: cv2.imdecode(np.frombuffer(s, np.uint8), flag)  # noqa: E731
        wl.add(
            Case(
                "cv2",
                pool.mapper(fn, data),
                label=f"cv2 {pool_label}",
                prepare=lambda: cv2.setNumThreads(1),
                bgr=bgr,
                note=("imread, " if files else "") + _cv2_note(bgr) + ", setNumThreads(1)",
            )
        )
    tj = peers.get("pyturbojpeg")
    if not _missing(wl, f"pyturbojpeg {pool_label}", tj):
        tjd, rgb = tj.instance.decode, tj.module.TJPF_RGB
        wl.add(
            Case(
                "pyturbojpeg",
                pool.mapper(lambda s: tjd(read(s), pixel_format=rgb), data),
                label=f"pyturbojpeg {pool_label}",
                note="ctypes call releases the GIL",
            )
        )
    pil = peers.get("Pillow")
    if not _missing(wl, f"Pillow {pool_label}", pil):
        Image = pil.module
        wl.add(
            Case(
                "Pillow",
                pool.mapper(lambda s: _pil_rgb(Image, s), data),
                label=f"Pillow {pool_label}",
                note="decoder releases the GIL",
            )
        )
    vp = peers.get("pyvips")
    if not _missing(wl, f"pyvips {pool_label}", vp):
        pyvips = vp.module
        if files:
            vfn = lambda s: _vips_array(  # noqa: E731
                pyvips.Image.new_from_file(s, access="sequential")
            )
        else:
            vfn = lambda s: _vips_array(  # noqa: E731
                pyvips.Image.new_from_buffer(s, "", access="sequential")
            )
        wl.add(
            Case(
                "pyvips",
                pool.mapper(vfn, data),
                label=f"pyvips {pool_label}",
                prepare=lambda: pyvips.concurrency_set(1),
                note="concurrency 1 per call",
            )
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
    pf = peers.get("pixfeed")
    if not _missing(wl, "pixfeed", pf):
        dec = pf.module.decode
        wl.add(
            Case(
                "pixfeed",
                lambda: dec(b, reduce_to=REDUCE_TO),
                prepare=_single_thread_prepare("pixfeed"),
                note=f"decode(reduce_to={REDUCE_TO})",
            )
        )
    sj = peers.get("simplejpeg")
    label = "simplejpeg (min_width/min_height)"
    if not _missing(wl, label, sj):
        sjd = sj.module.decode_jpeg
        wl.add(
            Case(
                "simplejpeg",
                lambda: sjd(b, colorspace="RGB", min_width=tw, min_height=th),
                label=label,
            )
        )
    pil = peers.get("Pillow")
    if not _missing(wl, "Pillow (draft)", pil):
        Image = pil.module

        def pil_draft() -> np.ndarray:
            im = Image.open(io.BytesIO(b))
            im.draft("RGB", REDUCE_TO)
            return np.asarray(im)

        wl.add(Case("Pillow", pil_draft, label="Pillow (draft)", note='draft("RGB", (224, 224))'))
    cv = peers.get("cv2")
    if not _missing(wl, "cv2 (IMREAD_REDUCED_COLOR_8)", cv):
        cv2 = cv.module
        flag, bgr = _cv2_rgb_flag(cv2)
        rflag = int(cv2.IMREAD_REDUCED_COLOR_8)
        if not bgr:
            rflag = (rflag & ~int(cv2.IMREAD_COLOR)) | flag
        arr = np.frombuffer(b, np.uint8)
        wl.add(
            Case(
                "cv2",
                lambda: cv2.imdecode(arr, rflag),
                label="cv2 (IMREAD_REDUCED_COLOR_8)",
                prepare=_single_thread_prepare("cv2"),
                bgr=bgr,
                note="fixed 1/8 scale chosen by the caller" + ("" if not bgr else "; BGR"),
            )
        )
    tj = peers.get("pyturbojpeg")
    if not _missing(wl, "pyturbojpeg (scaling_factor 1/8)", tj):
        tjd, rgb = tj.instance.decode, tj.module.TJPF_RGB
        wl.add(
            Case(
                "pyturbojpeg",
                lambda: tjd(b, pixel_format=rgb, scaling_factor=(1, 8)),
                label="pyturbojpeg (scaling_factor 1/8)",
                note="fixed scale chosen by the caller",
            )
        )
    vp = peers.get("pyvips")
    if not _missing(wl, "pyvips (shrink=8 on load)", vp):
        nfb = vp.module.Image.new_from_buffer
        wl.add(
            Case(
                "pyvips",
                lambda: _vips_array(nfb(b, "", shrink=8, access="sequential")),
                label="pyvips (shrink=8 on load)",
                prepare=_single_thread_prepare("pyvips"),
                note="jpegload shrink-on-load (same DCT scaling); thumbnail_buffer would "
                "also resize to 224 (more work), so not used",
            )
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
    pf = peers.get("pixfeed")
    if not _missing(wl, "pixfeed", pf):
        dec = pf.module.decode
        wl.add(
            Case(
                "pixfeed",
                lambda: dec(b, roi=(x, y, s, s)),
                prepare=_single_thread_prepare("pixfeed"),
                note=f"decode(roi=({x}, {y}, {s}, {s}))",
            )
        )
    sj = peers.get("simplejpeg")
    if not _missing(wl, "simplejpeg (full decode + slice)", sj):
        sjd = sj.module.decode_jpeg
        wl.add(
            Case(
                "simplejpeg",
                lambda: sjd(b, colorspace="RGB")[y : y + s, x : x + s].copy(),
                label="simplejpeg (full decode + slice)",
            )
        )
    cv = peers.get("cv2")
    if not _missing(wl, "cv2 (full decode + slice)", cv):
        cv2 = cv.module
        flag, bgr = _cv2_rgb_flag(cv2)
        arr = np.frombuffer(b, np.uint8)
        wl.add(
            Case(
                "cv2",
                lambda: cv2.imdecode(arr, flag)[y : y + s, x : x + s].copy(),
                label="cv2 (full decode + slice)",
                prepare=_single_thread_prepare("cv2"),
                bgr=bgr,
                note=_cv2_note(bgr),
            )
        )
    pil = peers.get("Pillow")
    if not _missing(wl, "Pillow (crop)", pil):
        Image = pil.module
        wl.add(
            Case(
                "Pillow",
                lambda: np.asarray(Image.open(io.BytesIO(b)).crop((x, y, x + s, y + s))),
                label="Pillow (crop)",
                note="crop() loads (decodes) the whole image first",
            )
        )
    vp = peers.get("pyvips")
    if not _missing(wl, "pyvips (sequential + crop)", vp):
        nfb = vp.module.Image.new_from_buffer
        wl.add(
            Case(
                "pyvips",
                lambda: _vips_array(nfb(b, "", access="sequential").crop(x, y, s, s)),
                label="pyvips (sequential + crop)",
                prepare=_single_thread_prepare("pyvips"),
                note="decodes full-width rows down to the crop's last row, then stops",
            )
        )
    tj = peers.get("pyturbojpeg")
    if not _missing(wl, "pyturbojpeg (lossless crop + decode)", tj):
        tji, rgb = tj.instance, tj.module.TJPF_RGB
        if x % 16 == 0 and y % 16 == 0:
            wl.add(
                Case(
                    "pyturbojpeg",
                    lambda: tji.decode(tji.crop(b, x, y, s, s), pixel_format=rgb),
                    label="pyturbojpeg (lossless crop + decode)",
                    note="tjTransform crop to a small JPEG, then decode it; needs an MCU-aligned "
                    "corner; edge pixels may differ (chroma upsampling context)",
                )
            )
        wl.add(
            Case(
                "pyturbojpeg",
                lambda: tji.decode(b, pixel_format=rgb)[y : y + s, x : x + s].copy(),
                label="pyturbojpeg (full decode + slice)",
            )
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
    pf = peers.get("pixfeed")
    if not _missing(wl, "pixfeed", pf):
        dec = pf.module.decode
        wl.add(
            Case(
                "pixfeed",
                lambda: [dec(b) for b in data],
                prepare=_single_thread_prepare("pixfeed"),
                note="decode(bytes), set_num_threads(1)",
            )
        )
    pil = peers.get("Pillow")
    if not _missing(wl, "Pillow", pil):
        Image = pil.module
        wl.add(Case("Pillow", lambda: [_pil_rgb(Image, b) for b in data]))
    cv = peers.get("cv2")
    if not _missing(wl, "cv2", cv):
        cv2 = cv.module
        flag, bgr = _cv2_rgb_flag(cv2)
        wl.add(
            Case(
                "cv2",
                lambda: [cv2.imdecode(np.frombuffer(b, np.uint8), flag) for b in data],
                prepare=_single_thread_prepare("cv2"),
                bgr=bgr,
                note=_cv2_note(bgr),
            )
        )
    vp = peers.get("pyvips")
    if not _missing(wl, "pyvips", vp):
        pyvips = vp.module
        try:
            pyvips.Image.new_from_buffer(data[0], "", access="sequential")
        except Exception as e:
            msg = str(e).strip().splitlines()
            wl.missing["pyvips"] = (
                f"this libvips build has no {fmt} loader ({msg[0] if msg else type(e).__name__})"
            )
        else:
            nfb = pyvips.Image.new_from_buffer
            wl.add(
                Case(
                    "pyvips",
                    lambda: [_vips_array(nfb(b, "", access="sequential")) for b in data],
                    prepare=_single_thread_prepare("pyvips"),
                    note="concurrency 1",
                )
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
