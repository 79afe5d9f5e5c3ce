"""A hand that overlaps the other person in the image is near them in 3D.

One view cannot tell an arm reaching towards the camera from one reaching away: both draw the
same keypoints. When a person's wrist is held out (at least ``held_out`` x their image height
from the hip on its side: a hanging hand overlaps whoever stands behind without touching
them) and lies on the other person in the image (within ``radius`` x that person's image
height of one of their keypoints), and the two stand within reach, the wrist is within
``margin`` metres (about a forearm) of the other person's point under it, in 3D: the arm
reaches towards the person it is drawn on, not away from them (a patting hand is near the
shoulder, not half a metre behind it). A hand drawn on the other's legs (knee and below) counts
for nothing: people standing in touch reach for each other's hands, arms and trunk, and a hand
over someone's shins is one of the two standing in front of the other. A hinge, so a hand
already near is not pulled into contact: contact itself needs evidence
(:mod:`interaction_recon.contact`). It moves the arm only: the shoulder and the other person
are held where they are, so the term bends the arm in depth instead of pulling the two people
together.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS

WRISTS = {BLAZEPOSE33.index(f"{s}_wrist"): BLAZEPOSE33.index(f"{s}_hip") for s in ("left", "right")}
_LEGS = np.arange(len(BLAZEPOSE33)) >= BLAZEPOSE33.index("left_knee")  # knees, ankles, heels, toes
_SHOULDER = torch.zeros(len(BLAZEPOSE33), dtype=torch.long)  # wrist keypoint -> its shoulder's
_COLLAR = torch.zeros(len(BLAZEPOSE33), dtype=torch.long)  # wrist keypoint -> its SMPL collar joint
for _side in ("left", "right"):
    _SHOULDER[BLAZEPOSE33.index(f"{_side}_wrist")] = BLAZEPOSE33.index(f"{_side}_shoulder")
    _COLLAR[BLAZEPOSE33.index(f"{_side}_wrist")] = SMPL_JOINTS.index(f"{_side}_collar")


def reach_pairs(keypoints: np.ndarray, confidence: np.ndarray, min_confidence: float, radius: float,
                held_out: float) -> np.ndarray:
    """keypoints [2, T, 33, 2] px, confidence [2, T, 33] -> pairs [N, 4] int64 (frame, person,
    wrist keypoint, the other person's keypoint nearest to it in the image), for every seen
    wrist held out by ``held_out`` x its person's image height (seen keypoints' extent) from the
    hip on its side and within ``radius`` x the other person's image height of one of the
    other's seen keypoints, that one not on their legs (knee and below)."""
    seen = (confidence >= min_confidence) & np.isfinite(keypoints).all(-1)  # [2, T, 33]
    pts = np.where(seen[..., None], keypoints, np.nan)
    y = keypoints[..., 1]
    height = np.where(seen, y, -np.inf).max(-1) - np.where(seen, y, np.inf).min(-1)  # [2, T], -inf unseen
    rows = []
    for p in range(2):
        o = 1 - p
        for w, hip in WRISTS.items():
            out = np.linalg.norm(pts[p, :, w] - pts[p, :, hip], axis=-1) >= held_out * height[p]  # NaN: False
            d = np.linalg.norm(pts[p, :, w, None] - pts[o], axis=-1)  # [T, 33]
            d = np.where(np.isfinite(d), d, np.inf)
            k = d.argmin(-1)  # [T]
            near = (d[np.arange(len(k)), k] <= radius * height[o]) & ~_LEGS[k]
            for t in np.flatnonzero(near & out & seen[p, :, w]):
                rows.append((t, p, w, k[t]))
    return np.array(rows, np.int64).reshape(-1, 4)


def reach_loss(points: Tensor, rotations: Tensor, pairs: Tensor, margin: float) -> Tensor:
    """Mean squared excess (m^2) over ``margin`` of each pair's 3D distance, its gradient through
    the arm alone: the wrist is taken relative to its shoulder in its collar's frame, that frame,
    the shoulder and the other person's point held, so the spine is not turned to bring the hand
    near. points [2, T, 33, 3] (the fit's keypoints, camera frame); rotations [2, T, 24, 3, 3]
    the joints' global rotations; pairs [N, 4] long as :func:`reach_pairs` (frames into T)."""
    if len(pairs) == 0:
        return points.new_zeros(())
    t, p, w, k = pairs.unbind(-1)
    shoulder = points[p, t, _SHOULDER.to(w.device)[w]]
    collar = rotations[p, t, _COLLAR.to(w.device)[w]]  # [N, 3, 3]
    arm = collar.transpose(-1, -2) @ (points[p, t, w] - shoulder).unsqueeze(-1)  # in the collar's frame
    wrist = shoulder.detach() + (collar.detach() @ arm).squeeze(-1)
    d = (wrist - points[1 - p, t, k].detach()).norm(dim=-1)
    return (d - margin).clamp_min(0).pow(2).mean()


def as_tensor(pairs: np.ndarray, first: int, device) -> Tensor:
    """The pairs at frames ``first`` and later, their frames counted from ``first`` (the frames
    the loss sees), as a long tensor on ``device``."""
    pairs = pairs[pairs[:, 0] >= first].copy()
    pairs[:, 0] -= first
    return torch.as_tensor(pairs, dtype=torch.long, device=device)
