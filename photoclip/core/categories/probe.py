"""The learner behind user categories: a linear probe over stored CLIP embeddings that starts
from what the category's name means and moves away from it as examples come in. Pure NumPy.

A category is a one-vs-rest logistic regression on L2-normalised image embeddings, in the
model's logit units (so its strength does not depend on the model)::

    p(x) = σ(w·x + b + α · mean_i exp(−β (1 − x·e_i)))

- **Class-balanced**: the positives weigh as much in the loss as the negatives, which are the
  user's "not in this category" photos plus a sample of unlabelled photos (the background: most
  photos of a library are not in a given category, so a category with positives only works).
  The user's negatives take a share of the negative half that grows with their number (each
  weighs what a positive does: 12 "not in" photos must move the boundary, not drown in 2,000
  background ones).
- **Zero-shot prior** (CLAP, Silva-Rodríguez et al., CVPR 2024): ``w`` is pulled towards the
  name's text vector times the model's logit scale — the zero-shot classifier — with a penalty
  ``(PRIOR / positives) · ‖w − w₀‖² / 2`` that fades as examples come in, beside a ridge
  ``RIDGE · ‖w‖² / 2``. With one example the probe ranks like a search for the name; with
  many it is the data's.
- **Whether the name means anything is read from the examples**: ``trust`` is how well the
  name's text vector alone separates the positives from the background (the AUC of its scores,
  mapped so ``TRUST_CHANCE`` → 0 and ``TRUST_FULL`` → 1); ``w₀`` is scaled by it. A name CLIP
  knows ("cat" for cat photos) keeps the prior; one it does not ("Rex", "qwzx", "pets" for a
  model that never saw the word) gets none, and the probe learns from the examples alone.
- **Unlabelled members are not negatives**: background photos the first fit already puts in
  the category are dropped and the probe is fitted again (one round of positive-unlabelled
  cleaning; without it the prior turns the library's unlabelled members into the "hardest
  negatives" and more examples made the probe worse).
- **The examples vote too** (Tip-Adapter's cache, Zhang et al., ECCV 2022, added to the probe
  instead of to zero-shot): a photo very like one of the examples gains up to ``ALPHA`` logits,
  one very like a photo the user rejected loses up to as much.
  A linear boundary cannot hold a category made of several kinds of thing ("pets" = cats and
  dogs); the cache can. At most ``CACHE`` examples (and rejections) are kept for it (the vote
  is most of the scoring cost): those the linear part explains least.
- **Calibrated**: ``b`` is unpenalised, and refitted with the cache term in place (each example
  scored against the others), so ``p`` is a probability of membership under balanced classes.
  Members are the photos above the category's threshold (0.5 by default; the user moves it).

Solver: Newton's method on (w, b), one Cholesky solve per step: 0.1–0.2 s for 1,000 labels plus
the background sample on two cores (bench/bench_categories.py measures it beside torch's L-BFGS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]  # (float32 vectors, float64 solver state, index arrays)

PRIOR = 0.3  # pull towards the name at one positive example (fades as 1 / positives)
RIDGE = 0.1  # the penalty on ‖w‖ that always remains
TRUST_CHANCE = 0.6  # name-only AUC at or below which the name is ignored
TRUST_FULL = 0.85  # … and at or above which it is fully trusted
NEGATIVE_SHARE = 0.9  # the most of the negative half the user's negatives take from the background
CLEAN = 0.5  # background photos the first fit scores above this are not used as negatives
ALPHA = 3.0  # the examples' vote, in logits
BETA = 5.5  # its sharpness (Tip-Adapter's default)
CACHE = 8  # examples kept for the vote
_ITERATIONS = 30
_TOLERANCE = 1e-6


@dataclass
class Probe:
    """A trained category for one model."""

    w: np.ndarray  # D, float32 (logit units)
    b: float
    trust: float  # 0..1: how much the name was used
    cache: np.ndarray  # M×D example vectors (M ≤ CACHE): the examples' vote for
    rejected: np.ndarray  # M'×D "not in" vectors (M' ≤ CACHE): their vote against
    alpha: float = ALPHA

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        z: Array = vectors @ self.w
        z += np.float32(self.b)
        if self.alpha:
            for cache, sign in ((self.cache, 1.0), (self.rejected, -1.0)):
                if len(cache):
                    z += np.float32(sign * self.alpha) * vote(vectors, cache)
        return z

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        return sigmoid(self.logits(vectors))

    def to_bytes(self) -> bytes:
        """w, the cached examples, the cached rejections (as float32 rows); the number of
        cached examples is stored beside it (see from_bytes)."""
        return np.concatenate([self.w[None], self.cache, self.rejected]).astype(
            np.float32).tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes, dim: int, b: float, trust: float,
                   examples: int) -> Probe:
        m = np.frombuffer(blob, np.float32).reshape(-1, dim)
        return cls(m[0].copy(), b, trust, m[1:1 + examples].copy(), m[1 + examples:].copy())


def logits_many(probes: list[Probe], vectors: np.ndarray, chunk: int = 16_384) -> np.ndarray:
    """N×K logits of several probes at once: one matrix product over the vectors for every
    category's weights and cached examples together (the vectors are read once, not K times).
    """
    out = np.empty((len(vectors), len(probes)), np.float32)
    if not probes:
        return out
    k = len(probes)
    groups = [(j, sign * p.alpha, c) for j, p in enumerate(probes) if p.alpha
              for c, sign in ((p.cache, 1.0), (p.rejected, -1.0)) if len(c)]
    bounds = np.cumsum([k] + [len(c) for _, _, c in groups])
    both = np.concatenate([np.stack([p.w for p in probes], axis=1),
                           *(c.T for _, _, c in groups)], axis=1).astype(np.float32)
    bias = np.array([p.b for p in probes], np.float32)
    for start in range(0, len(vectors), chunk):
        z = vectors[start:start + chunk] @ both
        part = z[:, :k]
        part += bias
        votes = z[:, k:]
        votes -= 1.0
        votes *= BETA
        np.exp(votes, out=votes)
        for (j, weight, _), lo, hi in zip(groups, bounds[:-1], bounds[1:], strict=True):
            part[:, j] += np.float32(weight) * z[:, lo:hi].mean(axis=1)
        out[start:start + chunk] = part
    return out


def vote(vectors: np.ndarray, cache: np.ndarray, leave_out_self: bool = False) -> np.ndarray:
    """Mean affinity exp(−β(1 − cos)) to the cached examples (0..1). ``leave_out_self``: the
    vectors are the cache itself, each scored against the others."""
    k = vectors @ cache.T
    k -= 1.0
    k *= BETA
    np.exp(k, out=k)
    if not leave_out_self:
        mean: Array = k.mean(axis=1)
        return mean
    if len(cache) < 2:
        return np.zeros(len(vectors), k.dtype)
    np.fill_diagonal(k, 0.0)
    others: Array = k.sum(axis=1) / (len(cache) - 1)
    return others


def sigmoid(z: np.ndarray) -> np.ndarray:
    p: Array = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return p


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    if not len(pos) or not len(neg):
        return 0.5
    allv = np.concatenate([pos, neg])
    _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
    # the average rank of each distinct value, 1-based
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inv]
    r = ranks[:len(pos)].sum()
    return float((r - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def name_trust(text: np.ndarray | None, pos: np.ndarray, background: np.ndarray) -> float:
    """How far the name alone separates the positives from the background, 0 (chance) to 1."""
    if text is None or not len(pos) or not len(background):
        return 0.0
    a = auc(pos @ text, background @ text)
    return float(np.clip((a - TRUST_CHANCE) / (TRUST_FULL - TRUST_CHANCE), 0.0, 1.0))


def fit(pos: np.ndarray, neg: np.ndarray, background: np.ndarray, text: np.ndarray | None,
        scale: float, prior: float = PRIOR, alpha: float = ALPHA,
        rng: np.random.Generator | None = None) -> Probe:
    """Train on positive and negative example vectors plus a background sample (N×D each,
    normalised). ``text``: the name's normalised text vector (None: no name to start from);
    ``scale``: the model's logit scale. ``prior=0, alpha=0`` is the plain probe."""
    d = next(m.shape[1] for m in (pos, neg, background) if m.ndim == 2 and m.shape[1])
    pos, neg, background = (m.reshape(-1, d) for m in (pos, neg, background))
    trust = name_trust(text, pos, background) if prior > 0 else 0.0
    w0 = np.zeros(d) if text is None else trust * scale * text.astype(np.float64)
    if not len(pos) or not (len(neg) or len(background)):  # one class only: nothing to learn
        return Probe(w0.astype(np.float32), 0.0 if len(pos) else -10.0, trust,
                     pos[:CACHE].astype(np.float32), neg[:CACHE].astype(np.float32), alpha)
    lam_prior = prior * trust / len(pos)
    w, b = _newton(pos, neg, background, w0, lam_prior, RIDGE)
    if CLEAN and len(background):
        kept = background[sigmoid(background @ w + b) < CLEAN]
        if len(kept) or len(neg):
            background = kept
            w, b = _newton(pos, neg, background, w0, lam_prior, RIDGE, w, b)
    # the votes keep the examples the linear boundary explains least (the other kinds of thing
    # in the category; the rejected photos it still scores highest), at most CACHE of each
    cached = np.sort(np.argsort(pos @ w, kind="stable")[:CACHE])
    rejected = np.sort(np.argsort(-(neg @ w), kind="stable")[:CACHE])
    probe = Probe(w.astype(np.float32), b, trust, pos[cached].astype(np.float32),
                  neg[rejected].astype(np.float32), alpha)
    if alpha:
        probe.b = _recalibrate(probe, pos, cached, neg, rejected, background)
    return probe


def _weights(n_pos: int, n_neg: int, n_bg: int) -> np.ndarray:
    """Positives half the loss; the user's negatives a share of the other half that grows
    with their number (each weighs what a positive does, up to NEGATIVE_SHARE of the half),
    the background the rest."""
    share = min(NEGATIVE_SHARE, n_neg / n_pos) if n_bg else 1.0
    return np.concatenate([np.full(n_pos, 0.5 / n_pos),
                           np.full(n_neg, 0.5 * share / max(n_neg, 1)),
                           np.full(n_bg, 0.5 * (1 - share) / max(n_bg, 1))])


def _newton(pos: Array, neg: Array, background: Array, w0: Array, lam_prior: float,
            ridge: float, w: Array | None = None,
            b: float | None = None) -> tuple[Array, float]:
    """Minimise the balanced log-loss + lam_prior/2 ‖w − w0‖² + ridge/2 ‖w‖² over (w, b)."""
    d = pos.shape[1]
    x = np.concatenate([pos, neg, background]).astype(np.float64)
    xb = np.hstack([x, np.ones((len(x), 1))])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(background))])
    a = _weights(len(pos), len(neg), len(background))
    lam = lam_prior + ridge
    target = np.concatenate([w0 * (lam_prior / lam), [0.0]])  # the two penalties' minimum
    reg = np.full(d + 1, lam)
    reg[-1] = 0.0
    if w is None:
        w = target[:-1].copy()
        z = x @ w
        b = -0.5 * (np.average(z[y == 1], weights=a[y == 1])
                    + np.average(z[y == 0], weights=a[y == 0]))
    theta = np.concatenate([w, [b]]).astype(np.float64)
    for _ in range(_ITERATIONS):
        p = sigmoid(xb @ theta)
        grad = xb.T @ (a * (p - y)) + reg * (theta - target)
        h = (xb * (a * p * (1 - p))[:, None]).T @ xb
        h[np.diag_indices_from(h)] += reg + 1e-9
        step = _solve(h, grad)
        theta -= step
        if np.abs(step).max() < _TOLERANCE * (1 + np.abs(theta).max()):
            break
    return theta[:-1], float(theta[-1])


def _recalibrate(probe: Probe, pos: Array, cached: Array, neg: Array, rejected: Array,
                 background: Array) -> float:
    """The bias that fits the balanced classes with the votes added (a cached photo's vote
    counted without itself, as a new photo's would be): 1-D Newton."""

    def votes(x: Array, own_for: Array | None, own_against: Array | None) -> Array:
        out = np.zeros(len(x))
        for cache, sign, own in ((probe.cache, 1.0, own_for),
                                 (probe.rejected, -1.0, own_against)):
            if not len(cache):
                continue
            v = vote(x, cache)
            if own is not None and len(own):
                v[own] = vote(x[own], cache, leave_out_self=True)
            out += sign * probe.alpha * v
        return out

    z = np.concatenate([pos @ probe.w + votes(pos, cached, None),
                        neg @ probe.w + votes(neg, None, rejected),
                        background @ probe.w + votes(background, None, None)])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(background))])
    a = _weights(len(pos), len(neg), len(background))
    b = probe.b
    for _ in range(50):
        p = sigmoid(z + b)
        g, h = np.sum(a * (p - y)), np.sum(a * p * (1 - p)) + 1e-12
        b -= g / h
        if abs(g / h) < 1e-8:
            break
    return float(b)


def _solve(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        c = np.linalg.cholesky(h)
        return np.linalg.solve(c.T, np.linalg.solve(c, g))
    except np.linalg.LinAlgError:
        least: Array = np.linalg.lstsq(h, g, rcond=None)[0]
        return least
