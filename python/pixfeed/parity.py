"""`check_parity`: a `Pipeline`'s output against torchvision.transforms.v2 on PIL images.

The reference applies, to ``PIL.Image.open(path)`` (EXIF-transposed when the pipeline applies
EXIF, converted to the pipeline's mode), the same crop boxes and flips the pipeline draws
(`Pipeline.sample_boxes`) with torchvision's functional v2 ops: ``resized_crop`` for
``crop="random_resized"``, ``resize(resize_shorter)`` + ``center_crop`` for ``"center"``,
``resize(size)`` for ``"resize"``, then ``horizontal_flip``, ``pil_to_tensor`` and, for float
output, ``to_dtype(float32, scale=True)`` + ``normalize``. torch and torchvision are imported
only when it runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.pipeline import Pipeline

__all__ = ["ParityReport", "check_parity", "torchvision_reference"]


@dataclass(frozen=True)
class ParityReport:
    """Differences between pixfeed's batch and the torchvision reference, in the output's
    units (levels for uint8, normalized values for float); ``psnr`` in dB against the
    output's range (255 for uint8, ``1 / min(std)`` for float), ``inf`` when equal."""

    images: int
    max_abs_diff: float
    mean_abs_diff: float
    psnr: float
    #: Index of the image with the largest difference (-1 when there is none).
    worst: int

    @property
    def identical(self) -> bool:
        return self.max_abs_diff == 0.0


_INTERP = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "lanczos": "LANCZOS",
    "area": "BOX",
}


def torchvision_reference(
    pipeline: Pipeline,
    source: _args.Source,
    box: tuple[float, float, float, float],
    flip: bool,
) -> npt.NDArray[Any]:
    """One sample as torchvision.transforms.v2 computes it on a PIL image, for the given
    box and flip, in the pipeline's dtype (float32 for the float dtypes) and layout."""
    import io

    import torch
    from PIL import Image, ImageOps
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    src = _args.source(source)
    if isinstance(src, _core.Member):
        from pixfeed.shards import member_bytes

        src = member_bytes(src)
    img: Any = Image.open(io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else src)
    if pipeline.apply_exif:
        img = ImageOps.exif_transpose(img)
    img = img.convert("RGB" if pipeline.mode == "BGR" else pipeline.mode)
    interp = InterpolationMode[_INTERP[pipeline.interpolation]]
    w, h = pipeline.size
    if pipeline.crop == "random_resized":
        x, y, bw, bh = (int(v) for v in box)
        img = F.resized_crop(img, y, x, bh, bw, [h, w], interpolation=interp, antialias=True)
    elif pipeline.crop == "center":
        img = F.resize(img, pipeline.resize_shorter, interpolation=interp, antialias=True)
        img = F.center_crop(img, [h, w])
    elif pipeline.crop == "resize":
        img = F.resize(img, [h, w], interpolation=interp, antialias=True)
    if flip:
        img = F.horizontal_flip(img)
    t = F.pil_to_tensor(img)  # C, H, W uint8
    if pipeline.mode == "BGR":
        t = t.flip(0)
    if pipeline.dtype != "uint8":
        t = F.to_dtype(t, torch.float32, scale=True)
        t = F.normalize(t, list(pipeline.mean), list(pipeline.std))
    if pipeline.layout == "NHWC":
        t = t.permute(1, 2, 0)
    return np.ascontiguousarray(t.numpy())


def _as_float(batch: npt.NDArray[Any], dtype: str) -> npt.NDArray[np.float64]:
    if dtype == "bfloat16":  # uint16 bit patterns
        return (batch.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return batch.astype(np.float64)


def check_parity(
    pipeline: Pipeline,
    paths: Sequence[_args.Source],
    *,
    seed: int = 0,
    epoch: int = 0,
) -> ParityReport:
    """Run ``pipeline`` on ``paths`` (sample k with the randomness of (seed, epoch, k), as a
    `Loader` draws it) and compare with `torchvision_reference` for the same boxes and flips.

    With ``Pipeline(exact=True)`` and an antialiased interpolation in RGB, BGR or L the uint8
    output is identical (max 0, PSNR inf) and float32 output differs by float rounding only
    (max <= 2e-6); the default fast mode differs (see the README for measured figures).
    """
    if not paths:
        raise ValueError("paths: expected at least one image")
    got = _as_float(pipeline(paths, seed=seed, epoch=epoch), pipeline.dtype)
    params = pipeline.sample_boxes(paths, seed=seed, epoch=epoch)
    want = np.stack(
        [
            torchvision_reference(pipeline, p, box, flip)
            for p, (box, flip) in zip(paths, params, strict=True)
        ]
    ).astype(np.float64)
    if pipeline.dtype == "float16":
        want = want.astype(np.float16).astype(np.float64)
    elif pipeline.dtype == "bfloat16":
        import torch

        want = torch.from_numpy(want).to(torch.bfloat16).to(torch.float64).numpy()
    diff = np.abs(got - want.reshape(got.shape))
    per_image = diff.reshape(len(paths), -1).max(axis=1)
    mse = float(np.mean(diff**2))
    peak = 255.0 if pipeline.dtype == "uint8" else 1.0 / min(abs(s) for s in pipeline.std)
    psnr = math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)
    max_abs = float(per_image.max())
    return ParityReport(
        images=len(paths),
        max_abs_diff=max_abs,
        mean_abs_diff=float(diff.mean()),
        psnr=psnr,
        worst=int(per_image.argmax()) if max_abs > 0 else -1,
    )
