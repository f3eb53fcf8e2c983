"""The CLIP model: load it from a spec, encode batches of images and (cached) texts.

Model specs:

- ``NAME:PRETRAINED`` — an open_clip architecture with a pretrained tag, e.g. the default
  ``ViT-B-32:laion2b_s34b_b79k`` (downloaded once into the Hugging Face cache);
- ``hf-hub:ORG/REPO`` — an open_clip model on the Hugging Face hub;
- ``local-dir:PATH`` — a folder with ``open_clip_config.json`` and the weights;
- ``random:NAME`` — randomly initialised weights (benchmarks and tests only: meaningless results).

Only this module (and the probe) imports torch and open_clip.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from photoclip.core.errors import ModelUnavailable
from photoclip.core.imageio import Preprocess

log = logging.getLogger(__name__)

LOCAL_HELP = (
    "Point PhotoCLIP at a model folder on this computer instead "
    "(a folder holding open_clip_config.json and the weights): "
    "photoclip --model local-dir:/path/to/folder …, or choose it in Settings."
)


def canonical_spec(spec: str) -> str:
    """The spec with a local folder made absolute, so it names the same model from anywhere."""
    spec = spec.strip()
    if spec.startswith("local-dir:"):
        return "local-dir:" + str(Path(spec[len("local-dir:"):]).expanduser().resolve())
    return spec


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def pick_precision(device: str, requested: str = "auto") -> str:
    """fp16 on GPUs; bf16 weights on CPU (measured faster than fp32 and faithful, see bench/);
    fp32 whenever asked for."""
    if requested != "auto":
        return requested
    if device == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device == "mps":
        return "fp16"
    return "bf16"


class Encoder:
    """An open_clip model ready for inference. Construct with :meth:`load`."""

    def __init__(self, model, tokenizer, spec: str, device: str, precision: str,
                 preprocess: Preprocess, text_cache_size: int = 512):
        import torch

        self._torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = spec
        self.device = device
        self.precision = precision
        self.preprocess = preprocess
        self.dim = int(model.text_projection.shape[1]) if _has_text_projection(model) else None
        self.logit_scale = float(model.logit_scale.exp().item())
        self._image_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16,
                             "fp16": torch.float16}[precision]
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._text_cache_size = text_cache_size
        self._text_lock = threading.Lock()
        if self.dim is None:
            self.dim = int(self.encode_texts(["a photo"]).shape[1])

    @classmethod
    def load(cls, spec: str, device: str = "auto", precision: str = "auto") -> Encoder:
        """Load the model named by ``spec``; ModelUnavailable carries a sentence for the user."""
        spec = canonical_spec(spec)
        try:
            import open_clip
            import torch
        except ImportError as e:  # pragma: no cover - broken install
            raise ModelUnavailable(f"PyTorch/open_clip is not installed correctly: {e}") from None
        device = pick_device(device)
        precision = pick_precision(device, precision)
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
            raise ModelUnavailable(_explain_failure(spec, name, e)) from None
        model.eval()
        if precision != "fp32":
            # Cast only the image tower: it does the bulk work; text stays fp32 for query fidelity.
            dtype = torch.bfloat16 if precision == "bf16" else torch.float16
            model.visual.to(dtype)
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
        log.info("loaded model %s on %s (%s)", spec, device, precision)
        return cls(model, tokenizer, spec, device, precision, pre)

    # -- encoding ----------------------------------------------------------------------------

    def encode_images(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) preprocessed float32 → (N, D) L2-normalised float32 embeddings."""
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, dtype=self._image_dtype)
            feats = self.model.encode_image(x).float()
            feats = torch.nn.functional.normalize(feats, dim=-1)
        return feats.cpu().numpy()

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts → (N, D) L2-normalised float32 embeddings; recent texts come from a cache."""
        torch = self._torch
        with self._text_lock:
            found = {t: self._text_cache[t] for t in texts if t in self._text_cache}
            for t in found:
                self._text_cache.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            with torch.inference_mode():
                tokens = self.tokenizer(missing).to(self.device)
                feats = _encode_text_trimmed(self.model, tokens)
                if feats is None:
                    feats = self.model.encode_text(tokens)
                feats = feats.float()
                feats = torch.nn.functional.normalize(feats, dim=-1).cpu().numpy()
            fresh = dict(zip(missing, feats, strict=True))
            found.update(fresh)
            with self._text_lock:
                self._text_cache.update(fresh)
                while len(self._text_cache) > self._text_cache_size:
                    self._text_cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def encode_pil(self, images) -> np.ndarray:
        return self.encode_images(np.stack([self.preprocess(im) for im in images]))


@contextmanager
def _hub_offline_unless_reachable(needs_hub: bool):
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


def _encode_text_trimmed(model, tokens):
    """CLIP's text tower run on the tokens up to the end-of-text token only.

    The tokenizer pads every text to the context length (77), but the text transformer is
    causal and pools at the end-of-text token, so the padding after it cannot change the
    result: cutting it is exact, and a short query costs several times less. Returns None for
    towers where this does not hold (non-causal, other pooling, Hugging Face text towers).
    """
    import torch
    from open_clip.model import CLIP

    if type(model) is not CLIP or getattr(model, "attn_mask", None) is None:
        return None
    pool = getattr(model, "text_pool_type", "argmax")
    if pool == "argmax":
        pos = tokens.argmax(dim=-1)
    elif pool == "eos" and getattr(model, "text_eos_id", None) is not None:
        pos = (tokens == model.text_eos_id).int().argmax(dim=-1)
    else:
        return None
    length = int(pos.max()) + 1
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens[:, :length]).to(cast)
    x = x + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), pos]
    proj = model.text_projection
    if proj is None:
        return x
    return proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj


def _has_text_projection(model) -> bool:
    tp = getattr(model, "text_projection", None)
    return tp is not None and hasattr(tp, "shape") and len(tp.shape) == 2


def _parse(spec: str) -> tuple[str, str | None]:
    if spec.startswith("local-dir:"):
        path = Path(spec[len("local-dir:"):])
        if not path.is_dir():
            raise ModelUnavailable(f"The model folder {path} does not exist. {LOCAL_HELP}")
        if not (path / "open_clip_config.json").is_file():
            raise ModelUnavailable(
                f"The folder {path} is not an open_clip model: it has no open_clip_config.json. "
                f"{LOCAL_HELP}"
            )
        return spec, None
    if spec.startswith("hf-hub:"):
        return spec, None
    if spec.startswith("random:"):
        return spec[len("random:"):], None
    if ":" in spec:
        name, tag = spec.split(":", 1)
        return name, tag
    raise ModelUnavailable(
        f"'{spec}' is not a model spec. Use NAME:PRETRAINED (e.g. ViT-B-32:laion2b_s34b_b79k), "
        "hf-hub:ORG/REPO, or local-dir:PATH."
    )


def _explain_failure(spec: str, name: str, err: Exception) -> str:
    text = f"{type(err).__name__}: {err}".splitlines()[0][:300]
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

