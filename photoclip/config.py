"""Where PhotoCLIP keeps its data and which settings it runs with.

The data folder is platformdirs' user data dir, or ``PHOTOCLIP_HOME`` when set (tests always set
it). Settings live in ``settings.json`` inside it. Nothing is read at import time: call
:func:`data_home` and :meth:`Settings.load` when you need them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

APP_NAME = "PhotoCLIP"
DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
SETTINGS_FILE = "settings.json"


def data_home() -> Path:
    """The folder holding the catalog, the index and the settings: ``PHOTOCLIP_HOME`` if set,
    else the folder chosen in Settings (see :func:`set_data_home`), else the platform default."""
    env = os.environ.get("PHOTOCLIP_HOME")
    if env:
        return Path(env).expanduser().resolve()
    try:
        chosen = _location_file().read_text(encoding="utf-8").strip()
    except OSError:
        chosen = ""
    if chosen:
        return Path(chosen)
    return default_data_home()


def default_data_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def set_data_home(path: Path | None) -> None:
    """Remember another data folder (None: back to the default). Takes effect on next start."""
    loc = _location_file()
    if path is None:
        loc.unlink(missing_ok=True)
        return
    loc.parent.mkdir(parents=True, exist_ok=True)
    loc.write_text(str(Path(path).expanduser().resolve()), encoding="utf-8")


def _location_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "location.txt"


def cache_home() -> Path:
    """The folder for disposable data (thumbnails)."""
    env = os.environ.get("PHOTOCLIP_HOME")
    if env:
        return Path(env).expanduser().resolve() / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


@dataclass
class Settings:
    """User settings, persisted as JSON. Unknown keys in the file are ignored."""

    model: str = DEFAULT_MODEL
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    batch_size: int = 32
    decode_threads: int = 0  # 0 = pick from the CPU count
    thumbnail_size: int = 192
    watch_at_login: bool = False

    @classmethod
    def load(cls, home: Path) -> Settings:
        path = home / SETTINGS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def save(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        path = home / SETTINGS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)


def resolve_model_spec(explicit: str | None, settings: Settings) -> str:
    """The model to use: ``--model`` beats ``PHOTOCLIP_MODEL`` beats the saved setting."""
    return explicit or os.environ.get("PHOTOCLIP_MODEL") or settings.model
