# Stub of the native module; checked against the build by `mypy.stubtest` (make lint).
import os
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHANNELS",
    "MAX_THREADS",
    "NAMES",
    "Member",
    "PipelineSpec",
    "__version__",
    "_panic_for_test",
    "box_convert",
    "box_iou",
    "build_info",
    "center_crop",
    "convert",
    "crop",
    "crop_paths",
    "decode",
    "decode_batch",
    "encode",
    "env_num_threads",
    "flip",
    "get_num_threads",
    "letterbox",
    "letterbox_tensor",
    "luminance",
    "nms",
    "normalize",
    "pipeline_batch",
    "pipeline_params",
    "points_in_polygon",
    "polygon_area",
    "polygon_iou",
    "probe",
    "probe_batch",
    "random_crop",
    "random_resized_crop",
    "random_resized_crop_params",
    "recycled_empty",
    "recycled_pool_bytes",
    "resize_into",
    "resize_one",
    "scan",
    "set_num_threads",
    "shard_stream",
    "simplify_polygon",
    "tar_index",
    "yolo_postprocess",
]

__version__: str
MAX_THREADS: int
#: The accepted names of each string-valued argument, keyed "mode", "interpolation", "crop",
#: "dtype", "layout", "format", "color", "weights", "tensor_layout".
NAMES: dict[str, tuple[str, ...]]
CHANNELS: dict[str, int]

_Array = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]

@final
class Member:
    def __new__(cls, path: str | os.PathLike[str], name: str, offset: int, size: int) -> Member: ...
    @property
    def path(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def size(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

_Source = str | bytes | bytearray | Member

def decode(
    source: _Source,
    mode: str,
    apply_exif: bool,
    reduce_to: tuple[int, int] | None,
    roi: tuple[int, int, int, int] | None,
    max_pixels: int,
    strict: bool = True,
) -> _Array: ...
def decode_batch(
    sources: list[_Source],
    mode: str,
    apply_exif: bool,
    reduce_to: list[tuple[int, int]] | None,
    rois: list[tuple[int, int, int, int] | None] | None,
    threads: int | None,
    max_pixels: int,
    strict: bool = True,
) -> list[_Array | BaseException]: ...
def probe(source: _Source) -> tuple[str, int, int, int, int, int, bool]: ...
def probe_batch(
    sources: list[_Source], threads: int | None
) -> list[tuple[str, int, int, int, int, int, bool] | BaseException]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def env_num_threads() -> int | str | None: ...
def build_info() -> dict[str, Any]: ...
def flip(
    images: list[npt.NDArray[np.uint8]],
    horizontal: bool,
    vertical: bool,
    threads: int | None,
    out: npt.NDArray[np.uint8] | None = None,
) -> list[npt.NDArray[np.uint8]] | None: ...
def recycled_empty(nbytes: int) -> npt.NDArray[np.uint8]: ...
def recycled_pool_bytes() -> int: ...

@final
class PipelineSpec:
    """`pixfeed.Pipeline`'s settings, parsed once (see `Pipeline._spec`)."""

    def __new__(
        cls,
        *,
        size: tuple[int, int],
        crop: str,
        scale: tuple[float, float],
        ratio: tuple[float, float],
        resize_shorter: int,
        flip: float,
        mean: list[float],
        std: list[float],
        dtype: str,
        layout: str,
        mode: str,
        interpolation: str,
        antialias: bool,
        apply_exif: bool,
        max_pixels: int,
        fast_decode: bool,
        exact: bool,
        strict: bool,
    ) -> PipelineSpec: ...
    @property
    def item_bytes(self) -> int: ...

def _panic_for_test(release_gil: bool = True) -> None:
    """Test only: panic inside the native call path (see tests/test_entry_helper.py)."""

def pipeline_batch(
    spec: PipelineSpec,
    sources: list[_Source],
    keys: list[int],
    seed: int,
    epoch: int,
    out: npt.NDArray[np.uint8],
    threads: int | None,
) -> list[BaseException | None]: ...
def pipeline_params(
    spec: PipelineSpec,
    width: int,
    height: int,
    seed: int,
    epoch: int,
    key: int,
) -> tuple[tuple[float, float, float, float], bool]: ...
def crop_paths(
    sources: list[_Source],
    x: list[float],
    y: list[float],
    scale: list[float],
    window: int,
    max_img_percent: float,
    center: bool,
    interpolation: str,
    antialias: bool,
    mode: str,
    threads: int | None,
    out: npt.NDArray[np.uint8],
    exact: bool = False,
    strict: bool = True,
) -> list[BaseException | None]: ...
def crop(
    images: list[npt.NDArray[np.uint8]],
    boxes: list[tuple[int, int, int, int]],
    pad_value: list[int] | None,
    threads: int | None,
    out: npt.NDArray[np.uint8] | None,
    squeeze: bool,
) -> npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]]: ...
def center_crop(
    images: list[npt.NDArray[np.uint8]],
    sizes: list[tuple[int, int]],
    pad_value: list[int],
    threads: int | None,
    out: npt.NDArray[np.uint8] | None,
    squeeze: bool,
) -> npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]]: ...
def random_crop(
    images: list[npt.NDArray[np.uint8]],
    sizes: list[tuple[int, int]],
    seed: int,
    threads: int | None,
    out: npt.NDArray[np.uint8] | None,
    squeeze: bool,
) -> npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]]: ...
def convert(
    images: list[npt.NDArray[np.uint8]],
    to: str,
    source: str,
    alpha: int,
    threads: int | None,
    out: npt.NDArray[np.uint8] | None,
    squeeze: bool,
) -> npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]]: ...
def luminance(
    images: list[npt.NDArray[np.uint8]],
    weights: str,
    threads: int | None,
) -> npt.NDArray[np.float64]: ...
def normalize(
    images: list[npt.NDArray[np.uint8]],
    mean: list[float],
    std: list[float],
    dtype: str,
    layout: str,
    threads: int | None,
    out: npt.NDArray[np.float32] | npt.NDArray[np.uint16],
) -> None: ...
def encode(image: npt.NDArray[np.uint8], format: str, quality: int) -> bytes: ...
def resize_one(
    image: Any,
    sizes: Any,
    interpolation: str,
    antialias: bool,
    threads: int | None,
) -> npt.NDArray[np.uint8]: ...
def resize_into(
    images: list[npt.NDArray[np.uint8]],
    out: npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]],
    interpolation: str,
    antialias: bool,
    threads: int | None,
) -> None: ...
def random_resized_crop_params(
    sizes: list[tuple[int, int]],
    scale: tuple[float, float],
    ratio: tuple[float, float],
    seed: int,
    epoch: int,
    indices: list[int] | None = None,
) -> list[tuple[int, int, int, int]]: ...
def random_resized_crop(
    images: list[npt.NDArray[np.uint8]],
    size: tuple[int, int],
    scale: tuple[float, float],
    ratio: tuple[float, float],
    interpolation: str,
    antialias: bool,
    seed: int,
    epoch: int,
    indices: list[int] | None,
    threads: int | None,
    out: npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]],
) -> list[tuple[int, int, int, int]]: ...

# Detection geometry (pixfeed.detect validates and normalizes the arguments).
_Floats = npt.NDArray[np.float32] | npt.NDArray[np.float64]

def nms(
    boxes: _Floats,
    scores: npt.NDArray[np.float64],
    iou_threshold: float,
    classes: npt.NDArray[np.int64] | None = None,
    max_detections: int | None = None,
) -> npt.NDArray[np.int64]: ...
def box_iou(a: _Floats, b: _Floats, threads: int | None = None) -> _Floats: ...
def box_convert(boxes: _Floats, in_fmt: str, out_fmt: str) -> _Floats: ...
def polygon_area(
    xy: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    name: str,
    threads: int | None = None,
) -> npt.NDArray[np.float64]: ...
def polygon_iou(
    a_xy: npt.NDArray[np.float64],
    a_offsets: npt.NDArray[np.int64],
    b_xy: npt.NDArray[np.float64],
    b_offsets: npt.NDArray[np.int64],
    threads: int | None = None,
) -> npt.NDArray[np.float64]: ...
def points_in_polygon(
    points: npt.NDArray[np.float64],
    polygon: npt.NDArray[np.float64],
    threads: int | None = None,
) -> npt.NDArray[np.bool_]: ...
def simplify_polygon(
    xy: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    tolerance: float,
    closed: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
def letterbox(
    image: npt.NDArray[np.uint8],
    width: int,
    height: int,
    color: list[int],
    scaleup: bool,
) -> tuple[npt.NDArray[np.uint8], float, tuple[int, int]]: ...
def letterbox_tensor(
    images: list[npt.NDArray[np.uint8]],
    width: int,
    height: int,
    color: list[int],
    scaleup: bool,
    dtype: str,
    threads: int | None,
    out: npt.NDArray[Any],
) -> list[tuple[float, tuple[int, int]]]: ...
def yolo_postprocess(
    output: npt.NDArray[np.float32],
    layout: str | None,
    conf: float,
    iou: float,
    max_det: int,
    classes: list[int] | None,
    agnostic: bool,
    threads: int | None = None,
) -> list[npt.NDArray[np.float32]]: ...
def scan(
    root: str | os.PathLike[str],
    extensions: list[str] | None,
    recursive: bool,
    follow_symlinks: bool,
    threads: int | None,
) -> tuple[list[str], list[tuple[str, OSError]], bool]: ...
def tar_index(
    paths: list[str], threads: int | None = None
) -> list[
    tuple[
        list[bytes],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
        int,
        int,
        npt.NDArray[np.bool_],
    ]
    | BaseException
]: ...
def shard_stream(
    shards: list[tuple[int, int]],
    open: int,
    pick: npt.NDArray[np.float64],
    slot: npt.NDArray[np.int64],
    buffer: int,
) -> npt.NDArray[np.int64]: ...
