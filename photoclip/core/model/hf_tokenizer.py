"""The Hugging Face tokenizers some models' text towers use (XLM-RoBERTa's SentencePiece for
the multilingual CLIP, SigLIP's), without transformers or torch: the fast text path needs
only the ``tokenizers`` library and the ``tokenizer.json`` saved when the tower is exported.

It does what open_clip's ``HFTokenizer`` does — clean each text, add the model's special
tokens, cut to the context length, pad with the model's pad id — and export.py checks it
against open_clip's token for token before a search ever uses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from photoclip.core.model.tokenizer import CLEANERS

FILE = "tokenizer.json"


class HfTokenizer:
    """``tokenizer(texts)`` → int64 array (N, context_length), padded with ``pad_id``."""

    def __init__(self, path: Path | str, context_length: int, pad_id: int,
                 clean: str = "whitespace", strip_sep_id: int | None = None):
        from tokenizers import Tokenizer

        if clean not in CLEANERS:
            raise ValueError(f"unknown text cleaning {clean!r}")
        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=context_length)
        self.context_length = context_length
        self.pad_id = pad_id
        self._clean = CLEANERS[clean]
        self._strip_sep_id = strip_sep_id

    @classmethod
    def from_meta(cls, folder: Path, meta: dict[str, Any], context_length: int) -> HfTokenizer:
        """As described by the export's ``meta["tokenizer"]`` (export.describe_hf_tokenizer)."""
        return cls(folder / str(meta.get("file", FILE)), context_length, int(meta["pad_id"]),
                   str(meta.get("clean", "whitespace")), meta.get("strip_sep_id"))

    def __call__(self, texts: list[str]) -> npt.NDArray[np.int64]:
        out = np.full((len(texts), self.context_length), self.pad_id, np.int64)
        for row, enc in enumerate(self._tok.encode_batch([self._clean(t) for t in texts])):
            ids = enc.ids[:self.context_length]
            out[row, :len(ids)] = ids
        if self._strip_sep_id is not None:
            out[out == self._strip_sep_id] = 0
        return out

