"""CLIP's byte-pair tokenizer without torch, for the fast text path (see textmodel.py).

The same algorithm and vocabulary as open_clip's ``SimpleTokenizer`` (itself copied from
OpenAI's CLIP, MIT licence, Copyright (c) 2021 OpenAI), returning NumPy arrays, so a search can
tokenize without importing torch. Whether it matches the model's own tokenizer is checked token
for token when the text tower is exported; a model with another tokenizer keeps the torch path.

The vocabulary file is the one open_clip ships; it is located without importing open_clip.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import itertools
import string
from functools import lru_cache
from pathlib import Path

import numpy as np

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
N_MERGES = 49152 - 256 - 2


def open_clip_file(relative: str) -> Path | None:
    """A file of the installed open_clip package (its BPE vocabulary, a model config), found
    without importing open_clip (which imports torch); None when there is none."""
    spec = importlib.util.find_spec("open_clip")
    for loc in (spec.submodule_search_locations or []) if spec is not None else []:
        p = Path(loc) / relative
        if p.is_file():
            return p
    return None


def default_vocab_path() -> Path | None:
    """open_clip's BPE vocabulary."""
    return open_clip_file(VOCAB_FILE)


@lru_cache
def _bytes_to_unicode() -> dict[int, str]:
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(word))


class ClipTokenizer:
    """``tokenizer(texts, context_length)`` → int64 array (N, context_length), zero padded."""

    def __init__(self, vocab_path: Path | str | None = None, context_length: int = 77):
        import regex

        path = Path(vocab_path) if vocab_path else default_vocab_path()
        if path is None:
            raise FileNotFoundError("open_clip's BPE vocabulary is not installed")
        self.byte_encoder = _bytes_to_unicode()
        specials = ["<start_of_text>", "<end_of_text>"]
        self.encoder, self.bpe_ranks = _tables(path, specials)
        self.cache = {t: t for t in specials}
        self.pat = regex.compile(
            "|".join(specials) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)
        self.sot = self.encoder["<start_of_text>"]
        self.eot = self.encoder["<end_of_text>"]
        self.context_length = context_length

    def _bpe(self, token: str) -> str:
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        word = (*token[:-1], token[-1] + "</w>")
        pairs = _pairs(word)
        ranks = self.bpe_ranks
        while pairs:
            bigram = min(pairs, key=lambda p: ranks.get(f"{p[0]} {p[1]}", N_MERGES))
            if f"{bigram[0]} {bigram[1]}" not in ranks:
                break
            first, second = bigram
            merged: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    merged.extend(word[i:])
                    break
                merged.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for token in self.pat.findall(_clean(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self._bpe(token).split(" "))
        return ids

    def __call__(self, texts: list[str], context_length: int | None = None) -> np.ndarray:
        ctx = context_length or self.context_length
        out = np.zeros((len(texts), ctx), np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot, *self.encode(text), self.eot]
            if len(ids) > ctx:  # truncated like open_clip: the last kept token becomes EOT
                ids = ids[:ctx]
                ids[-1] = self.eot
            out[row, :len(ids)] = ids
        return out


def _tables(path: Path, specials: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The vocabulary and the merge ranks (keyed "first second", as the file spells a merge).
    Built from the file each time: ~0.09 s, where unmarshalling a cache of tuple-keyed tables
    took 0.3 s in a cold process."""
    with gzip.open(path) as f:
        merges = f.read().decode("utf-8").split("\n")[1:N_MERGES + 1]
    vocab = list(_bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab]
    vocab += [m.replace(" ", "") for m in merges]  # (tokens never hold a space)
    vocab += specials
    return dict(zip(vocab, itertools.count())), dict(zip(merges, itertools.count()))


def basic_clean(text: str) -> str:
    """open_clip's basic cleaning: fix mojibake, unescape HTML, strip. Plain printable ASCII
    without '&' has nothing ftfy would change: it skips ftfy (whose import alone costs a cold
    search 80 ms)."""
    if not (text.isascii() and text.isprintable() and "&" not in text):
        import ftfy

        text = ftfy.fix_text(text)
    return html.unescape(html.unescape(text)).strip()


def _clean(text: str) -> str:
    """open_clip's default cleaning ('lower'): basic_clean, spaces squashed, lower case."""
    return " ".join(basic_clean(text).split()).lower()


def whitespace_clean(text: str) -> str:
    """open_clip's 'whitespace' cleaning (its Hugging Face tokenizers' default)."""
    return " ".join(basic_clean(text).split())


def canonical_clean(text: str) -> str:
    """open_clip's 'canonicalize' cleaning (SigLIP): lower case, no punctuation, one space."""
    text = basic_clean(text).replace("_", " ").translate(_NO_PUNCTUATION)
    return " ".join(text.lower().split())


_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


CLEANERS = {"lower": _clean, "whitespace": whitespace_clean, "canonicalize": canonical_clean}
