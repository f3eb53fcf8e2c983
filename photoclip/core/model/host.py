"""The library's CLIP model: loaded on first use, switched only to a model known to load.

A search needs only the text tower: when the model was exported (core/model/export.py), the
ONNX text tower answers queries without torch, so a cold search starts in about a second.
Photos are encoded by the int8 image tower, also without torch, where this machine chose int8
(measured once, when the model was first loaded); otherwise by the torch model.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from photoclip.config import Settings
from photoclip.core.errors import ModelUnavailable, for_gui
from photoclip.core.model.encoder import Encoder, canonical_spec, check_spec
from photoclip.core.model.precision import (
    CALIBRATION_FILE,
    CalibrationCache,
    Choice,
    cache_key,
    cpu_info,
    gpu_driver_present,
    runtime_signature,
)
from photoclip.core.model.protocols import ImageEncoder, TextEncoder
from photoclip.core.model.runtime import MODELS_DIR, ModelStore, OrtImageModel

log = logging.getLogger(__name__)

class EncoderLoader(Protocol):
    """How the host loads a model: ``Encoder.load`` (tests pass stand-ins)."""

    def __call__(self, spec: str, *, device: str, precision: str, store: ModelStore,
                 calibration: CalibrationCache) -> Encoder: ...


class ModelHost:
    """Which CLIP model the library uses, whether it can be loaded, and the model itself."""

    def __init__(self, home: Path, settings: Settings, spec: str,
                 loader: EncoderLoader = Encoder.load):
        self.home = home
        self.settings = settings
        self.spec = canonical_spec(spec)
        self.store = ModelStore(home / MODELS_DIR)
        self.calibration = CalibrationCache(home / CALIBRATION_FILE)
        self._loader = loader
        self._encoder: Encoder | None = None
        self._fast_text: TextEncoder | None = None  # the exported text tower, if prepared
        self._fast_text_checked = False
        self._light: OrtImageModel | None = None  # the int8 image tower, without torch
        self._light_checked = False
        self._error: str | None = None  # why the model cannot be loaded (CLI words)
        self.problem: str | None = None  # the same for a window (no commands to type)
        # Separate locks: a search must not wait for the (seconds-long) model load to answer
        # from the exported text tower.
        self._load_lock = threading.RLock()  # the torch model
        self._text_lock = threading.Lock()  # the exported text tower

    @property
    def id(self) -> str:
        """The model's id, e.g. ``open_clip:ViT-B-32/laion2b_s34b_b79k`` (what vectors are
        stored under)."""
        return self.spec

    @property
    def encoder(self) -> Encoder:
        """The CLIP model, loaded on first use. Raises ModelUnavailable with a user message."""
        with self._load_lock:
            if self._encoder is None:
                try:
                    self._encoder = self._loader(
                        self.spec, device=self.settings.device,
                        precision=self.settings.precision, store=self.store,
                        calibration=self.calibration)
                except ModelUnavailable as e:
                    self._error = str(e)
                    self.problem = for_gui(e)
                    log.info("model %s cannot be loaded: %s", self.spec, e)
                    raise
                self._error = self.problem = None
                with self._text_lock:  # the load may just have prepared the text tower
                    if self._fast_text is None:
                        self._fast_text_checked = False
            return self._encoder

    def image_encoder(self) -> ImageEncoder:
        """What encodes photos: the int8 or fp32 image tower in ONNX Runtime when this machine
        encodes in that precision on its CPU and the tower is prepared — torch is not loaded
        then — else the model itself (loaded: ModelUnavailable when it cannot be)."""
        with self._load_lock:
            if self._encoder is not None:
                return self._encoder
            if not self._light_checked:
                self._light_checked = True
                self._light = self._light_image_model()
            return self._light if self._light is not None else self.encoder

    def image_encoder_if_ready(self) -> ImageEncoder | None:
        """:meth:`image_encoder`, or None when the model cannot be loaded (a failed load is
        not tried again: see :meth:`ready`)."""
        with self._load_lock:
            if self._encoder is None and not self._light_checked:
                self._light_checked = True
                self._light = self._light_image_model()
            if self._light is not None and self._encoder is None:
                return self._light
            return self.encoder if self.ready() else None

    def _light_image_model(self) -> OrtImageModel | None:
        s = self.settings
        if self._loader != Encoder.load:  # (a classmethod: equal, never the same object)
            return None  # a caller's own loader (a test's counting encoder) is what encodes
        if s.precision not in ("auto", "int8", "fp32") or s.device not in ("auto", "cpu") \
                or (s.device == "auto" and gpu_driver_present()):
            return None  # (a GPU, or a precision only torch runs)
        if s.precision != "auto":
            choice = Choice(s.precision, f"{s.precision}: chosen in Settings")
        else:
            known = self.calibration.get(cache_key(self.spec, cpu_info(), runtime_signature()))
            if known is None or known.precision not in ("int8", "fp32"):
                return None  # (measured once, by loading the model)
            choice = known
        light = self.store.image_model(self.spec, choice, os.cpu_count() or 1)
        if light is not None:
            log.info("encoding photos with %s's %s image tower (ONNX Runtime, no PyTorch)",
                     self.spec, choice.precision)
        return light

    def encoding_reason(self) -> str:
        """How photos are being encoded, and why (after :meth:`image_encoder`)."""
        used = self._encoder or self._light
        return used.choice.reason if used is not None else "the model, not loaded yet"

    @property
    def loaded(self) -> Encoder | None:
        """The model when it is loaded already (never loads)."""
        return self._encoder

    def _fast_text_encoder(self) -> TextEncoder | None:
        with self._text_lock:
            if not self._fast_text_checked:
                self._fast_text_checked = True
                self._fast_text = self.store.text_encoder(self.spec)
            return self._fast_text

    def text_encoder(self) -> TextEncoder:
        """What turns a query into a vector: the exported text tower when this model has one
        (no torch: a cold search starts in about a second), else the model itself."""
        fast = self._fast_text_encoder()
        return fast if fast is not None else self.encoder

    def search_ready(self, retry: bool = False) -> bool:
        """Whether text searches can be answered now (loading what they need)."""
        return self._fast_text_encoder() is not None or self.ready(retry)

    def known_dim(self) -> int | None:
        """The vector size when it is known without loading anything."""
        if self._encoder is not None:
            return self._encoder.dim
        known = self.store.meta(self.spec).get("dim")
        return known if isinstance(known, int) else None

    def dim(self) -> int:
        known = self.known_dim()
        if known is not None:  # (without waiting for the text tower's session)
            return known
        fast = self._fast_text_encoder()
        return fast.dim if fast is not None else self.encoder.dim

    def ready(self, retry: bool = False) -> bool:
        """Load the model if possible; False (with :attr:`error`) when it cannot be.
        A failed load is not tried again (it can take seconds) unless ``retry``."""
        with self._load_lock:
            if self._encoder is not None:
                return True
            if self._error is not None and not retry:
                return False
            try:
                self.encoder  # noqa: B018 - loads it
            except ModelUnavailable:
                return False
            return True

    @property
    def error(self) -> str | None:
        """Why the model cannot be loaded, in the command line's words (None: no failure)."""
        return self._error

    @property
    def state(self) -> str:
        """"ready" (searches can be answered), "none" (the model failed to load: see
        :attr:`error`) or "loading" (not tried or not finished yet). Never loads."""
        if self._encoder is not None or self._fast_text is not None:
            return "ready"
        return "none" if self._error is not None else "loading"

    def try_load(self, spec: str, device: str | None = None,
                 precision: str | None = None) -> Encoder:
        """Load a model without switching to it (what Settings does before applying a change:
        the library keeps its working model until the new one is known to load).
        Raises ModelUnavailable with the sentence to show."""
        try:
            return self._loader(
                check_spec(spec), device=device or self.settings.device,
                precision=precision or self.settings.precision, store=self.store,
                calibration=self.calibration)
        except ModelUnavailable as e:
            log.info("model %s (device %s, precision %s) cannot be used: %s", spec,
                     device or self.settings.device, precision or self.settings.precision, e)
            raise

    def switch(self, spec: str, device: str | None = None, precision: str | None = None,
               encoder: Encoder | None = None) -> bool:
        """Use another model, device or precision (saved in settings). ``encoder``: that
        model already loaded (by :meth:`try_load`). A failed earlier load is forgotten: the
        next use tries again, so setting a working value back recovers without a restart.
        Returns whether the model itself changed (its vectors are not the old ones)."""
        with self._load_lock:
            spec = canonical_spec(spec)
            changed = spec != self.spec
            self.spec = spec
            self.settings.model = spec
            self.settings.device = device or self.settings.device
            self.settings.precision = precision or self.settings.precision
            self.settings.save(self.home)
            self._encoder = encoder
            self._light, self._light_checked = None, False
            self._error = self.problem = None
            with self._text_lock:
                self._fast_text, self._fast_text_checked = None, False
            return changed

    def measured_speed(self) -> tuple[str, float] | None:
        """(spec, photos per second) of the model in use, as measured on this computer when
        its precision was chosen; None before that (nothing is loaded to find out)."""
        choice = self._encoder.choice if self._encoder is not None else \
            self.calibration.get(cache_key(self.spec, cpu_info(), runtime_signature()))
        if choice is None or choice.precision not in choice.timings:
            return None
        return self.spec, float(choice.timings[choice.precision])

    def encoding_info(self) -> dict[str, str]:
        """How photos are encoded and queries answered, and why, without loading the model:
        ``precision``/``precision_why`` (when known) and ``fast_search``."""
        out: dict[str, str] = {}
        if self._encoder is not None:
            out["precision"] = self._encoder.precision
            out["precision_why"] = self._encoder.choice.reason
        elif self.settings.precision == "auto":
            known = self.calibration.get(cache_key(self.spec, cpu_info(), runtime_signature()))
            if known is not None:
                out["precision"] = known.precision
                out["precision_why"] = known.reason
        text = self.store.meta(self.spec).get("text") or {}
        out["fast_search"] = ("ready (exported text tower, ONNX Runtime)" if text.get("ok")
                              else f"off: {text['why']}" if "why" in text
                              else "prepared when the model is first loaded (photoclip index)")
        return out
