"""Contacts between the two people: which body parts touch, estimated from the current fit.

During fitting (:func:`estimate`): the part pairs the contact evidence
(:mod:`interaction_recon.contact`) gives, weighted by their probability, and, with
``fitting.contact_from_fit``, also those whose closest vertices are within ``threshold`` in
the current fit where the two people's 2D keypoint boxes overlap. For output
(:func:`report`): the evidence's contacts placed on the fitted bodies.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyOutput
from interaction_recon.fitting.result import Contact

Pairs = list[tuple[Tensor, Tensor, Tensor, Tensor]]  # (frames [n], verts_a, verts_b, weight [n])


def nearest(out: BodyOutput, within: float, step: int = 2, chunk: int = 16) -> tuple[Tensor, Tensor, Tensor]:
    """For person 0's collision vertices (every ``step``-th): distance [T, Va] to the closest
    vertex of person 1 (every ``step``-th), that vertex's index [T, Va] (into the full set),
    and the indices [Va] of the person-0 vertices used. Frames where the two bodies' boxes
    are more than ``within`` apart are skipped (distance inf). No gradient."""
    with torch.no_grad():
        va = torch.arange(0, out.collision_vertices.shape[2], step, device=out.joints.device)
        a, b = out.collision_vertices[0][:, va], out.collision_vertices[1][:, va]
        gap = torch.maximum(a.amin(1) - b.amax(1), b.amin(1) - a.amax(1)).amax(-1)  # [T] box separation
        dist = torch.full(a.shape[:2], torch.inf, device=a.device)
        idx = torch.zeros(a.shape[:2], dtype=torch.long, device=a.device)
        near = torch.nonzero(gap < within)[:, 0]
        for c in range(0, len(near), chunk):
            t = near[c:c + chunk]
            d, i = torch.cdist(a[t], b[t]).min(-1)
            dist[t], idx[t] = d, va[i]
        return dist, idx, va


def boxes_touch(keypoints: np.ndarray, confidence: np.ndarray, min_confidence: float, margin: float = 0.05) -> np.ndarray:
    """[T] bool: the two people's keypoint boxes (grown by ``margin`` of their height) overlap.
    keypoints [2, T, K, 2], confidence [2, T, K]."""
    ok = confidence >= min_confidence
    big = np.where(ok[..., None], keypoints, np.nan)
    with warnings.catch_warnings():  # all-NaN frames (nobody observed) give NaN boxes
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(big, 2), np.nanmax(big, 2)  # [2,T,2]
    grow = margin * (hi[..., 1:2] - lo[..., 1:2])
    lo, hi = lo - grow, hi + grow
    overlap = (np.minimum(hi[0], hi[1]) > np.maximum(lo[0], lo[1])).all(-1)
    return overlap & ok.any(-1).all(0)


def estimate(out: BodyOutput, part_index: Tensor, touching: Tensor, weight: Tensor, threshold: float,
             external: list[tuple[int, str, str, float]] = (), from_fit: bool = True) -> Pairs:
    """Part pairs in contact, grouped per pair for :func:`interaction_recon.fitting.losses.contact`.

    part_index [Vc] coarse part of each collision vertex; touching [T] bool (2D evidence);
    weight [T] (observation confidence); external: (frame in window, part_a, part_b, conf);
    from_fit: also the pairs within ``threshold`` in the current fit where the people's boxes
    touch (no evidence of touch beyond proximity).
    """
    found: dict[tuple[int, int], dict[int, float]] = {}
    if from_fit:
        dist, idx, va = nearest(out, threshold)
        t, i = torch.nonzero((dist < threshold) & touching[:, None], as_tuple=True)
        for tt, a, b in zip(t.tolist(), part_index[va[i]].tolist(), part_index[idx[t, i]].tolist()):
            found.setdefault((a, b), {})[tt] = float(weight[tt])
    for frame, part_a, part_b, conf in external:
        for a in skeleton.coarse_part_members(part_a):
            for b in skeleton.coarse_part_members(part_b):
                key = (skeleton.COARSE_PARTS.index(a), skeleton.COARSE_PARTS.index(b))
                found.setdefault(key, {})[int(frame)] = max(float(conf), found.get(key, {}).get(int(frame), 0.0))
    pairs = []
    for (a, b), frames in found.items():
        ts = torch.tensor(sorted(frames), device=part_index.device)
        w = torch.tensor([frames[x] for x in sorted(frames)], device=part_index.device)
        pairs.append((ts, torch.nonzero(part_index == a)[:, 0], torch.nonzero(part_index == b)[:, 0], w))
    return pairs


def report(out: BodyOutput, part_index: Tensor, frames: np.ndarray, evidence, published: np.ndarray) -> list[Contact]:
    """The evidence's contacts (:class:`interaction_recon.contact.evidence.Evidence`) in the
    frames where both people are ``published`` [T], each placed on the fit: the midpoint of
    the closest collision vertices of the two parts and their distance. The confidence is the
    evidence's probability in that frame. frames [T] absolute indices."""
    verts = out.collision_vertices.detach()
    contacts = []
    for s in evidence.segments:
        ts = torch.as_tensor([t for t in range(s.start, s.end) if published[t]], dtype=torch.long)
        if len(ts) == 0:
            continue
        va, vb = torch.nonzero(part_index == s.a)[:, 0], torch.nonzero(part_index == s.b)[:, 0]
        d, i = torch.cdist(verts[0][ts][:, va], verts[1][ts][:, vb]).flatten(1).min(1)  # [n] per frame
        points = 0.5 * (verts[0][ts, va[i // len(vb)]] + verts[1][ts, vb[i % len(vb)]])  # [n, 3]
        for t, dist, point in zip(ts.tolist(), d.tolist(), points.tolist()):
            contacts.append(Contact(int(frames[t]), skeleton.COARSE_PARTS[s.a], skeleton.COARSE_PARTS[s.b],
                                    [round(x, 4) for x in point], round(dist, 4),
                                    round(float(evidence.probs[t, s.a, s.b]), 3)))
    return contacts
