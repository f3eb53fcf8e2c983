"""The seams between the model and its users: what search, tags and categories need from a
text encoder, and what indexing needs from an image encoder. The torch model
(:class:`~photoclip.core.model.encoder.Encoder`) is both; the exported ONNX text tower
(:class:`~photoclip.core.model.runtime.OrtTextEncoder`) is a text encoder; tests pass small
fakes that are either."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from photoclip.core.indexing.imageio import Preprocess

Vectors = npt.NDArray[np.float32]


class TextEncoder(Protocol):
    """Turns texts into unit vectors in the model's space."""

    dim: int
    logit_scale: float  # CLIP's temperature: cosine × this = the logits it was trained on

    def encode_texts(self, texts: list[str]) -> Vectors: ...


class ImageEncoder(Protocol):
    """What indexing needs of the model: which model it is (the catalog keeps vectors per
    model), how to prepare a photo for it, and preprocessed image batches (N×3×H×W float32)
    turned into unit vectors."""

    @property
    def model_id(self) -> str: ...

    @property
    def preprocess(self) -> Preprocess: ...

    def encode_images(self, batch: npt.NDArray[np.float32]) -> Vectors: ...
