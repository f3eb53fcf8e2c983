"""Text knowledge shared by features and owned by none: the photo prompt templates, the generic
"a photo." anchor prompts, the everyday vocabulary (resources/tagsets/background.txt) a tag or a
search hit must beat, the one rule that normalises a word before it is compared with that
vocabulary, and how prompts become unit text vectors (CLIP's prompt ensembling).

Tags (core/tags), categories (a category's name as its prior) and search (rating hits against
the everyday alternatives) all read from here. Vectors computed from these are stored per model
with the tags' SQL (core/store/tags.py, table tag_vectors), not here: this module holds no state
but the vocabulary, read once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

import numpy as np
import numpy.typing as npt

from photoclip.core.model.protocols import TextEncoder

# Photo prompts, a curated subset of OpenAI's 80 ImageNet templates (open_clip's
# zero_shot_metadata): the ones about photos, leaving out art, origami, video games, tattoos.
TEMPLATES = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a good photo of a {}.",
    "a bad photo of a {}.",
    "a bright photo of a {}.",
    "a dark photo of a {}.",
    "a cropped photo of a {}.",
    "a blurry photo of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
    "itap of a {}.",
)
# A generic anchor for the softmax within a set (a photo that shows none of its labels).
BACKGROUND_PROMPTS = ("a photo.", "a picture.", "an image.", "a photo of something.",
                      "a snapshot.", "a photo of an object.")
VOCABULARY_TEMPLATE = "a photo of a {}."


def encode(encoder: TextEncoder, prompts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Normalised text embeddings, in batches of texts of about one length (the exported
    tower runs each batch to its longest text's end)."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    ordered = [prompts[i] for i in order]
    parts = [encoder.encode_texts(ordered[i:i + 256]) for i in range(0, len(ordered), 256)]
    v = np.empty((len(prompts), encoder.dim), np.float32)
    v[order] = np.concatenate(parts)
    out: npt.NDArray[np.float32] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def ensemble(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """One vector for a label from its prompts' normalised vectors: their mean, normalised."""
    m = vectors.mean(axis=0)
    out: npt.NDArray[np.float32] = (m / np.linalg.norm(m)).astype(np.float32)
    return out


def label_vector(encoder: TextEncoder, prompts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Mean of the normalised prompt embeddings, normalised (prompt ensembling)."""
    return ensemble(encode(encoder, prompts))


@functools.cache
def vocabulary() -> tuple[str, ...]:
    """The everyday alternatives a label must beat (resources/tagsets/background.txt); read
    once (every text search rates its hits against them)."""
    text = (resources.files("photoclip") / "resources" / "tagsets" / "background.txt") \
        .read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith("#"))


@functools.cache
def search_alternatives() -> tuple[str, ...]:
    """What a text search's good matches must beat: the everyday alternatives and some
    nonsense (resources/tagsets/nonsense.txt: random letters, keyboard rows), so that a
    keyboard mash does not find "good matches" where the text tower happens to put it."""
    text = (resources.files("photoclip") / "resources" / "tagsets" / "nonsense.txt") \
        .read_text("utf-8")
    return vocabulary() + tuple(line.strip() for line in text.splitlines()
                                if line.strip() and not line.startswith("#"))


def word(text: str) -> str:
    """A word as it is compared with the vocabulary: lower case, single spaces, a plain
    plural made singular ("Dogs" → "dog"; "grass" stays)."""
    w = " ".join(text.lower().split())
    return w[:-1] if w.endswith("s") and not w.endswith("ss") else w

