"""The models PhotoCLIP offers by name: what the first run, Settings and ``photoclip models``
show a user choosing one — which languages it understands, how much it downloads, how good
and how fast it is — and which one to suggest for the system's language.

Any other open_clip model still works by its spec (``NAME:PRETRAINED``, ``hf-hub:ORG/REPO``,
``local-dir:PATH``): "Other…" in the picker, ``--model`` on the command line.

The facts are stated, not measured on the user's computer (nothing is downloaded to choose):
the download is the size of the weights file, quality the zero-shot ImageNet top-1 accuracy
open_clip's results table (and Apple's, for MobileCLIP2) publishes, and ``cpu_speed`` each
image tower's photos per second relative to the standard model's, measured in torch fp32 on
two cores of an Intel Xeon (ViT-B/32 28.7, MobileCLIP2-S0 20.0, ViT-L/14 1.5 photos/s; in
bf16 109.7, 29.8 and 7.6). Speed on this computer is estimated from the speed measured for
the model in use (see :func:`speed`).
"""

from __future__ import annotations

import locale
import os
from dataclasses import asdict, dataclass
from typing import Any

from photoclip.config import DEFAULT_MODEL


@dataclass(frozen=True)
class ModelChoice:
    key: str  # a short name: "default", "multilingual", "large", "small"
    spec: str
    title: str
    languages: str
    multilingual: bool
    download_mb: int
    cpu_speed: float  # photos per second on a CPU, relative to the standard model
    imagenet: float  # zero-shot ImageNet top-1, %
    suits: str  # what computer it suits
    about: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CHOICES: tuple[ModelChoice, ...] = (
    ModelChoice("default", DEFAULT_MODEL, "Standard (ViT-B/32)", "English", False, 605, 1.0,
                66.6, "any computer",
                "The default: quick on any computer, good for everyday searches in English."),
    ModelChoice("multilingual", "xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k",
                "Multilingual (ViT-B/32, XLM-RoBERTa)",
                "about 100 languages (中文, 日本語, русский, العربية, Deutsch, español …)",
                True, 1465, 1.0, 62.3, "any computer",
                "Searches in your own language: the same image tower as the standard model "
                "with a text tower that reads about 100 languages. A little less precise in "
                "English."),
    ModelChoice("large", "ViT-L-14:laion2b_s32b_b82k", "Large (ViT-L/14)", "English", False,
                1710, 0.052, 75.3, "a computer with a GPU",
                "The most precise here, and about 19 times slower on a CPU: indexing a large "
                "library there takes a day."),
    ModelChoice("small", "MobileCLIP2-S0:dfndr2b", "Small (MobileCLIP2-S0)", "English", False,
                300, 0.70, 71.5, "any computer, little memory",
                "Half the download and memory of the standard model, and more precise on "
                "ImageNet; on a PC's processor it indexes a little slower (its FastViT image "
                "tower suits phones' and Apple's chips)."),
)


def find(spec: str) -> ModelChoice | None:
    """The offered model ``spec`` names, or None (another open_clip model, a local folder)."""
    spec = spec.strip()
    return next((c for c in CHOICES if c.spec == spec), None)


def by_key(key: str) -> ModelChoice:
    return next(c for c in CHOICES if c.key == key)


def system_language(env: dict[str, str] | None = None) -> str:
    """The system's language as a two-letter code ("en", "zh", …), from the environment a
    desktop session sets (LC_ALL, LC_MESSAGES, LANG, LANGUAGE), else the locale; "en" when
    nothing says ("C", "POSIX")."""
    env = dict(os.environ) if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            return _code(value.split(":")[0])
    try:
        found = locale.getlocale()[0] or ""
    except ValueError:
        found = ""
    return _code(found)


def _code(name: str) -> str:
    code = name.split(".")[0].split("_")[0].split("-")[0].lower()
    return "en" if code in ("", "c", "posix") else code


def suggested(language: str) -> tuple[ModelChoice, str]:
    """The model to offer first for a system in ``language``, and why in one sentence."""
    if language == "en":
        return by_key("default"), "The standard model understands English searches."
    multi = by_key("multilingual")
    return multi, (f"Your system's language is {_LANGUAGE_NAMES.get(language, language)}: "
                   f"the multilingual model understands searches in it (the standard model "
                   f"understands English only).")


_LANGUAGE_NAMES = {"zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian",
                   "ar": "Arabic", "de": "German", "fr": "French", "es": "Spanish",
                   "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "pl": "Polish",
                   "tr": "Turkish", "uk": "Ukrainian", "hi": "Hindi", "sv": "Swedish",
                   "cs": "Czech", "el": "Greek", "he": "Hebrew", "fa": "Persian",
                   "vi": "Vietnamese", "th": "Thai", "id": "Indonesian"}


def speed(choice: ModelChoice, measured: tuple[str, float] | None) -> str:
    """How fast ``choice`` indexes here, in words: measured when it is the model in use,
    else estimated from the measured one's photos per second and the two models' relative
    speeds; without a measurement, compared with the standard model."""
    if measured is not None:
        spec, per_second = measured
        if spec == choice.spec:
            return f"{per_second:.0f} photos/s on this computer (measured)"
        here = find(spec)
        if here is not None and per_second > 0:
            estimate = per_second * choice.cpu_speed / here.cpu_speed
            return f"about {estimate:.0f} photos/s on this computer's processor (estimated)"
    if choice is CHOICES[0]:
        return "measured on this computer when it is first used"
    ratio = choice.cpu_speed / CHOICES[0].cpu_speed
    if ratio < 1 / 1.5:
        return f"about {1 / ratio:.0f} times slower than the standard model on a processor"
    if ratio > 1.5:
        return f"about {ratio:.0f} times faster than the standard model"
    if ratio < 0.9:
        return "a little slower than the standard model on a processor"
    return "about as fast as the standard model"
