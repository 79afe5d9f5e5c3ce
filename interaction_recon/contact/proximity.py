"""Contact evidence from where the hands are in the image: a hand of one person on a part of
the other (``fitting.contact.source: keypoints``).

Per frame, every (person 0 part, person 1 part) pair with a hand on at least one side is
scored by the 2D distance of its two anchors (:data:`interaction_recon.contact.features.ANCHORS`)
in units of the pair's mean torso height. Only a pair that is each part's nearest on the
other body (mutual nearest, among all parts) and whose anchors are placed, one of them seen
(where two hands meet, one hides the other), counts, so one hand gives at most one pair. The
probability falls linearly from 1 at distance 0 to 0.5 at ``reach`` and 0 at twice it. Where
the current fit is given, a pair whose anchors it places more than ``max_apart`` apart in 3D
gets 0: two people at different depths overlap in the image without touching. Nothing here
is learned; chirality, smoothing and hysteresis follow in :mod:`interaction_recon.contact.evidence`.
"""
from __future__ import annotations

import numpy as np

from interaction_recon.body.skeleton import COARSE_PARTS
from interaction_recon.contact.features import ANCHORS, NUM_PARTS, anchor_distances, observed, torso_height

HANDS = [i for i, name in enumerate(COARSE_PARTS) if name.endswith(" hand")]
_WITH_HAND = np.zeros((NUM_PARTS, NUM_PARTS), bool)
_WITH_HAND[HANDS, :] = True
_WITH_HAND[:, HANDS] = True


def proximity_map(keypoints: np.ndarray, confidence: np.ndarray, points3d: np.ndarray | None, min_confidence: float,
                  anchor_confidence: float, reach: float, max_apart: float) -> tuple[np.ndarray, np.ndarray]:
    """Contact probabilities [T, 25, 25] float32 and availability [T] bool (both torsos seen).

    keypoints [2, T, 33, 2] px (BlazePose-33, NaN where missing), confidence [2, T, 33];
    points3d [2, T, 33, 3] m the current fit's points (camera frame) or None; min_confidence:
    the torso landmarks' and both anchors' threshold (an anchor's confidence is its
    landmarks' mix); anchor_confidence: one of the two anchors must reach it; reach: torso
    heights; max_apart: m.
    """
    kp, conf = observed(keypoints, confidence)
    anchor_conf = np.einsum("ak,ptk->pta", ANCHORS, conf)  # [2, T, 25]
    scale = torso_height(kp, conf, min_confidence).mean(0)  # [T] px, NaN unless both torsos are seen
    available = np.isfinite(scale)
    dist = anchor_distances(kp) / np.where(available, scale, 1.0)[:, None, None]  # [T, 25, 25] torso heights
    # nearest among all parts, however confident: a hidden hand still claims what it is near
    # (and gives no evidence), rather than leaving it to an unrelated visible part
    mutual = (dist <= dist.min(2, keepdims=True)) & (dist <= dist.min(1, keepdims=True))
    c0, c1 = anchor_conf[0][:, :, None], anchor_conf[1][:, None]
    # both anchors placed, one of them seen: where two hands meet, one hides the other
    seen = (np.minimum(c0, c1) >= min_confidence) & (np.maximum(c0, c1) >= anchor_confidence)
    usable = mutual & _WITH_HAND & available[:, None, None] & seen
    if points3d is not None:
        usable &= anchor_distances(points3d.astype(np.float64)) <= max_apart  # NaN (a point unknown): no
    probs = np.where(usable, np.clip(1.0 - dist / (2.0 * reach), 0.0, 1.0), 0.0)
    return probs.astype(np.float32), available
