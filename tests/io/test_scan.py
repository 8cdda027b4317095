"""`scan` against an `os.walk` reference (docs/toolkit.md): symlinks to files and folders, a
cycle, mixed-case extensions, hidden files, files without extensions, unreadable folders,
and hypothesis-drawn trees."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pixfeed
from pixfeed.cli import main as cli_main


def reference(
    root: str,
    extensions: list[str] | None,
    *,
    recursive: bool = True,
    follow_symlinks: bool = False,
    errors: list[str] | None = None,
) -> list[str]:
    """What scan must return, from os.walk: file names whose os.path.splitext extension is in
    `extensions` (lowercased), joined to their folder, sorted. With follow_symlinks, a folder
    that is an ancestor of the current one (same device and inode) is pruned (os.walk itself
    would loop until the path is too long)."""
    exts = None if extensions is None else {e.lower().lstrip(".") for e in extensions}
    ancestors: dict[str, frozenset[tuple[int, int]]] = {}
    if follow_symlinks:
        s = os.stat(root)
        ancestors[root] = frozenset({(s.st_dev, s.st_ino)})
    out = []

    def onerror(e: OSError) -> None:
        if errors is not None:
            errors.append(e.filename)

    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks, onerror=onerror):
        for f in filenames:
            ext = os.path.splitext(f)[1][1:].lower()
            if exts is None or ext in exts:
                out.append(os.path.join(dirpath, f))
        if not recursive:
            dirnames[:] = []
        elif follow_symlinks:
            keep = []
            for d in dirnames:
                p = os.path.join(dirpath, d)
                try:
                    s = os.stat(p)
                except OSError:
                    keep.append(d)
                    continue
                ident = (s.st_dev, s.st_ino)
                if ident not in ancestors[dirpath]:
                    ancestors[p] = ancestors[dirpath] | {ident}
                    keep.append(d)
            dirnames[:] = keep
    return sorted(out)


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Mixed-case extensions, hidden files, files without extensions, a folder whose name
    looks like an image, symlinks to a file, a folder, nowhere, and a cycle."""
    r = tmp_path / "tree"
    for rel in [
        "a.jpg",
        "B.JPG",
        "c.Png",
        "d.jpeg",
        "e.txt",
        "noext",
        "jpg",
        ".jpg",
        ".hidden.jpg",
        "trailing.",
        "with space.webp",
        "ünïcödé.JPEG",
        "a.b.jpg",
        "folder.jpg/inside.png",
        ".hiddendir/x.jpg",
        "sub/y.bmp",
        "sub/deeper/z.jpg",
        "sub/deeper/Z.TXT",
        "sub-2/w.jpg",
        "sub.d/v.jpg",
        "real/r.jpg",
        "real/nested/q.webp",
    ]:
        touch(r / rel)
    (r / "empty").mkdir()
    os.symlink(r / "a.jpg", r / "link_to_file.jpg")
    os.symlink("real", r / "link_to_dir")
    os.symlink(r / "missing.jpg", r / "broken.jpg")
    os.symlink("..", r / "real" / "nested" / "cycle")  # real/nested/cycle -> real
    return r


EXTENSION_SETS: list[list[str] | None] = [
    list(pixfeed.IMAGES),
    ["jpg"],
    [".JPG", "png"],
    ["jpeg", ".WebP", "bmp"],
    None,
    [],
]


@pytest.mark.parametrize("extensions", EXTENSION_SETS)
@pytest.mark.parametrize("recursive", [True, False])
@pytest.mark.parametrize("follow_symlinks", [False, True])
def test_matches_os_walk(
    tree: Path, extensions: list[str] | None, recursive: bool, follow_symlinks: bool
) -> None:
    root = str(tree)
    got = pixfeed.scan(
        root, extensions=extensions, recursive=recursive, follow_symlinks=follow_symlinks
    )
    want = reference(root, extensions, recursive=recursive, follow_symlinks=follow_symlinks)
    assert list(got) == want
    assert got.errors == {}


def test_symlink_rules_spelled_out(tree: Path) -> None:
    r = str(tree)
    plain = set(pixfeed.scan(r))
    assert os.path.join(r, "link_to_file.jpg") in plain  # a symlink to a file is a file
    assert os.path.join(r, "broken.jpg") in plain  # a broken symlink too (as os.walk)
    assert not any("link_to_dir" in p for p in plain)  # not entered by default
    assert not any("cycle" in p for p in plain)
    followed = set(pixfeed.scan(r, follow_symlinks=True))
    assert os.path.join(r, "link_to_dir", "r.jpg") in followed
    assert os.path.join(r, "link_to_dir", "nested", "q.webp") in followed
    # real/nested/cycle is real again, an ancestor: not entered.
    assert not any("cycle" in p for p in followed)
    assert followed - plain == {
        os.path.join(r, "link_to_dir", "r.jpg"),
        os.path.join(r, "link_to_dir", "nested", "q.webp"),
    }


def test_extension_spellings_are_equivalent(tree: Path) -> None:
    r = str(tree)
    base = pixfeed.scan(r, extensions=["jpg"])
    for spelling in ("jpg", ".jpg", "JPG", ".JpG", ["jpg", ".JPG"], ("jpg",)):
        assert pixfeed.scan(r, extensions=spelling) == base
    assert os.path.join(r, "B.JPG") in base
    assert os.path.join(r, ".hidden.jpg") in base
    assert os.path.join(r, ".jpg") not in base  # a hidden file named ".jpg" has no extension
    assert os.path.join(r, "jpg") not in base
    assert os.path.join(r, "folder.jpg") not in base  # folders are never listed


def test_result_is_a_sorted_list_of_str(tree: Path) -> None:
    got = pixfeed.scan(tree, extensions=None)
    assert isinstance(got, list) and isinstance(got, pixfeed.ScanResult)
    assert all(type(p) is str for p in got)
    assert got == sorted(got)
    assert got.skipped_folders == []


def test_root_spellings(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = str(tree)
    assert pixfeed.scan(Path(r)) == pixfeed.scan(r)
    with_slash = pixfeed.scan(r + "/")
    assert with_slash == reference(r + "/", list(pixfeed.IMAGES))
    assert with_slash[0].startswith(r + "/") and "//" not in with_slash[0]
    monkeypatch.chdir(tree)
    assert pixfeed.scan(".") == reference(".", list(pixfeed.IMAGES))
    assert pixfeed.scan("sub") == ["sub/deeper/z.jpg", "sub/y.bmp"]
    # The root may itself be a symlink to a folder: listed through it, as os.walk does.
    assert pixfeed.scan("link_to_dir") == reference("link_to_dir", list(pixfeed.IMAGES))


def test_root_errors_name_the_root(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as e:
        pixfeed.scan(missing)
    assert e.value.filename == str(missing)
    touch(tmp_path / "f.jpg")
    for on_error in ("raise", "skip"):
        with pytest.raises(NotADirectoryError) as e2:
            pixfeed.scan(tmp_path / "f.jpg", on_error=on_error)  # type: ignore[arg-type]
        assert e2.value.filename == str(tmp_path / "f.jpg")


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="root"):
        pixfeed.scan(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="extensions"):
        pixfeed.scan(tmp_path, extensions=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"extensions\[1\]"):
        pixfeed.scan(tmp_path, extensions=["jpg", 5])  # type: ignore[list-item]
    for bad in ("", ".", "tar.gz", "a/b", ".."):
        with pytest.raises(ValueError, match="extensions"):
            pixfeed.scan(tmp_path, extensions=[bad])
    with pytest.raises(ValueError, match="on_error"):
        pixfeed.scan(tmp_path, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads"):
        pixfeed.scan(tmp_path, threads=0)
    with pytest.raises(TypeError, match="threads"):
        pixfeed.scan(tmp_path, threads="2")  # type: ignore[arg-type]


def test_threads_do_not_change_the_result(tmp_path: Path) -> None:
    for d in range(30):
        for f in range(12):
            touch(tmp_path / f"d{d % 7}" / f"s{d}" / f"f{f}.{'jpg' if f % 3 else 'png'}")
    one = pixfeed.scan(tmp_path, threads=1)
    assert pixfeed.scan(tmp_path, threads=2) == one == pixfeed.scan(tmp_path, threads=5)
    assert one == reference(str(tmp_path), list(pixfeed.IMAGES))
    assert len(one) == 360


def test_names_that_are_not_utf8(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    names = [b"caf\xe9.jpg", b"\xed\x9f\xbf.jpg", b"plain.jpg", b"z\x80.JPG"]
    try:
        for n in names:
            with open(os.path.join(root, n), "wb"):
                pass
    except OSError:
        pytest.skip("this filesystem refuses names that are not UTF-8")
    got = pixfeed.scan(tmp_path)
    assert got == reference(str(tmp_path), list(pixfeed.IMAGES))
    assert got == sorted(got)
    assert sorted(os.fsencode(p) for p in got) == sorted(os.path.join(root, n) for n in names)


# -- unreadable folders ----------------------------------------------------------------------


def _unreadable_tree(base: Path) -> tuple[Path, Path]:
    root = base / "tree"
    for rel in ["a.jpg", "open/b.jpg", "locked/c.jpg", "locked/inner/d.jpg", "z/e.jpg"]:
        touch(root / rel)
    return root, root / "locked"


# The child drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (capset, before any thread exists;
# new threads inherit them): without them even root is refused a chmod 000 folder.
_CHILD = """
import ctypes, json, os, sys

class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

class Data(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

libc = ctypes.CDLL(None, use_errno=True)
header, data = Header(0x20080522, 0), (Data * 2)()
if libc.capget(ctypes.byref(header), data) != 0:
    raise OSError(ctypes.get_errno(), "capget")
keep = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
for d in data:
    d.effective &= keep; d.permitted &= keep; d.inheritable &= keep
if libc.capset(ctypes.byref(header), data) != 0:
    raise OSError(ctypes.get_errno(), "capset")

import pixfeed
root, locked = sys.argv[1], sys.argv[2]
out = {"readable": os.access(locked, os.R_OK)}
try:
    pixfeed.scan(root)
    out["raise"] = None
except PermissionError as e:
    out["raise"] = [type(e).__name__, e.filename, e.errno, str(e)]
r = pixfeed.scan(root, on_error="skip")
out["skip"] = list(r)
out["errors"] = {k: type(v).__name__ for k, v in r.errors.items()}
out["skipped"] = r.skipped_folders
print(json.dumps(out))
"""


def test_unreadable_folder(tmp_path: Path) -> None:
    """A folder below the root that cannot be read: PermissionError naming it by default;
    with on_error="skip", the rest is listed and the folder reported in ``errors``.

    Tests usually run as root here, and root reads a chmod 000 folder anyway (its
    CAP_DAC_* capabilities bypass the mode). So the scan runs in a child process that first
    gives those capabilities up, after which the mode is enforced for it like for any
    user. Where that is impossible (not Linux, capset refused) the test skips, saying so.
    """
    root, locked = _unreadable_tree(tmp_path)
    locked.chmod(0)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(root), str(locked)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        locked.chmod(stat.S_IRWXU)
    if proc.returncode != 0 and ("capset" in proc.stderr or "capget" in proc.stderr):
        pytest.skip(f"cannot drop capabilities here: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    if out["readable"]:
        pytest.skip("chmod 000 does not make a folder unreadable here, even without CAP_DAC_*")
    name, filename, errno, message = out["raise"]
    assert (name, filename, errno) == ("PermissionError", str(locked), 13)
    assert str(locked) in message  # the message names the folder
    assert out["skip"] == [str(root / "a.jpg"), str(root / "open/b.jpg"), str(root / "z/e.jpg")]
    assert out["errors"] == {str(locked): "PermissionError"}
    assert out["skipped"] == [str(locked)]


def test_unreadable_folder_in_process_where_possible(tmp_path: Path) -> None:
    """The same in this process, when the OS enforces the mode for us (not as root)."""
    root, locked = _unreadable_tree(tmp_path)
    locked.chmod(0)
    try:
        readable = os.access(locked, os.R_OK)
        if readable:
            pytest.skip("running as root: chmod 000 does not stop root from reading a folder")
        with pytest.raises(PermissionError, match="locked"):
            pixfeed.scan(root)
        assert pixfeed.scan(root, on_error="skip").skipped_folders == [str(locked)]
    finally:
        locked.chmod(stat.S_IRWXU)


# -- hypothesis: random trees ----------------------------------------------------------------

_NAME = st.sampled_from(
    ["a", "B", "c.jpg", "d.JPG", "e.png", ".h", ".h.jpg", "x.y.jpeg", "n", "n-1", "n.1", "ü"]
)
_EXT = st.sampled_from(["jpg", "JPG", "png", "jpeg", "txt", "", "Webp"])


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, bool]]:
    """Relative paths, each a file (True) or an empty folder (False)."""
    entries = []
    for _ in range(draw(st.integers(1, 25))):
        depth = draw(st.integers(0, 3))
        parts = [draw(_NAME) + "_d" for _ in range(depth)]
        stem = draw(_NAME)
        ext = draw(_EXT)
        is_file = draw(st.booleans()) or depth == 0
        leaf = f"{stem}.{ext}" if ext else stem
        entries.append(("/".join([*parts, leaf]), is_file))
    return entries


@given(
    entries=trees(),
    extensions=st.sampled_from(EXTENSION_SETS),
    recursive=st.booleans(),
)
def test_random_trees_match_os_walk(
    entries: list[tuple[str, bool]], extensions: list[str] | None, recursive: bool
) -> None:
    base = Path(tempfile.mkdtemp(prefix="pixfeed-scan-hyp-"))
    try:
        for rel, is_file in entries:
            p = base / rel
            if p.exists():
                continue
            try:
                if is_file:
                    touch(p)
                else:
                    p.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                continue  # a name drawn both as a file and as a folder
        got = pixfeed.scan(base, extensions=extensions, recursive=recursive)
        assert list(got) == reference(str(base), extensions, recursive=recursive)
    finally:
        shutil.rmtree(base)


# -- command line ----------------------------------------------------------------------------


def test_cli_plain_and_json(tree: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli_main(["scan", str(tree), "--ext", "jpg,.PNG"]) == 0
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert lines == reference(str(tree), ["jpg", "png"])
    assert cli_main(["scan", str(tree), "--no-recursive", "--json", "--ext", "jpg"]) == 0
    data = json.loads(capsysbinary.readouterr().out)
    assert data["paths"] == reference(str(tree), ["jpg"], recursive=False)
    assert data["count"] == len(data["paths"]) and data["skipped_folders"] == {}
    assert cli_main(["scan", str(tree), "--follow-symlinks", "--all", "--json"]) == 0
    data = json.loads(capsysbinary.readouterr().out)
    assert data["paths"] == reference(str(tree), None, follow_symlinks=True)


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["scan", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert "pixfeed scan" in err and "missing" in err
    assert cli_main(["scan", str(tmp_path), "--ext", "tar.gz"]) == 1
    assert "extensions" in capsys.readouterr().err
