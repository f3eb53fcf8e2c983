"""Small fake encoders (photoclip/core/model/protocols.py) and a Library built on them, for
unit tests of the services that need vectors but not CLIP's meaning (loading the tiny real
model costs seconds: it imports torch)."""

from __future__ import annotations

import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from conftest import write_photos

from photoclip.core.indexing.imageio import Preprocess
from photoclip.core.library import Library


class FakeEncoder:
    """Images: a fixed random projection of their pixels; texts: a vector fixed by the text."""

    dim = 16
    logit_scale = 100.0
    device = "cpu"
    precision = "fp32"
    choice = SimpleNamespace(reason="fake")

    def __init__(self, model_id: str):
        self.model_id = model_id
        self.preprocess = Preprocess(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
        self._proj = np.random.default_rng(0).normal(size=(3 * 16 * 16, self.dim))

    def encode_images(self, batch):
        v = batch.reshape(len(batch), -1) @ self._proj
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def encode_texts(self, texts):
        v = np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim)
                      for t in texts])
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


class SameTextEncoder(FakeEncoder):
    """Every text is the same vector (tests where what a text means does not matter)."""

    def encode_texts(self, texts):
        return np.tile(np.eye(self.dim, dtype=np.float32)[:1], (len(texts), 1))


def fake_library(home: Path, spec: str, encoder: type[FakeEncoder] = FakeEncoder,
                 long_lived: bool = True) -> Library:
    """A Library in ``home`` whose model ``spec`` loads as ``encoder``."""
    enc = encoder(spec)
    return Library(home, model=spec, encoder_loader=lambda *a, **k: enc, long_lived=long_lived)


def indexed_fake_library(tmp_path: Path, n: int = 6) -> Library:
    """A fake-encoder library of ``n`` photos, indexed; ``.photos`` and ``.ids`` list them."""
    library = fake_library(tmp_path / "home", f"local-dir:{tmp_path / 'fake-model'}")
    library.photos = write_photos(tmp_path / "pics", n)
    library.folders.add(tmp_path / "pics")
    library.folders.index()
    library.ids = [library.folders.photo_id(p) for p in library.photos]
    return library
