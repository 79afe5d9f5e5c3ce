"""Contact evidence for one window: the learned contact map, other sources fused in, the
chirality check against the 2D keypoints, and contacts with a start and an end.

    estimator = ContactEstimator(config.fitting.contact)
    ev = estimator.window(keypoints, confidence, fit_points, observed, external=[(t, "right hand", "back", 0.9)])
    ev.pairs()        # [(frame in window, part of person 0, part of person 1, probability)]

Steps (Ask-Pose-Unite's contact maps, cleaned as it does with the 2D keypoints):

1. per frame a probability for every (person 0 part, person 1 part) pair from the 2D
   keypoints and the current fit's 3D points: the learned map
   (:class:`interaction_recon.contact.model.ContactMap`) or a hand's proximity in the image
   (:func:`interaction_recon.contact.proximity.proximity_map`); 0 where the two people were
   not both seen (``available`` False: no evidence, which is not evidence of no contact);
2. other sources (a language model's answers, ``external``) spread over ``spread_frames``
   around their frame and fused by the larger probability;
3. chirality: a pair whose part has a side, where the other side's anchor is clearly nearer
   the other person's part in the image (:func:`correct_chirality`), moves to that side;
4. smoothing over ``smooth_frames`` and hysteresis per pair: a contact starts where the
   probability reaches ``enter``, ends where it falls below ``leave``, and counts only when it
   lasts ``min_frames`` (:func:`segments`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d

from interaction_recon.body.skeleton import COARSE_PARTS
from interaction_recon.contact.data import FLIP_PARTS
from interaction_recon.contact.features import ANCHORS, NUM_PARTS, frame_features
from interaction_recon.contact.proximity import proximity_map

log = logging.getLogger(__name__)


@dataclass
class Segment:
    """One contact: person 0's part ``a`` and person 1's part ``b`` (indices into COARSE_PARTS)
    from window position ``start`` to ``end`` (exclusive)."""

    a: int
    b: int
    start: int
    end: int


@dataclass
class Evidence:
    """probs [T, 25, 25] after fusion, chirality and smoothing; available [T] bool;
    segments: the contacts that passed the hysteresis; corrected: pairs moved to the other side."""

    probs: np.ndarray
    available: np.ndarray
    segments: list[Segment] = field(default_factory=list)
    corrected: int = 0

    def pairs(self) -> list[tuple[int, str, str, float]]:
        """(window position, part of person 0, part of person 1, probability that frame) for
        every frame of every segment."""
        return [(t, COARSE_PARTS[s.a], COARSE_PARTS[s.b], float(self.probs[t, s.a, s.b]))
                for s in self.segments for t in range(s.start, s.end)]


def external_map(external, T: int, spread: int) -> np.ndarray:
    """[T, 25, 25] from (window position, part_a, part_b, probability) entries (part names of
    ``COARSE_PARTS``), each held over ``spread`` frames either side."""
    out = np.zeros((T, NUM_PARTS, NUM_PARTS), np.float32)
    for t, a, b, p in external:
        lo, hi = max(0, int(t) - spread), min(T, int(t) + spread + 1)
        i, j = COARSE_PARTS.index(a), COARSE_PARTS.index(b)
        out[lo:hi, i, j] = np.maximum(out[lo:hi, i, j], float(p))
    return out


def correct_chirality(probs: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, min_confidence: float,
                      ratio: float, floor: float) -> tuple[np.ndarray, int]:
    """Move each pair above ``floor`` whose left/right label the 2D keypoints contradict.

    For the pair (a, b) and its side variants (a', b), (a, b'), (a', b'), the 2D distance of
    the two anchors; when a variant whose anchors were both seen (``min_confidence``) is
    nearer than ``ratio`` times the pair's own distance, the probability moves to the nearest
    such variant. probs [T, 25, 25]; keypoints [2, T, 33, 2] px; confidence [2, T, 33].
    Returns the corrected map and the number of (frame, pair) entries moved.
    """
    out = probs.copy()
    a2 = np.einsum("ak,ptkd->ptad", ANCHORS, np.nan_to_num(keypoints.astype(np.float64)))
    seen = np.einsum("ak,ptk->pta", ANCHORS, np.nan_to_num(confidence)) >= min_confidence  # [2, T, 25]
    moved = 0
    for t, a, b in zip(*np.nonzero(probs > floor)):
        variants = {(a, b), (FLIP_PARTS[a], b), (a, FLIP_PARTS[b]), (FLIP_PARTS[a], FLIP_PARTS[b])} - {(a, b)}
        own = np.linalg.norm(a2[0, t, a] - a2[1, t, b])
        best, best_d = None, ratio * own
        for i, j in variants:
            if seen[0, t, i] and seen[1, t, j]:
                d = np.linalg.norm(a2[0, t, i] - a2[1, t, j])
                if d < best_d:
                    best, best_d = (i, j), d
        if best is not None and probs[t, a, b] > probs[t, best[0], best[1]]:
            out[t, best[0], best[1]] = max(out[t, best[0], best[1]], probs[t, a, b])
            out[t, a, b] = min(out[t, a, b], probs[t, best[0], best[1]])
            moved += 1
    return out, moved


def segments(p: np.ndarray, enter: float, leave: float, min_frames: int) -> list[tuple[int, int]]:
    """[start, end) spans of a probability sequence p [T] under hysteresis: on at ``enter``,
    off below ``leave``, kept when at least ``min_frames`` long."""
    spans, start = [], None
    for t, x in enumerate(p):
        if start is None and x >= enter:
            start = t
        elif start is not None and x < leave:
            spans.append((start, t))
            start = None
    if start is not None:
        spans.append((start, len(p)))
    return [(s, e) for s, e in spans if e - s >= min_frames]


class ContactEstimator:
    """The learned contact map with the steps of the module docstring; ``config`` is a
    :class:`interaction_recon.config.ContactConfig`."""

    def __init__(self, config):
        from interaction_recon.contact.model import ContactMap, load_model

        if config.source not in ("learned", "keypoints", "none"):
            raise ValueError(f"fitting.contact.source must be learned, keypoints or none, got {config.source!r}")
        self.config = config
        self.map = (ContactMap(load_model(config.model_path), config.runtime, config.onnx_path)
                    if config.source == "learned" else None)

    def window(self, keypoints: np.ndarray, confidence: np.ndarray, points3d: np.ndarray | None, observed: np.ndarray,
               external=(), min_confidence: float = 0.2) -> Evidence:
        """keypoints [2, T, 33, 2] px (BlazePose-33), confidence [2, T, 33], points3d [2, T, 33, 3]
        the current fit's BlazePose-33 points (camera frame, m; None: no learned evidence, and
        the keypoint source unchecked in 3D),
        observed [T] bool both people seen; external: (window position, part_a, part_b, probability)."""
        cfg = self.config
        T = keypoints.shape[1]
        probs = np.zeros((T, NUM_PARTS, NUM_PARTS), np.float32)
        available = np.zeros(T, bool)
        if cfg.source == "none" and not external:
            return Evidence(probs, available)  # no source: no evidence
        if cfg.source == "keypoints":
            probs, available = proximity_map(keypoints, confidence, points3d, min_confidence, cfg.anchor_confidence,
                                             cfg.reach, cfg.max_apart)
            available &= observed
            probs[~available] = 0.0
        if self.map is not None and points3d is not None:
            x, available = frame_features(keypoints, confidence, points3d, min_confidence)
            available &= observed
            if available.any():
                probs[available] = self.map.probabilities(x[available])
        if external:
            told = external_map(external, T, cfg.spread_frames)
            probs, available = np.maximum(probs, told), available | told.any((1, 2))
        probs, moved = correct_chirality(probs, keypoints, confidence, min_confidence, cfg.chirality_ratio, cfg.leave)
        if cfg.smooth_frames > 1 and T:
            probs = uniform_filter1d(probs, size=cfg.smooth_frames, axis=0, mode="nearest")
        found = []
        for a, b in zip(*np.nonzero((probs >= cfg.enter).any(0))):
            for s, e in segments(probs[:, a, b], cfg.enter, cfg.leave, cfg.min_frames):
                found.append(Segment(int(a), int(b), s, e))
        return Evidence(probs, available, found, moved)
