"""The exported towers, run with ONNX Runtime, and the folder that keeps them.

A search needs only the text tower. Loading torch and open_clip to get it costs four to five
seconds and over a gigabyte; the exported tower (export.py) runs here with ONNX Runtime and our
own tokenizer, so ``photoclip search`` and the app's first search start in about a second.

The data folder keeps one entry per model in ``models/<key>/``: ``meta.json`` (what was
exported, from which weights, and how it checked against torch), ``text.onnx`` and, where the
int8 image path was prepared, ``image-int8.onnx``. An entry whose weights changed (a
``local-dir`` model edited, another open_clip version) is ignored and made again.

Only this module imports onnxruntime; nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from photoclip.core.indexing.imageio import Preprocess
from photoclip.core.model.precision import Choice

if TYPE_CHECKING:
    from onnxruntime import InferenceSession  # (untyped: Any to mypy)

log = logging.getLogger(__name__)

MODELS_DIR = "models"
META = "meta.json"
TEXT_FILE = "text.onnx"
IMAGE_INT8_FILE = "image-int8.onnx"
IMAGE_FP32_FILE = "image-fp32.onnx"  # (its weights beside it: image-fp32-<id>.weights)
FORMAT = 2  # bump when what is exported changes


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _session(path: Path, threads: int, spin: bool) -> InferenceSession:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    # Spinning threads would take the cores the decode pool (or the GUI) needs between calls.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class TextCache:
    """A small LRU of text → embedding shared by the torch and the ONNX text encoders."""

    def __init__(self, size: int = 512):
        self._items: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def encode(self, texts: list[str],
               compute: Callable[[list[str]], npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        with self._lock:
            found = {t: self._items[t] for t in texts if t in self._items}
            for t in found:
                self._items.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = dict(zip(missing, compute(missing), strict=True))
            found.update(fresh)
            with self._lock:
                self._items.update(fresh)
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return np.stack([found[t] for t in texts])


class OrtTextEncoder:
    """The text half of an Encoder: ``encode_texts(texts)`` → (N, D) L2-normalised float32.

    ``tokenizer`` is the export's description of the tokenizer (export.py): CLIP's own
    (``{"kind": "clip"}``, the default) or a Hugging Face ``tokenizer.json`` beside the
    tower (``{"kind": "hf", ...}``: hf_tokenizer.py); its ``pad_id`` is where a trimmed
    tower's texts end."""

    backend = "onnxruntime"

    def __init__(self, path: Path, context_length: int, trimmed: bool, threads: int = 2,
                 model_id: str = "", logit_scale: float = 100.0,
                 tokenizer: dict[str, Any] | None = None):
        self._session = _session(path, threads, spin=False)
        self._input = self._session.get_inputs()[0].name
        self._folder = path.parent
        self.context_length = context_length
        self.trimmed = trimmed
        self.model_id = model_id
        self.logit_scale = logit_scale
        self._tok_meta = tokenizer or {"kind": "clip", "pad_id": 0}
        self._pad_id = int(self._tok_meta.get("pad_id", 0))
        self._tokenizer: Callable[[list[str]], npt.NDArray[np.int64]] | None = None
        self._tok_lock = threading.Lock()
        self._cache = TextCache()
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    @property
    def tokenizer(self) -> Callable[[list[str]], npt.NDArray[np.int64]]:
        with self._tok_lock:
            if self._tokenizer is None:
                if self._tok_meta.get("kind") == "hf":
                    from photoclip.core.model.hf_tokenizer import HfTokenizer

                    self._tokenizer = HfTokenizer.from_meta(self._folder, self._tok_meta,
                                                            self.context_length)
                else:
                    from photoclip.core.model.tokenizer import ClipTokenizer

                    self._tokenizer = ClipTokenizer(context_length=self.context_length)
            return self._tokenizer

    def encode_tokens(self, tokens: npt.ArrayLike) -> npt.NDArray[np.float32]:
        tokens = np.asarray(tokens, np.int64)
        if self.trimmed:  # nothing after the longest text's last token is needed
            length = int((tokens != self._pad_id).sum(axis=1).max()) if len(tokens) else 1
            tokens = tokens[:, :max(length, 1)]
        out = self._session.run(None, {self._input: np.ascontiguousarray(tokens)})[0]
        return np.asarray(out, np.float32)

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self._cache.encode(texts, lambda t: self.encode_tokens(self.tokenizer(t)))


class OrtImageEncoder:
    """An exported (int8) image tower: (N, 3, S, S) float32 → (N, D) L2-normalised."""

    def __init__(self, path: Path, threads: int):
        self._session = _session(path, threads, spin=False)
        self._input = self._session.get_inputs()[0].name

    def __call__(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        raw = self._session.run(None, {self._input: np.ascontiguousarray(batch, np.float32)})[0]
        out = np.asarray(raw, np.float32)
        norms: npt.NDArray[np.float32] = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, np.maximum(norms, 1e-12), dtype=np.float32)


class OrtImageModel:
    """The model that indexes photos when this machine encodes on the CPU in int8 or fp32 and
    the image tower is exported: what indexing asks of an image encoder, without torch (0.4 GB
    where loading the model in torch costs 2.1 GB, and seconds)."""

    device = "cpu"
    backend = "onnxruntime"

    def __init__(self, spec: str, preprocess: Preprocess, path: Path, dim: int, choice: Choice,
                 threads: int):
        self.model_id = spec
        self.precision = choice.precision
        self.preprocess = preprocess
        self.dim = dim
        self.choice = choice
        self._tower = OrtImageEncoder(path, threads)

    def encode_images(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return self._tower(batch)


def preprocess_to_dict(pre: Preprocess) -> dict[str, Any]:
    return {"size": pre.size, "mean": list(pre.mean), "std": list(pre.std),
            "resize_mode": pre.resize_mode, "fill": pre.fill}


def preprocess_from_dict(d: dict[str, Any]) -> Preprocess:
    mean, std = (tuple(float(x) for x in d[k]) for k in ("mean", "std"))
    if len(mean) != 3 or len(std) != 3:
        raise ValueError("mean and std need three values")
    return Preprocess(int(d["size"]), (mean[0], mean[1], mean[2]), (std[0], std[1], std[2]),
                      str(d.get("resize_mode", "shortest")), int(d.get("fill", 0)))


def weights_fingerprint(spec: str) -> str:
    """What the exported files were made from: a local folder's files (name, size, mtime) or,
    for downloaded models, the spec and the open_clip version that maps it to weights."""
    h = hashlib.sha256(f"{FORMAT}|{spec}".encode())
    if spec.startswith("local-dir:"):
        folder = Path(spec[len("local-dir:"):])
        try:
            for p in sorted(folder.iterdir()):
                st = p.stat()
                h.update(f"|{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(b"|unreadable")
    try:
        h.update(metadata.version("open_clip_torch").encode())
    except metadata.PackageNotFoundError:
        pass
    return h.hexdigest()[:24]


class ModelStore:
    """``<data folder>/models``: exported towers and their metadata, one folder per model."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def folder(self, spec: str) -> Path:
        return self.root / hashlib.sha256(spec.encode()).hexdigest()[:16]

    def meta(self, spec: str) -> dict[str, Any]:
        """The entry for ``spec`` if it was made from the weights the spec names now."""
        try:
            meta = json.loads((self.folder(spec) / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(meta, dict) or meta.get("spec") != spec:
            return {}
        if meta.get("fingerprint") != weights_fingerprint(spec):
            return {}
        return meta

    def write_meta(self, spec: str, meta: dict[str, Any]) -> None:
        folder = self.folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {**meta, "spec": spec, "fingerprint": weights_fingerprint(spec)}
        tmp = folder / f"{META}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        os.replace(tmp, folder / META)

    def text_encoder(self, spec: str, threads: int = 2) -> OrtTextEncoder | None:
        """The fast text encoder for ``spec``, or None (not exported yet, failed, changed)."""
        meta = self.meta(spec)
        text = meta.get("text") or {}
        path = self.folder(spec) / TEXT_FILE
        if not text.get("ok") or not path.is_file() or not onnxruntime_available():
            return None
        try:
            return OrtTextEncoder(path, int(meta["context_length"]), bool(text["trimmed"]),
                                  threads, spec, float(meta.get("logit_scale", 100.0)),
                                  text.get("tokenizer"))
        except Exception as e:  # damaged file: the torch path answers, the next load re-exports
            log.warning("the prepared text model for %s could not be loaded (%s); "
                        "using PyTorch", spec, e)
            return None

    def image_model(self, spec: str, choice: Choice, threads: int) -> OrtImageModel | None:
        """The image tower of ``spec`` for ``choice`` (int8 or fp32) as a model that indexes,
        or None (not prepared, prepared by a version that did not note the preprocessing,
        damaged)."""
        meta = self.meta(spec)
        towers = {"int8": ("image_int8", IMAGE_INT8_FILE), "fp32": ("image_fp32", IMAGE_FP32_FILE)}
        path = self._prepared(spec, *towers[choice.precision], meta) \
            if choice.precision in towers else None
        if path is None or not isinstance(meta.get("preprocess"), dict) \
                or not isinstance(meta.get("dim"), int) or not onnxruntime_available():
            return None
        try:
            return OrtImageModel(spec, preprocess_from_dict(meta["preprocess"]), path,
                                 meta["dim"], choice, threads)
        except Exception as e:  # damaged: the model is loaded in torch, which prepares again
            log.warning("the prepared image model for %s could not be loaded (%s); "
                        "using PyTorch", spec, e)
            return None

    def image_int8_path(self, spec: str) -> Path | None:
        return self._prepared(spec, "image_int8", IMAGE_INT8_FILE)

    def _prepared(self, spec: str, key: str, file: str,
                  meta: dict[str, Any] | None = None) -> Path | None:
        """``file`` of ``spec``'s folder, if its export (noted under ``key`` in ``meta``, read
        here when not given) succeeded."""
        path = self.folder(spec) / file
        meta = self.meta(spec) if meta is None else meta
        return path if (meta.get(key) or {}).get("ok") and path.is_file() else None
