"""Export a loaded open_clip model's towers to ONNX, once per model, for the fast paths.

- **Text tower → fp32 ONNX**: a search then needs neither torch nor open_clip (see
  runtime.py): a cold ``photoclip search`` starts in about a second instead of five. The
  export runs CLIP's causal text tower on the tokens up to the end-of-text token only (exact:
  padding after it cannot change the result), with the length as a dynamic axis.
- **Image tower → dynamic int8 ONNX** (ONNX Runtime's ``quantize_dynamic``): on CPUs without
  native bf16 it encodes photos ~1.7× faster than torch fp32 (bench/bench_index.py).

Every export is checked against the torch model before it is kept: the same tokens from our
tokenizer as from open_clip's, and cosine ≥ :data:`TEXT_MIN_COSINE` between the embeddings for
a set of probe texts. A model whose export fails or differs keeps the torch path; nothing here
raises for that (the result says why).

Only this module, encoder.py and probe.py import torch.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch
    from open_clip.model import CLIP  # (untyped: Any to mypy)

    from photoclip.core.model.encoder import OpenClipTokenizer

log = logging.getLogger(__name__)

OPSET = 17
TEXT_MIN_COSINE = 0.999
IMAGE_FP32_MIN_COSINE = 0.9999  # the same arithmetic in another runtime: a rounding apart
PROBE_TEXTS = (
    "a photo of a dog.", "dog", "kids on a beach at sunset", "一只猫", "a blurry photo of a car",
    "Grandma's garden in June, 2019!", "t-shirt", "x " * 120,  # longer than any context
    "一只猫在沙发上睡觉", "Кошка спит на диване", "le chat noir  dort", "قطة على الأريكة",
    "猫の写真 and a dog 🐶", "Straße &amp; Café", "  ",
)


def _text_pos(model: CLIP, tokens: torch.Tensor) -> torch.Tensor | None:
    """Where the text tower pools: the end-of-text token (argmax of the ids for CLIP's
    tokenizer, or the model's own EOS id)."""
    pool = getattr(model, "text_pool_type", "argmax")
    if pool == "argmax":
        return tokens.argmax(dim=-1)
    if pool == "eos" and getattr(model, "text_eos_id", None) is not None:
        eos: torch.Tensor = tokens == model.text_eos_id
        return eos.int().argmax(dim=-1)
    return None


def trimmed_text_forward(model: CLIP, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP's text tower on ``tokens`` whose length may be shorter than the context: the
    causal mask and positions are cut to that length. Unnormalised features."""
    import torch

    pos = _text_pos(model, tokens)
    length = tokens.shape[1]
    cast = model.transformer.get_cast_dtype()
    x: torch.Tensor = model.token_embedding(tokens).to(cast)
    x = x + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), pos]
    proj = model.text_projection
    if proj is None:
        return x
    out: torch.Tensor = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
    return out


def supports_trimming(model: CLIP) -> bool:
    """Whether the text tower is causal and pools at one known token (exact to trim)."""
    from open_clip.model import CLIP

    return (type(model) is CLIP and getattr(model, "attn_mask", None) is not None
            and _text_pos_kind(model) is not None)


def _text_pos_kind(model: CLIP) -> str | None:
    pool = getattr(model, "text_pool_type", "argmax")
    if pool == "argmax" or (pool == "eos" and getattr(model, "text_eos_id", None) is not None):
        return pool
    return None


def _export(module: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, input_name: str,
            dynamic: dict[int, str]) -> None:
    import torch

    # With gradients on, MultiheadAttention takes its plain path: its inference "fast path"
    # (torch._native_multi_head_attention) has no ONNX form.
    with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation chatter
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                          input_names=[input_name], output_names=["embedding"],
                          dynamic_axes={input_name: dynamic, "embedding": {0: "n"}})


def _attention(attn: torch.nn.MultiheadAttention, x: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
    """nn.MultiheadAttention (batch first, self-attention) written with plain ops whose shapes
    stay symbolic in the ONNX trace; torch's own version bakes the traced length in."""
    import torch.nn.functional as F

    heads, width = attn.num_heads, attn.embed_dim
    q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)

    def split(t: torch.Tensor) -> torch.Tensor:
        # (torch's Tensor.unflatten has no annotations)
        parts: torch.Tensor = t.unflatten(-1, (heads, width // heads))  # type: ignore[no-untyped-call]
        return parts.transpose(1, 2)

    out = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=mask)
    result: torch.Tensor = attn.out_proj(out.transpose(1, 2).flatten(2))
    return result


def _standard_blocks(model: CLIP) -> bool:
    """The text blocks are open_clip's plain pre-norm blocks that _attention can stand in for."""
    import torch

    for blk in model.transformer.resblocks:
        attn = getattr(blk, "attn", None)
        if not isinstance(attn, torch.nn.MultiheadAttention) or not attn.batch_first \
                or not attn._qkv_same_embed_dim or attn.bias_k is not None:
            return False
        if not isinstance(getattr(blk, "ln_attn", torch.nn.Identity()), torch.nn.Identity):
            return False
    return True


def _trimmed_for_export(model: CLIP, tokens: torch.Tensor) -> torch.Tensor:
    """trimmed_text_forward with the attention spelled out (see _attention), normalised."""
    import torch

    length = tokens.shape[1]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    mask = model.attn_mask[:length, :length]
    for blk in model.transformer.resblocks:
        x = x + blk.ls_1(_attention(blk.attn, blk.ln_1(x), mask))
        x = x + blk.ls_2(blk.mlp(blk.ln_2(x)))
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0]), _text_pos(model, tokens)]
    proj = model.text_projection
    if proj is not None:
        x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
    return torch.nn.functional.normalize(x.float(), dim=-1)


def export_text(model: CLIP, tokenizer: OpenClipTokenizer, context_length: int,
                dest: Path) -> dict[str, Any]:
    """Write the text tower to ``dest`` (ONNX) if it can be run without torch faithfully.

    The tokens come from our own tokenizer: CLIP's byte-pair one (tokenizer.py) or, for a
    model with a Hugging Face tokenizer (the multilingual XLM-RoBERTa tower, SigLIP), its
    ``tokenizer.json`` run by the ``tokenizers`` library (hf_tokenizer.py), saved beside the
    tower; either must give the model's own tokens for every probe text. Tries the trimmed
    tower (dynamic length: a short query costs several times less), then the plain
    full-length one. Returns ``{"ok": True, "trimmed": bool, "min_cosine": c, "tokenizer":
    {...}}`` or ``{"ok": False, "why": …}``.
    """
    import torch

    try:
        found = _our_tokenizer(tokenizer, context_length, dest.parent)
        if isinstance(found, str):
            return {"ok": False, "why": found}
        ours, tok_meta = found
        theirs = tokenizer(list(PROBE_TEXTS)).numpy()
        mine = ours(list(PROBE_TEXTS))
    except Exception as e:
        return {"ok": False, "why": f"tokenizer unavailable ({type(e).__name__}: {e})"}
    if theirs.shape != mine.shape or not np.array_equal(theirs, mine):
        return {"ok": False, "why": "our tokenizer does not give the model's own tokens"}
    with torch.inference_mode():
        want = model.encode_text(torch.from_numpy(theirs)).float()
        want = torch.nn.functional.normalize(want, dim=-1).numpy()

    clip_trim = supports_trimming(model) and _standard_blocks(model)

    class Tower(torch.nn.Module):
        def __init__(self, trimmed: bool) -> None:
            super().__init__()
            self.model, self.trimmed = model, trimmed

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            if self.trimmed and clip_trim:
                return _trimmed_for_export(self.model, tokens)
            return torch.nn.functional.normalize(self.model.encode_text(tokens).float(), dim=-1)

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    why = "no export worked"
    pad = int(tok_meta["pad_id"])
    for trimmed in ([True] if clip_trim or _masked_hf_text(model) else []) + [False]:
        try:
            sample = torch.from_numpy(mine[:2, :8] if trimmed else mine[:2])
            _export(Tower(trimmed).eval(), (sample,), tmp, "tokens",
                    {0: "n", 1: "length"} if trimmed else {0: "n"})
            got = _check_text(tmp, mine, context_length, trimmed, pad)
            cos = float((got * want).sum(axis=1).min())
        except Exception as e:
            log.info("text tower export (trimmed=%s) failed: %s", trimmed, e)
            why = f"export failed ({type(e).__name__}: {str(e)[:200]})"
            continue
        if cos >= TEXT_MIN_COSINE:
            try:
                data = _save_with_external_weights(tmp, dest)
            except Exception as e:
                log.info("could not write the text tower's weights apart: %s", e)
                os.replace(tmp, dest)
                data = None
            tmp.unlink(missing_ok=True)
            return {"ok": True, "trimmed": trimmed, "min_cosine": round(cos, 6),
                    "weights": data, "tokenizer": tok_meta}
        why = f"exported text tower differs (cosine {cos:.5f})"
    tmp.unlink(missing_ok=True)
    return {"ok": False, "why": why}


def _our_tokenizer(tokenizer: Any, context_length: int, folder: Path) -> \
        tuple[Callable[[list[str]], npt.NDArray[np.int64]], dict[str, Any]] | str:
    """The torch-free tokenizer that stands in for the model's, and its description for the
    metadata; or why there is none."""
    from open_clip.tokenizer import HFTokenizer

    if isinstance(tokenizer, HFTokenizer):
        from photoclip.core.model.hf_tokenizer import HfTokenizer

        meta = describe_hf_tokenizer(tokenizer, folder)
        if isinstance(meta, str):
            return meta
        return HfTokenizer.from_meta(folder, meta, context_length), meta
    from photoclip.core.model.tokenizer import ClipTokenizer

    return ClipTokenizer(context_length=context_length), {"kind": "clip", "pad_id": 0}


def describe_hf_tokenizer(open_clip_tokenizer: Any, folder: Path) -> dict[str, Any] | str:
    """Save what :class:`HfTokenizer` needs to stand in for ``open_clip_tokenizer`` (an
    open_clip ``HFTokenizer``) into ``folder``; its description for the export's metadata,
    or why it cannot."""
    from open_clip import tokenizer as oc

    from photoclip.core.model.hf_tokenizer import FILE

    backend = getattr(getattr(open_clip_tokenizer, "tokenizer", None), "backend_tokenizer", None)
    if backend is None:
        return "its tokenizer is not a fast Hugging Face tokenizer"
    if getattr(open_clip_tokenizer, "tokenizer_mode", ""):
        return f"tokenizer mode {open_clip_tokenizer.tokenizer_mode!r} is not supported"
    names = {oc._clean_whitespace: "whitespace", oc._clean_canonicalize: "canonicalize",
             oc._clean_lower: "lower"}
    clean = names.get(open_clip_tokenizer.clean_fn)
    if clean is None:
        return "its text cleaning is not one open_clip names"
    pad_id = open_clip_tokenizer.tokenizer.pad_token_id
    if pad_id is None:
        return "its tokenizer has no padding token"
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{FILE}.{os.getpid()}.part"  # (a search may be reading the old one)
    part.write_text(backend.to_str(), encoding="utf-8")
    os.replace(part, folder / FILE)
    strip = open_clip_tokenizer.tokenizer.sep_token_id \
        if getattr(open_clip_tokenizer, "strip_sep_token", False) else None
    return {"kind": "hf", "file": FILE, "pad_id": int(pad_id), "clean": clean,
            "strip_sep_id": strip}


def _masked_hf_text(model: CLIP) -> bool:
    """A Hugging Face text tower (XLM-RoBERTa): it masks its padding and pools over the
    unmasked tokens only, so running it up to the longest text's end is exact."""
    return type(getattr(model, "text", None)).__name__ == "HFTextEncoder"


def _save_with_external_weights(src: Path, dest: Path) -> str:
    """Rewrite ``src`` as ``dest`` plus a weights file beside it. ONNX Runtime maps such a file
    instead of copying every weight out of the model: a search process peaks at about half the
    memory and creates its session twice as fast (bench/bench_cold.py). The weights file gets a
    new name each time, so a search still running on the previous one is never disturbed."""
    import uuid

    import onnx

    data = f"{dest.stem}-{uuid.uuid4().hex[:12]}.weights"
    staged = dest.with_name(dest.name + ".staged")
    onnx.save_model(onnx.load(str(src)), str(staged), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data, size_threshold=1024)
    _fsync(dest.parent / data)
    _fsync(staged)
    os.replace(staged, dest)
    for old in dest.parent.glob(f"{dest.stem}-*.weights"):
        if old.name != data:
            try:
                old.unlink(missing_ok=True)
            except OSError:  # (Windows: still mapped by a running search; goes next time)
                pass
    return data


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _check_text(path: Path, tokens: npt.NDArray[np.int64], context_length: int,
                trimmed: bool, pad_id: int) -> npt.NDArray[np.float32]:
    """The exported tower's embeddings for ``tokens``, one text at a time and all at once
    (batch and length must both really be dynamic)."""
    from photoclip.core.model.runtime import OrtTextEncoder

    enc = OrtTextEncoder(path, context_length, trimmed, threads=1,
                         tokenizer={"kind": "check", "pad_id": pad_id})
    one = np.concatenate([enc.encode_tokens(tokens[i:i + 1]) for i in range(len(tokens))])
    together = enc.encode_tokens(tokens)
    if not np.allclose(one, together, atol=1e-4):
        raise ValueError("results depend on the batch")
    return together


def export_image_fp32(model: CLIP, image_size: int, dest: Path) -> dict[str, Any]:
    """Write the image tower in float32 to ``dest`` (ONNX, its weights in a file beside it,
    which ONNX Runtime maps), if it gives the torch tower's embeddings: where this machine
    encodes in fp32, indexing then needs no PyTorch (its import and the whole model cost
    seconds and ~1.7 GB). ``{"ok": True, "min_cosine": c}`` or ``{"ok": False, "why": …}``."""
    import torch

    from photoclip.core.model.runtime import OrtImageEncoder

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        x = torch.from_numpy(np.random.default_rng(0).standard_normal(
            (2, 3, image_size, image_size)).astype(np.float32))
        visual = model.visual.float().eval()
        with torch.inference_mode():
            want = torch.nn.functional.normalize(visual(x).float(), dim=-1).numpy()
        _export(visual, (x[:1],), tmp, "pixels", {0: "n"})
        got = OrtImageEncoder(tmp, 1)(x.numpy())
        cos = float((got * want).sum(axis=1).min())
        if cos < IMAGE_FP32_MIN_COSINE:
            return {"ok": False, "why": f"exported image tower differs (cosine {cos:.6f})"}
        data = _save_with_external_weights(tmp, dest)
    except Exception as e:
        log.info("image tower fp32 export failed: %s", e)
        return {"ok": False, "why": f"export failed ({type(e).__name__}: {str(e)[:200]})"}
    finally:
        tmp.unlink(missing_ok=True)
    return {"ok": True, "min_cosine": round(cos, 6), "weights": data}


def export_image_int8(model: CLIP, image_size: int, dest: Path) -> dict[str, Any]:
    """Write the image tower, dynamically quantised to int8 (weights int8, activations
    quantised per batch), to ``dest``. ``{"ok": True}`` or ``{"ok": False, "why": …}``."""
    import torch

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        return {"ok": False, "why": f"ONNX Runtime quantisation unavailable ({e})"}
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".export-") as tmpdir:
        fp32 = Path(tmpdir) / "image-fp32.onnx"
        part = Path(tmpdir) / "image-int8.onnx"
        try:
            x = torch.zeros(1, 3, image_size, image_size)
            visual = model.visual.float().eval()
            _export(visual, (x,), fp32, "pixels", {0: "n"})
            big = fp32.stat().st_size > 1.8 * 2**30  # protobuf's 2 GB limit
            quantize_dynamic(str(fp32), str(part), weight_type=QuantType.QInt8,
                             use_external_data_format=big)
        except Exception as e:
            log.info("image tower int8 export failed: %s", e)
            return {"ok": False, "why": f"export failed ({type(e).__name__}: {str(e)[:200]})"}
        os.replace(part, dest)
    return {"ok": True}
