"""Inference backends: ``backend`` values mapped to ONNX Runtime execution providers, the
``auto`` order, a clear error (exit 2 in the CLI) for one that is not installed, and
``pixfeed info`` listing the providers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

import pixfeed
from _onnx_models import build_grid_detector
from pixfeed.config import BACKENDS, load_config
from pixfeed.detect.detector import AUTO_ORDER, BACKEND_PROVIDERS, _providers, available_backends
from test_cli_filter import cli
from test_filter import make_folder

INSTALLED = list(ort.get_available_providers())
MISSING = [b for b in BACKENDS if b != "auto" and BACKEND_PROVIDERS[b] not in INSTALLED]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_grid_detector(tmp_path_factory.mktemp("be-model") / "grid.onnx")


class FakeOrt:
    def __init__(self, providers: list[str]) -> None:
        self.providers = providers

    def get_available_providers(self) -> list[str]:
        return self.providers


@pytest.mark.parametrize(
    ("installed", "backend", "chain"),
    [
        (["CPUExecutionProvider"], "auto", ["CPUExecutionProvider"]),
        (
            ["OpenVINOExecutionProvider", "CPUExecutionProvider"],
            "auto",
            ["OpenVINOExecutionProvider", "CPUExecutionProvider"],
        ),
        (
            ["DmlExecutionProvider", "OpenVINOExecutionProvider", "CPUExecutionProvider"],
            "auto",
            ["DmlExecutionProvider", "CPUExecutionProvider"],
        ),
        (
            ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
            "auto",  # TensorRT only by name: its engine build takes minutes
            ["CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
        (
            ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
            "tensorrt",
            ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
        (
            ["CUDAExecutionProvider", "CPUExecutionProvider"],
            "cpu",
            ["CPUExecutionProvider"],
        ),
    ],
)
def test_provider_chains(installed: list[str], backend: str, chain: list[str]) -> None:
    assert _providers(FakeOrt(installed), backend, "m.onnx") == chain


def test_auto_order_is_stated() -> None:
    assert AUTO_ORDER == ("cuda", "directml", "openvino", "cpu")
    assert set(BACKEND_PROVIDERS) == set(BACKENDS) - {"auto"}
    fake = FakeOrt(["OpenVINOExecutionProvider", "CPUExecutionProvider"])
    assert available_backends(fake) == ["openvino", "cpu"]


def test_missing_backend_error_names_the_installed(model: Path) -> None:
    fake = FakeOrt(["CPUExecutionProvider", "AzureExecutionProvider"])
    with pytest.raises(pixfeed.BackendError) as e:
        _providers(fake, "openvino", "m.onnx")
    assert e.value.backend == "openvino"
    assert e.value.available == ["CPUExecutionProvider", "AzureExecutionProvider"]
    assert "OpenVINOExecutionProvider" in str(e.value)
    assert "installed: CPUExecutionProvider, AzureExecutionProvider" in str(e.value)
    if MISSING:  # the real onnxruntime, a real model
        with pytest.raises(pixfeed.BackendError, match="CPUExecutionProvider"):
            pixfeed.YoloDetector(model, backend=MISSING[0])
    det = pixfeed.YoloDetector(model, backend="auto")
    assert det.providers[-1] == "CPUExecutionProvider"
    with pytest.raises(ValueError, match="backend"):
        pixfeed.YoloDetector(model, backend="vulkan")


@pytest.mark.skipif(not MISSING, reason="every backend's provider is installed")
def test_cli_unavailable_backend_exits_2(model: Path, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "images")
    r = cli(tmp_path, str(folder), "--model", str(model), "--backend", MISSING[0])
    assert r.returncode == 2, r.stderr
    assert BACKEND_PROVIDERS[MISSING[0]] in r.stderr
    for p in INSTALLED:
        assert p in r.stderr  # names what is installed
    assert "Traceback" not in r.stderr


def test_info_lists_the_providers(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pixfeed", "info", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)["onnxruntime"]
    assert facts["providers"] == INSTALLED and facts["version"] == ort.__version__
    assert facts["backends"] == available_backends()
    assert facts["auto"] in facts["backends"]
    text = subprocess.run(
        [sys.executable, "-m", "pixfeed", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=str(tmp_path),
    ).stdout
    assert all(p in text for p in INSTALLED)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "auto"])
def test_config_accepts_every_backend(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIXFEED_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "pixfeed.toml").write_text(f'backend = "{backend}"\n')
    assert load_config(cwd=tmp_path).backend == backend
