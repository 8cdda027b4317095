"""Configuration: defaults < user file < project file < PIXFEED_* env < overrides, with errors
that name the file (or variable) and the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pixfeed
from pixfeed.config import ENV_VARS, Config, load_config, project_config_path

DEFAULTS = {
    "threads": None,
    "cache_mb": 512,
    "batch_size": 8,
    "preload": False,
    "backend": "auto",
    "io_threads": None,
    "preload_count": 8,
    "cache": True,
    "cache_max_entries": 0,
}


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated user config dir and project dir, with no PIXFEED_* settings in the env."""
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project" / "sub" / "deeper"
    project.mkdir(parents=True)
    return tmp_path


def user_file(home: Path, text: str) -> Path:
    p = home / "xdg" / "pixfeed" / "config.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def cwd_of(home: Path) -> Path:
    return home / "project" / "sub" / "deeper"


def test_defaults(home: Path) -> None:
    cfg = load_config(cwd=cwd_of(home))
    assert cfg.as_dict() == DEFAULTS
    assert cfg == Config()
    assert set(cfg.sources.values()) == {"default"}


def test_each_level_overrides_the_one_below(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = cwd_of(home)
    user = user_file(
        home, "threads = 3\ncache_mb = 100\nbatch_size = 4\npreload = true\nbackend = 'cpu'\n"
    )
    cfg = load_config(cwd=cwd)
    assert cfg.as_dict() == {
        "threads": 3,
        "cache_mb": 100,
        "batch_size": 4,
        "preload": True,
        "backend": "cpu",
        "io_threads": None,
        "preload_count": 8,
        "cache": True,
        "cache_max_entries": 0,
    }
    assert cfg.sources["threads"] == f"user config {user}"

    project = home / "project" / "pixfeed.toml"  # two levels above cwd
    project.write_text("cache_mb = 200\nbatch_size = 16\n")
    cfg = load_config(cwd=cwd)
    assert (cfg.threads, cfg.cache_mb, cfg.batch_size) == (3, 200, 16)
    assert cfg.sources["cache_mb"] == f"project config {project}"
    assert cfg.sources["threads"] == f"user config {user}"

    monkeypatch.setenv("PIXFEED_BATCH_SIZE", "32")
    monkeypatch.setenv("PIXFEED_NUM_THREADS", "2")
    cfg = load_config(cwd=cwd)
    assert (cfg.threads, cfg.cache_mb, cfg.batch_size) == (2, 200, 32)
    assert cfg.sources["batch_size"] == "env PIXFEED_BATCH_SIZE"
    assert cfg.sources["threads"] == "env PIXFEED_NUM_THREADS"

    cfg = load_config({"batch_size": 64, "threads": None, "backend": "cuda"}, cwd=cwd)
    assert (cfg.threads, cfg.batch_size, cfg.backend) == (2, 64, "cuda")  # None: not given
    assert cfg.sources["batch_size"] == "override"
    assert cfg.sources["threads"] == "env PIXFEED_NUM_THREADS"
    assert cfg.preload is True and cfg.sources["preload"] == f"user config {user}"


def test_project_file_search(home: Path) -> None:
    cwd = cwd_of(home)
    assert project_config_path(cwd) is None
    # A pyproject.toml without [tool.pixfeed] is not a config: the search goes on upwards.
    (home / "project" / "sub" / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    top = home / "project" / "pyproject.toml"
    top.write_text("[project]\nname = 'x'\n[tool.pixfeed]\nbatch_size = 12\n")
    assert project_config_path(cwd) == top
    cfg = load_config(cwd=cwd)
    assert cfg.batch_size == 12 and cfg.sources["batch_size"] == f"project config {top}"
    # The nearest wins; in one folder pixfeed.toml wins over pyproject.toml.
    (home / "project" / "sub" / "pyproject.toml").write_text("[tool.pixfeed]\nbatch_size = 5\n")
    assert load_config(cwd=cwd).batch_size == 5
    (home / "project" / "sub" / "pixfeed.toml").write_text("batch_size = 6\n")
    assert load_config(cwd=cwd).batch_size == 6
    # Only one project file is read: keys of farther files do not leak through.
    (home / "project" / "sub" / "pixfeed.toml").write_text("preload = true\n")
    cfg = load_config(cwd=cwd)
    assert cfg.preload is True and cfg.batch_size == 8


def test_threads_auto_and_backend_case(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_file(home, "threads = 'auto'\nbackend = 'CPU'\n")
    cfg = load_config(cwd=cwd_of(home))
    assert cfg.threads is None and cfg.backend == "cpu"
    monkeypatch.setenv("PIXFEED_NUM_THREADS", "auto")
    assert load_config(cwd=cwd_of(home)).threads is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("threads = 0\n", "threads"),
        ("threads = 2.5\n", "threads"),
        ("threads = true\n", "threads"),
        ("cache_mb = -1\n", "cache_mb"),
        ("batch_size = '8'\n", "batch_size"),
        ("preload = 1\n", "preload"),
        ("backend = 'tpu'\n", "backend"),
        ("bacth_size = 8\n", "bacth_size"),
        ("[filter]\nconf = 0.5\n", "filter"),
    ],
)
def test_bad_file_values_name_file_and_key(home: Path, text: str, key: str) -> None:
    path = user_file(home, text)
    with pytest.raises(ValueError) as ei:
        load_config(cwd=cwd_of(home))
    msg = str(ei.value)
    assert str(path) in msg and key in msg, msg


def test_bad_pyproject_table(home: Path) -> None:
    p = home / "project" / "pyproject.toml"
    p.write_text("[tool.pixfeed]\nbatch_sise = 4\n")
    with pytest.raises(ValueError, match=r"pyproject\.toml \[tool\.pixfeed\]: unknown key"):
        load_config(cwd=cwd_of(home))


def test_invalid_toml(home: Path) -> None:
    path = user_file(home, "threads = = 2\n")
    with pytest.raises(ValueError, match="not valid TOML") as ei:
        load_config(cwd=cwd_of(home))
    assert str(path) in str(ei.value)


@pytest.mark.parametrize(
    ("var", "text", "want"),
    [
        ("PIXFEED_NUM_THREADS", " 4 ", ("threads", 4)),
        ("PIXFEED_CACHE_MB", "0", ("cache_mb", 0)),
        ("PIXFEED_BATCH_SIZE", "16", ("batch_size", 16)),
        ("PIXFEED_PRELOAD", "yes", ("preload", True)),
        ("PIXFEED_PRELOAD", "ON", ("preload", True)),
        ("PIXFEED_PRELOAD", "0", ("preload", False)),
        ("PIXFEED_PRELOAD", "false", ("preload", False)),
        ("PIXFEED_BACKEND", "Cuda", ("backend", "cuda")),
    ],
)
def test_env_parsing(
    home: Path, monkeypatch: pytest.MonkeyPatch, var: str, text: str, want: tuple[str, object]
) -> None:
    monkeypatch.setenv(var, text)
    cfg = load_config(cwd=cwd_of(home))
    assert getattr(cfg, want[0]) == want[1]
    assert cfg.sources[want[0]] == f"env {var}"


@pytest.mark.parametrize(
    ("var", "text"),
    [
        ("PIXFEED_NUM_THREADS", "abc"),
        ("PIXFEED_NUM_THREADS", "0"),
        ("PIXFEED_CACHE_MB", "-5"),
        ("PIXFEED_BATCH_SIZE", "8.0"),
        ("PIXFEED_PRELOAD", "maybe"),
        ("PIXFEED_BACKEND", "tpu"),
    ],
)
def test_bad_env_values_name_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch, var: str, text: str
) -> None:
    monkeypatch.setenv(var, text)
    with pytest.raises(ValueError) as ei:
        load_config(cwd=cwd_of(home))
    assert var in str(ei.value) and text in str(ei.value)


def test_empty_env_counts_as_unset(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_file(home, "batch_size = 3\n")
    monkeypatch.setenv("PIXFEED_BATCH_SIZE", "  ")
    cfg = load_config(cwd=cwd_of(home))
    assert cfg.batch_size == 3 and cfg.sources["batch_size"].startswith("user config")


def test_bad_overrides(home: Path) -> None:
    with pytest.raises(ValueError, match="overrides: unknown key 'threadz'"):
        load_config({"threadz": 2}, cwd=cwd_of(home))
    with pytest.raises(ValueError, match="overrides: batch_size: must be >= 1"):
        load_config({"batch_size": 0}, cwd=cwd_of(home))
    with pytest.raises(ValueError, match="backend"):
        Config(backend="gpu")


def test_apply_sets_the_thread_default(home: Path) -> None:
    before = pixfeed.get_num_threads()
    try:
        Config(threads=1).apply()
        assert pixfeed.get_num_threads() == 1
        Config().apply()  # threads None: leaves the default alone
        assert pixfeed.get_num_threads() == 1
    finally:
        pixfeed.set_num_threads(before)


def _cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", *args],
        capture_output=True,
        text=True,
        cwd=str(cwd),
        env=full,
        timeout=120,
        check=False,
    )


def test_info_shows_effective_config_and_sources(home: Path) -> None:
    user = user_file(home, "cache_mb = 64\n")
    project = home / "project" / "pixfeed.toml"
    project.write_text("threads = 1\nbatch_size = 4\n")
    env = {"XDG_CONFIG_HOME": str(home / "xdg"), "PIXFEED_BACKEND": "cpu"}
    r = _cli(cwd_of(home), env, "info", "--json")
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    values = facts["config"]["values"]
    assert values["cache_mb"] == {"value": 64, "source": f"user config {user}"}
    assert values["batch_size"] == {"value": 4, "source": f"project config {project}"}
    assert values["backend"] == {"value": "cpu", "source": "env PIXFEED_BACKEND"}
    assert values["preload"] == {"value": False, "source": "default"}
    assert facts["config"]["project_file"] == str(project)
    assert facts["threads"] == 1  # the CLI applied the project file's threads

    text = _cli(cwd_of(home), env, "info")
    assert text.returncode == 0, text.stderr
    assert "batch_size" in text.stdout and str(project) in text.stdout


def test_broken_config_is_reported_by_info_and_stops_other_commands(home: Path) -> None:
    (home / "project" / "pixfeed.toml").write_text("batch_size = 'many'\n")
    env = {"XDG_CONFIG_HOME": str(home / "xdg")}
    r = _cli(cwd_of(home), env, "info", "--json")
    assert r.returncode == 2, r.stderr  # reported in full, and an error like everywhere
    assert "batch_size" in json.loads(r.stdout)["config"]["error"]
    r = _cli(cwd_of(home), env, "info")
    assert r.returncode == 2 and "ERROR" in r.stdout and "batch_size" in r.stdout
    r = _cli(cwd_of(home), env, "resize", "x.jpg", "--size", "8", "--out", str(home / "o"))
    assert r.returncode == 2
    assert "pixfeed.toml" in r.stderr and "batch_size" in r.stderr
