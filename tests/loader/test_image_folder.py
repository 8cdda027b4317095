"""`image_folder` / `Loader.from_folder` against torchvision's ImageFolder, and labels that
must become tensors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    img = Image.new("RGB", (40, 30), (200, 30, 60))
    files = [
        "dog/b.jpg",
        "dog/a.JPEG",  # case-insensitive extension
        "dog/sub/deeper/z.png",  # nested
        "dog/sub/c.webp",
        "dog/notes.txt",  # not an image
        "dog/.hidden.jpg",  # hidden file: torchvision keeps it
        "Cat/x.Png",  # upper-case class sorts first
        "cat/1.bmp",
        "cat/2.tiff",
        "cat/README",
        ".cache/y.jpg",  # a hidden folder is a class in torchvision
        "bird/img.jpeg.bak",  # not an image
        "bird/ok.ppm",
    ]
    for rel in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.lower().endswith((".txt", "readme", ".bak")):
            p.write_text("x")
        else:
            fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tiff": "TIFF", ".ppm": "PPM"}
            img.save(p, fmt.get(p.suffix.lower(), p.suffix.lower().lstrip(".").upper()))
    (root / "top_level_file.jpg").write_bytes(b"not a class")
    os.symlink(root / "cat", root / "zz_link")  # a symlinked class folder
    return root


def test_equals_torchvision_imagefolder(tree: Path) -> None:
    datasets = pytest.importorskip("torchvision.datasets")
    tv = datasets.ImageFolder(str(tree))
    paths, labels, classes = pixfeed.image_folder(tree)
    assert classes == tv.classes
    assert list(zip(paths, labels, strict=True)) == [(p, t) for p, t in tv.samples]
    assert labels == tv.targets
    assert pixfeed.IMG_EXTENSIONS == datasets.folder.IMG_EXTENSIONS


def test_rules_without_torchvision(tree: Path) -> None:
    paths, labels, classes = pixfeed.image_folder(str(tree))
    assert classes == [".cache", "Cat", "bird", "cat", "dog", "zz_link"]
    names = [os.path.relpath(p, tree) for p in paths]
    assert "dog/notes.txt" not in names and "bird/img.jpeg.bak" not in names
    assert "dog/a.JPEG" in names and "dog/.hidden.jpg" in names
    assert names.index("dog/sub/c.webp") < names.index("dog/sub/deeper/z.png")
    assert [labels[names.index(n)] for n in ("Cat/x.Png", "zz_link/1.bmp")] == [1, 5]


def test_errors(tmp_path: Path, tree: Path) -> None:
    with pytest.raises(FileNotFoundError, match="class folder"):
        pixfeed.image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        pixfeed.image_folder(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    (tmp_path / "full").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "full" / "a.png")
    with pytest.raises(FileNotFoundError, match="empty_class"):
        pixfeed.image_folder(tmp_path)
    paths, labels, classes = pixfeed.image_folder(tmp_path, allow_empty=True)
    assert classes == ["empty_class", "full"] and labels == [1] and len(paths) == 1


def test_loader_from_folder(tree: Path) -> None:
    ld = pixfeed.Loader.from_folder(
        tree, batch_size=4, shuffle=False, pipeline=pixfeed.Pipeline(16), on_error="skip"
    )
    paths, labels, classes = pixfeed.image_folder(tree)
    assert ld.classes == classes
    got = np.concatenate([y for _, y in ld]).tolist()
    failed = set(ld.stats()["failed_sources"])  # formats pixfeed does not decode (PPM, TIFF)
    assert failed <= {p for p in paths if p.lower().endswith((".ppm", ".tiff"))}
    assert got == [t for p, t in zip(paths, labels, strict=True) if p not in failed]
    assert len(got) >= 8


def decodable(tree: Path) -> list[str]:
    return [p for p in pixfeed.image_folder(tree)[0] if not p.endswith((".ppm", ".tiff"))]


def test_labels_ints_floats_multilabel_and_rejections(tree: Path) -> None:
    paths = decodable(tree)[:4]
    pipe = pixfeed.Pipeline(16, crop="resize")
    for labels in (
        [0, 1, 2, 3],
        [0.5, 1.5, 2.5, 3.5],
        [[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]],
    ):
        ld = pixfeed.Loader(paths, labels, batch_size=4, shuffle=False, pipeline=pipe)
        _, y = next(iter(ld))
        assert np.array_equal(y, np.asarray(labels))
    with pytest.raises(TypeError, match=r"labels.*dtype.*image_folder"):
        pixfeed.Loader(paths, ["cat", "dog", "cat", "dog"], pipeline=pipe)
    with pytest.raises(TypeError, match="labels"):
        pixfeed.Loader(paths, [{"a": 1}] * 4, pipeline=pipe)
    with pytest.raises(ValueError, match="equal-length"):
        pixfeed.Loader(paths, [[1], [1, 2], [3], []], pipeline=pipe)
    with pytest.raises(ValueError, match="one per source"):
        pixfeed.Loader(paths, [1, 2, 3], pipeline=pipe)


def test_labels_become_tensors(tree: Path) -> None:
    torch = pytest.importorskip("torch")
    paths = decodable(tree)[:4]
    pipe = pixfeed.Pipeline(16, crop="resize")
    labels = np.array([1, 2, 3, 4], dtype=np.uint32)
    ld = pixfeed.Loader(paths, labels, batch_size=4, pipeline=pipe, output="torch")
    _, y = next(iter(ld))
    assert isinstance(y, torch.Tensor) and y.dtype == torch.int64
    multi = np.eye(4, dtype=np.float32)
    ld = pixfeed.Loader(paths, multi, batch_size=4, shuffle=False, pipeline=pipe, output="torch")
    _, y = next(iter(ld))
    assert y.shape == (4, 4) and y.dtype == torch.float32
