"""The CLIP model: load it from a spec, encode batches of images and (cached) texts.

Model specs:

- ``NAME:PRETRAINED`` — an open_clip architecture with a pretrained tag, e.g. the default
  ``ViT-B-32:laion2b_s34b_b79k`` (downloaded once into the Hugging Face cache);
- ``hf-hub:ORG/REPO`` — an open_clip model on the Hugging Face hub;
- ``local-dir:PATH`` — a folder with ``open_clip_config.json`` and the weights;
- ``random:NAME`` — randomly initialised weights (benchmarks and tests only: meaningless results).

Only this module, export.py and probe.py import torch and open_clip.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from photoclip.core.errors import ModelUnavailable
from photoclip.core.indexing.imageio import Preprocess
from photoclip.core.model import export
from photoclip.core.model.precision import (
    PRECISIONS,
    CalibrationCache,
    Choice,
    Measurement,
    cache_key,
    choose_cpu_precision,
    cpu_info,
    gpu_precision,
    runtime_signature,
)
from photoclip.core.model.runtime import (
    IMAGE_FP32_FILE,
    IMAGE_INT8_FILE,
    TEXT_FILE,
    ModelStore,
    OrtImageEncoder,
    TextCache,
    onnxruntime_available,
    preprocess_to_dict,
)

if TYPE_CHECKING:
    import torch
    from open_clip.model import CLIP  # (untyped: Any to mypy)
    from PIL import Image

log = logging.getLogger(__name__)

# open_clip's tokenizer: texts → (N, context length) int64 token ids
OpenClipTokenizer = Callable[[list[str]], "torch.Tensor"]

LOCAL_HELP = ("Point PhotoCLIP at a model folder on this computer instead (one holding "
              "open_clip_config.json and the weights).")
LOCAL_CLI = "(From the command line: photoclip --model local-dir:/path/to/folder.)"


def canonical_spec(spec: str) -> str:
    """The spec with a local folder made absolute, so it names the same model from anywhere."""
    spec = spec.strip()
    if spec.startswith("local-dir:"):
        return "local-dir:" + str(Path(spec[len("local-dir:"):]).expanduser().resolve())
    return spec


DEVICE_NAMES = {"cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (MPS)", "cpu": "CPU"}


def available_devices() -> list[str]:
    """The devices this computer can run the model on, best first ("cpu" always)."""
    import torch

    found: list[str] = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def pick_device(requested: str = "auto") -> str:
    """The device to run on: the best one for "auto"; a named one only if this computer has it
    (ModelUnavailable otherwise, saying which device is missing, not blaming the model)."""
    devices = available_devices()
    if requested == "auto":
        return devices[0]
    if requested not in devices:
        raise ModelUnavailable(
            f"This computer has no {DEVICE_NAMES.get(requested, repr(requested))}, but the device "
            f"setting asks for '{requested}'. Choose 'auto' or 'cpu' in Settings → Device.")
    return requested


def _gpu_bf16(device: str) -> bool:
    import torch

    return device == "cuda" and torch.cuda.is_bf16_supported()


CALIBRATION_IMAGES = 4  # per timed batch: about a second for ViT-B-32 on two cores


def calibration_batch(pre: Preprocess, n: int = CALIBRATION_IMAGES) -> npt.NDArray[np.float32]:
    """Deterministic photo-like inputs (smooth colour fields, edges, sensor noise) for timing
    and for checking a faster path against fp32; white noise would flatter int8."""
    from PIL import Image

    rng = np.random.default_rng(1234)
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((pre.size * 2, pre.size * 2),
                                           Image.Resampling.BICUBIC)
        arr = np.asarray(im).astype(np.int16) + rng.integers(-10, 11, (pre.size * 2,) * 2 + (3,))
        out.append(pre(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))))
    return np.stack(out)


def _torch_uses_the_cores() -> None:
    """Give torch's thread pool every core this process may use. torch sizes it from
    MKL_NUM_THREADS, which app.configure_threads sets to 1 for NumPy's sake: indexing in torch
    ran on one core of two (fp32 1.9× slower than rclip; 1.2× with both). A user's
    OMP_NUM_THREADS wins."""
    import torch

    if "OMP_NUM_THREADS" in os.environ:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1
    if torch.get_num_threads() < cores:
        torch.set_num_threads(cores)


class Encoder:
    """An open_clip model ready for inference. Construct with :meth:`load`.

    Texts run through torch here (the ONNX text tower in runtime.py serves searches when torch
    is not loaded). Images run through the path :mod:`precision` chose for this machine:
    torch fp32, torch with bf16/fp16 weights, or the int8 image tower in ONNX Runtime.
    """

    def __init__(self, model: CLIP, tokenizer: OpenClipTokenizer, spec: str, device: str,
                 preprocess: Preprocess, text_cache_size: int = 512):
        import torch

        self._torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = spec
        self.device = device
        self.preprocess = preprocess
        self.precision = "fp32"
        self.choice = Choice("fp32", "fp32")
        self._image_dtype = torch.float32
        self._ort_image: OrtImageEncoder | None = None
        self._trimmed = export.supports_trimming(model)
        self.logit_scale = float(model.logit_scale.exp().item())
        # (the tokenizer's: a Hugging Face text tower's model allows more than it was trained on)
        self.context_length = int(getattr(tokenizer, "context_length", 0)
                                  or getattr(model, "context_length", 0) or 77)
        self._cache = TextCache(text_cache_size)
        self.dim = (int(model.text_projection.shape[1]) if _has_text_projection(model)
                    else int(self.encode_texts(["a photo"]).shape[1]))

    @classmethod
    def load(cls, spec: str, device: str = "auto", precision: str = "auto",
             store: ModelStore | None = None,
             calibration: CalibrationCache | None = None) -> Encoder:
        """Load the model named by ``spec``; ModelUnavailable carries a sentence for the user.

        With a ``store`` (the data folder's models/), the first load of a model also exports
        its text tower (fast searches without torch) and, on a CPU, an int8 image tower;
        ``precision="auto"`` then picks the fastest faithful path for this machine, measured
        once and remembered in ``calibration``.
        """
        spec = canonical_spec(spec)
        if precision not in PRECISIONS:
            raise ModelUnavailable(f"Unknown precision '{precision}': use one of "
                                   f"{', '.join(PRECISIONS)}.")
        try:
            open_clip = _import_open_clip(spec)
            import torch  # noqa: F401 - a broken install fails here, with a clear message
        except ImportError as e:  # pragma: no cover - broken install
            raise ModelUnavailable(f"PyTorch/open_clip is not installed correctly: {e}") from None
        _torch_uses_the_cores()
        device = pick_device(device)
        name, pretrained = _parse(spec)
        try:
            with _hub_offline_unless_reachable(needs_hub=bool(pretrained) or
                                               spec.startswith("hf-hub:")):
                model, _, _ = open_clip.create_model_and_transforms(
                    name, pretrained=pretrained, device=device
                )
                tokenizer = open_clip.get_tokenizer(name)
        except ModelUnavailable:
            raise
        except Exception as e:  # any load failure becomes one clear sentence
            why = _explain_failure(spec, name, e)
            raise ModelUnavailable(why, cli_hint=LOCAL_CLI if LOCAL_HELP in why else "") from None
        model.eval()
        cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
        size = model.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else int(size)
        pre = Preprocess(
            size=size,
            mean=tuple(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)),
            std=tuple(cfg.get("std", open_clip.OPENAI_DATASET_STD)),
            resize_mode=cfg.get("resize_mode", "shortest") or "shortest",
            fill=int(cfg.get("fill_color", 0) or 0),
        )
        enc = cls(model, tokenizer, spec, device, pre)
        random_weights = spec.startswith("random:")  # a new model on every load: never cached
        if store is not None and not random_weights:
            enc._prepare(store, want_int8=device == "cpu" and precision in ("auto", "int8"))
        int8_path = store.image_int8_path(spec) if store is not None and not random_weights \
            else None
        if device == "cpu":
            cpu = cpu_info()
            key = cache_key(spec, cpu, runtime_signature())
            cache = calibration if calibration is not None and not random_weights \
                else CalibrationCache(None)
            choice = choose_cpu_precision(
                precision, cpu, int8_path is not None,
                lambda p: enc._measure(p, int8_path), cache, key)
        elif precision in ("auto", "int8"):  # (int8 is the CPU's fast path, not a GPU's)
            choice = gpu_precision(device, _gpu_bf16(device))
        else:
            choice = Choice(precision, f"{precision}: chosen in Settings")
        enc._use(choice, int8_path)
        if store is not None and not random_weights and device == "cpu" \
                and choice.precision == "fp32":
            enc._prepare(store, want_fp32=True)
        log.info("loaded model %s on %s: %s", spec, device, choice.reason)
        return enc

    # -- preparation -------------------------------------------------------------------------

    def _prepare(self, store: ModelStore, want_int8: bool = False,
                 want_fp32: bool = False) -> None:
        """Export what this model still lacks in the store (once per model and weights): the
        text tower, and the image towers asked for — int8 before the calibration, fp32 once
        it chose fp32 (indexing then needs no PyTorch from the next start on: see
        ModelHost.image_encoder)."""
        import time

        meta = store.meta(self.model_id)
        changed = False
        if "text" not in meta:
            t0 = time.monotonic()
            meta["text"] = export.export_text(self.model, self.tokenizer, self.context_length,
                                              store.folder(self.model_id) / TEXT_FILE)
            meta["text"]["seconds"] = round(time.monotonic() - t0, 1)
            changed = True
            log.info("prepared the fast text model for %s: %s", self.model_id, meta["text"])
        towers = ((want_int8, "image_int8", export.export_image_int8, IMAGE_INT8_FILE),
                  (want_fp32, "image_fp32", export.export_image_fp32, IMAGE_FP32_FILE))
        for wanted, key, exporter, file in towers:
            if not wanted or key in meta or not onnxruntime_available():
                continue
            t0 = time.monotonic()
            log.warning("preparing %s for fast indexing on this computer (once, a few "
                        "seconds)…", self.model_id)
            meta[key] = exporter(self.model, self.preprocess.size,
                                 store.folder(self.model_id) / file)
            meta[key]["seconds"] = round(time.monotonic() - t0, 1)
            changed = True
        pre = preprocess_to_dict(self.preprocess)
        if meta.get("preprocess") != pre:  # (what indexing without torch needs to know)
            meta["preprocess"] = pre
            changed = True
        if changed:
            meta.update(dim=self.dim, context_length=self.context_length,
                        logit_scale=self.logit_scale)
            try:
                store.write_meta(self.model_id, meta)
            except OSError as e:
                log.warning("could not save the prepared model files: %s", e)

    def _measure(self, precision: str, int8_path: Path | None) -> Measurement:
        """Time one precision on the calibration batch and compare it with fp32."""
        import copy
        import time

        torch = self._torch
        batch = calibration_batch(self.preprocess)
        run: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]
        if precision == "int8":
            run = OrtImageEncoder(_int8_tower(int8_path), torch.get_num_threads())
        else:
            dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
            visual = self.model.visual if precision == "fp32" else \
                copy.deepcopy(self.model.visual).to(dtype)

            def run_torch(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
                with torch.inference_mode():
                    f = visual(torch.from_numpy(x).to(self.device, dtype=dtype)).float()
                    out: npt.NDArray[np.float32] = \
                        torch.nn.functional.normalize(f, dim=-1).cpu().numpy()
                    return out

            run = run_torch

        run(batch[:1])  # warm-up: first-call allocations and kernel selection
        best = float("inf")
        for _ in range(2):  # (``out``: the second run's embeddings)
            t0 = time.perf_counter()
            out = run(batch)
            best = min(best, time.perf_counter() - t0)
        if precision == "fp32":
            self._reference = out
            cos = 1.0
        else:
            if getattr(self, "_reference", None) is None:
                self._measure("fp32", None)
            ref = self._reference
            cos = float((out * ref).sum(axis=1).min())
        return Measurement(best / len(batch), cos)

    def _use(self, choice: Choice, int8_path: Path | None) -> None:
        torch = self._torch
        self.choice = choice
        self.precision = choice.precision
        self.__dict__.pop("_reference", None)
        if choice.precision == "int8":
            self._ort_image = OrtImageEncoder(_int8_tower(int8_path), torch.get_num_threads())
            self.model.visual = None  # the int8 tower replaces it: free its memory
        elif choice.precision in ("bf16", "fp16"):
            # Only the image tower: it does the bulk work; text stays fp32 for query fidelity.
            self._image_dtype = torch.bfloat16 if choice.precision == "bf16" else torch.float16
            self.model.visual.to(self._image_dtype)

    # -- encoding ----------------------------------------------------------------------------

    def encode_images(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(N, 3, S, S) preprocessed float32 → (N, D) L2-normalised float32 embeddings."""
        if self._ort_image is not None:
            return self._ort_image(batch)
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, dtype=self._image_dtype)
            feats = self.model.encode_image(x).float()
            feats = torch.nn.functional.normalize(feats, dim=-1)
        out: npt.NDArray[np.float32] = feats.cpu().numpy()
        return out

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Texts → (N, D) L2-normalised float32 embeddings; recent texts come from a cache."""
        return self._cache.encode(texts, self._encode_texts)

    def _encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        torch = self._torch
        with torch.inference_mode():
            tokens = self.tokenizer(texts).to(self.device)
            if self._trimmed:  # exact: the causal tower never looks past end-of-text
                tokens = tokens[:, :int(tokens.argmax(dim=-1).max()) + 1]
                feats = export.trimmed_text_forward(self.model, tokens)
            else:
                feats = self.model.encode_text(tokens)
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        out: npt.NDArray[np.float32] = feats.cpu().numpy()
        return out

    def encode_pil(self, images: Iterable[Image.Image]) -> npt.NDArray[np.float32]:
        return self.encode_images(np.stack([self.preprocess(im) for im in images]))


def _import_open_clip(spec: str) -> Any:
    """open_clip, imported without Hugging Face transformers unless ``spec`` needs it.

    open_clip imports transformers whenever it is installed (1.2 s of every model load,
    measured here), though only Hugging Face text towers and tokenizers (the multilingual
    model's XLM-RoBERTa, SigLIP's) use it: for any other model it is kept out while open_clip
    loads. A model loaded later in the same process that needs it gets it: open_clip's
    hf_model is run again, and its classes (already referenced elsewhere in open_clip) then
    find transformers in their module."""
    import importlib
    import sys

    needs = _needs_transformers(spec)
    if "open_clip" in sys.modules:
        import open_clip

        if needs and getattr(open_clip.hf_model, "transformers", None) is None:
            importlib.reload(open_clip.hf_model)
        return open_clip
    keep_out = not needs and "transformers" not in sys.modules
    if keep_out:
        sys.modules["transformers"] = None  # type: ignore[assignment]  # (import fails fast)
    try:
        import open_clip
    finally:
        if keep_out and "transformers" in sys.modules and sys.modules["transformers"] is None:
            del sys.modules["transformers"]
    return open_clip


def _needs_transformers(spec: str) -> bool:
    """Whether ``spec``'s text tower or tokenizer comes from transformers, read from its
    config without importing open_clip; True when that cannot be told (hf-hub:, unknown)."""
    import json

    from photoclip.core.model.tokenizer import open_clip_file

    name = ""
    if spec.startswith("local-dir:"):
        path: Path | None = Path(spec[len("local-dir:"):]) / "open_clip_config.json"
    elif spec.startswith("hf-hub:"):
        return True
    else:
        name = spec[len("random:"):] if spec.startswith("random:") else spec.split(":")[0]
        path = open_clip_file(f"model_configs/{name}.json")
    if path is None:
        return True
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    text = (cfg.get("model_cfg", cfg) or {}).get("text_cfg") or {}
    return bool(text.get("hf_model_name") or text.get("hf_tokenizer_name")) \
        or "siglip" in name.lower()


def _int8_tower(path: Path | None) -> Path:
    """The int8 image tower's file. Only chosen or measured where one was prepared (the
    precision logic offers int8 only then), so a missing one is a bug, said plainly."""
    if path is None:
        raise ValueError("int8 precision without a prepared int8 image tower")
    return path


@contextmanager
def _hub_offline_unless_reachable(needs_hub: bool) -> Iterator[None]:
    """When the Hugging Face hub cannot be reached, use its cache only: the hub client would
    otherwise retry for about a minute before saying the same thing."""
    if not needs_hub or _hub_reachable():
        yield
        return
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    saved = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved


def _hub_reachable(timeout: float = 3.0) -> bool:
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("//")[-1].split("/")[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _has_text_projection(model: CLIP) -> bool:
    tp = getattr(model, "text_projection", None)
    return tp is not None and hasattr(tp, "shape") and len(tp.shape) == 2


def check_spec(spec: str) -> str:
    """The canonical spec, or ModelUnavailable when it cannot name a model (bad syntax, a
    local folder that is missing or holds no model) — checked without loading anything."""
    spec = canonical_spec(spec)
    _parse(spec)
    return spec


def _parse(spec: str) -> tuple[str, str | None]:
    if spec.startswith("local-dir:"):
        path = Path(spec[len("local-dir:"):])
        if not path.is_dir():
            raise ModelUnavailable(f"The model folder {path} does not exist. {LOCAL_HELP}",
                                   cli_hint=LOCAL_CLI)
        if not (path / "open_clip_config.json").is_file():
            raise ModelUnavailable(
                f"The folder {path} is not an open_clip model: it has no open_clip_config.json. "
                f"{LOCAL_HELP}", cli_hint=LOCAL_CLI)
        return spec, None
    if spec.startswith("hf-hub:"):
        return spec, None
    if spec.startswith("random:"):
        return spec[len("random:"):], None
    if ":" in spec:
        name, tag = spec.split(":", 1)
        if name.strip() and tag.strip():
            return name, tag
    raise ModelUnavailable(
        f"'{spec}' is not a model spec. Use NAME:PRETRAINED (e.g. ViT-B-32:laion2b_s34b_b79k), "
        "hf-hub:ORG/REPO, or local-dir:PATH."
    )


def _explain_failure(spec: str, name: str, err: Exception) -> str:
    full = f"{type(err).__name__}: {err}"
    if "weights_only" in full or "Weights only load failed" in full:
        # torch refused a pickled checkpoint (it could run code); never suggest loading it
        return (f"The weights of {spec} are in an unsafe format (a Python pickle, which can run "
                "code when loaded), so PhotoCLIP does not load them. Use a model folder whose "
                "weights are in safetensors format (open_clip_model.safetensors).")
    text = _first_sentence(full)
    net = any(w in text.lower() for w in (
        "connect", "resolve", "offline", "network", "timed out", "localentrynotfound",
        "cannot find the requested files", "max retries", "name or service", "hub",
    ))
    if net and not spec.startswith("local-dir:"):
        return (f"The model {spec} is not on this computer and could not be downloaded "
                f"(no internet connection?). {LOCAL_HELP}")
    if "Unknown model" in text or ("not found" in text.lower() and name in text):
        return f"open_clip does not know the model '{name}'. {LOCAL_HELP}"
    return f"The model {spec} could not be loaded ({text}). {LOCAL_HELP}"


def _first_sentence(text: str, limit: int = 300) -> str:
    """The error's first line, cut at a word boundary with an ellipsis when too long."""
    line = text.strip().splitlines()[0] if text.strip() else text
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"

