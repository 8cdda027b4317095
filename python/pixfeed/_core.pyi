# Stub of the native module; checked against the build by `mypy.stubtest` (make lint).
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "build_info",
    "decode",
    "decode_batch",
    "flip",
    "get_num_threads",
    "probe",
    "random_resized_crop",
    "random_resized_crop_params",
    "resize_into",
    "resize_one",
    "set_num_threads",
]

__version__: str

_Array = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]
_Source = str | bytes | bytearray

def decode(
    source: _Source,
    mode: str,
    apply_exif: bool,
    reduce_to: tuple[int, int] | None,
    roi: tuple[int, int, int, int] | None,
    max_pixels: int,
) -> _Array: ...
def decode_batch(
    sources: list[_Source],
    mode: str,
    apply_exif: bool,
    reduce_to: tuple[int, int] | None,
    rois: list[tuple[int, int, int, int] | None] | None,
    threads: int | None,
    max_pixels: int,
) -> list[_Array | BaseException]: ...
def probe(source: _Source) -> tuple[str, int, int, int, int, int, bool]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def build_info() -> dict[str, Any]: ...
def flip(
    images: list[npt.NDArray[np.uint8]],
    horizontal: bool,
    vertical: bool,
    threads: int | None,
    out: npt.NDArray[np.uint8] | None = None,
) -> list[npt.NDArray[np.uint8]] | None: ...
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
