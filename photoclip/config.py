"""Where PhotoCLIP keeps its data and which settings it runs with.

The data folder is platformdirs' user data dir, or ``PHOTOCLIP_HOME`` when set (tests always set
it). Settings live in ``settings.json`` inside it. Nothing is read at import time: call
:func:`data_home` and :meth:`Settings.load` when you need them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "PhotoCLIP"
DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
SETTINGS_FILE = "settings.json"

log = logging.getLogger("photoclip.config")


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


# What each setting may hold: (check, what to say when it does not). A value that fails is
# replaced by its default and the problem is reported (Settings.problems), never ignored.
_VALID: dict[str, tuple[Callable[[object], bool], str]] = {  # setting: (check, what it takes)
    "model": (lambda v: isinstance(v, str) and bool(v.strip()), "a model spec"),
    "device": (lambda v: v in ("auto", "cpu", "cuda", "mps"), "auto, cpu, cuda or mps"),
    "precision": (lambda v: v in ("auto", "fp32", "bf16", "fp16", "int8"),
                  "auto, fp32, int8, bf16 or fp16"),
    "batch_size": (lambda v: type(v) is int and 1 <= v <= 1024, "a whole number from 1 to 1024"),
    "decode_threads": (lambda v: type(v) is int and 0 <= v <= 64,
                       "a whole number from 0 (automatic) to 64"),
    "thumbnail_size": (lambda v: type(v) is int and 32 <= v <= 1024,
                       "a whole number from 32 to 1024"),
    "watch_at_login": (lambda v: type(v) is bool, "true or false"),
}


@dataclass
class Settings:
    """User settings, persisted as JSON. Unknown keys in the file are kept out (and said)."""

    model: str = DEFAULT_MODEL
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto | fp32 | int8 | bf16 | fp16
    batch_size: int = 32
    decode_threads: int = 0  # 0 = pick from the CPU count
    thumbnail_size: int = 192
    watch_at_login: bool = False
    problems: list[str] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def load(cls, home: Path) -> Settings:
        """The saved settings. A damaged file is set aside and the defaults used; a value of
        the wrong type or out of range falls back to its default. Either way ``problems``
        says what happened, in sentences, and the log says it too."""
        path = home / SETTINGS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as e:
            return cls._damaged(path, f"cannot be read ({getattr(e, 'strerror', None) or e})",
                                set_aside=False)
        except ValueError as e:
            return cls._damaged(path, f"is not valid JSON ({e})")
        if not isinstance(raw, dict):
            return cls._damaged(path, f"holds a JSON {type(raw).__name__}, not settings")
        settings, problems = cls(), []
        for key, value in raw.items():
            if key not in _VALID:
                problems.append(f"{SETTINGS_FILE}: unknown setting '{key}' ignored")
                continue
            ok, expected = _VALID[key]
            if ok(value):
                setattr(settings, key, value)
            else:
                problems.append(f"{SETTINGS_FILE}: '{key}' is {json.dumps(value)}, not "
                                f"{expected}; using {json.dumps(getattr(settings, key))}")
        for p in problems:
            log.warning(p)
        settings.problems = problems
        return settings

    @classmethod
    def _damaged(cls, path: Path, why: str, set_aside: bool = True) -> Settings:
        msg = f"{path} {why}: using the default settings"
        if set_aside:
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(path, aside)
                msg += f" (the damaged file is kept as {aside.name})"
            except OSError:
                pass
        log.warning(msg)
        return cls(problems=[msg])

    def save(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        path = home / SETTINGS_FILE
        tmp = path.with_name(f"{SETTINGS_FILE}.{os.getpid()}.tmp")
        data = {k: v for k, v in asdict(self).items() if k != "problems"}
        try:
            tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except BaseException:  # (a full disk: no half-written file left behind)
            tmp.unlink(missing_ok=True)
            raise


def resolve_model_spec(explicit: str | None, settings: Settings) -> str:
    """The model to use: ``--model`` beats ``PHOTOCLIP_MODEL`` beats the saved setting."""
    return explicit or os.environ.get("PHOTOCLIP_MODEL") or settings.model
