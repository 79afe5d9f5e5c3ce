"""Scores of a PeopleTrack against the synthetic world's ground truth (BlazePose-33 2D).

Per frame, the slot -> person mapping is whichever of the two (straight or swapped) gives the
smaller mean keypoint distance, measured over the joints visible on both people; an identity
swap is a change of that mapping between decided frames. A frame is left undecided where the
two people's keypoints lie within the PCK radius of each other (one body in front of the
other, seen along the line between them): any estimate that is correct by PCK there is
correct for both, so it says nothing about identity. Keypoint error and PCK use the mapping
fixed by the first decided frame and then followed through the slot ids (so a swap costs
accuracy).
"""
from __future__ import annotations

import numpy as np


def _dist(kp: np.ndarray, conf: np.ndarray, gt: np.ndarray, vis: np.ndarray) -> float:
    """Mean px distance over joints confident and in vis: kp/gt [33,2], conf/vis [33]."""
    ok = (conf > 0.2) & vis & np.isfinite(kp).all(-1)
    return float(np.linalg.norm(kp[ok] - gt[ok], axis=-1).mean()) if ok.sum() >= 3 else np.nan


def _box_size(boxes: np.ndarray) -> np.ndarray:
    """Longer side of [..., 4] xyxy boxes."""
    return np.maximum(boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1])


def frame_mapping(track, gt: dict, alpha: float = 0.1) -> np.ndarray:
    """[T] 0 (slot s shows person s), 1 (swapped), -1 (undecided) or -2 (the two people closer
    than alpha x the smaller box's longer side: median over the joints visible on both).
    Distances over the joints visible on both people (at least 5); with both slots present,
    the cheaper of the two pairings (by a 10% margin); with one, the nearer person (by 1.5x)."""
    kp, conf, T = track.keypoints, track.confidence, track.num_frames
    gkp, gvis = gt["blazepose33_2d"], gt["visible_blazepose33"]
    radius = alpha * _box_size(gt["boxes"]).min(0)  # [T]
    out = np.full(T, -1)
    for t in range(T):
        common = gvis[0, t] & gvis[1, t]
        if common.sum() < 5:
            continue
        if np.median(np.linalg.norm(gkp[0, t, common] - gkp[1, t, common], axis=-1)) < radius[t]:
            out[t] = -2
            continue
        d = np.array([[_dist(kp[s, t], conf[s, t], gkp[p, t], common) if track.present[s, t] else np.nan
                       for p in range(2)] for s in range(2)])
        if track.present[:, t].all():
            straight, swapped = d[0, 0] + d[1, 1], d[0, 1] + d[1, 0]
            if np.isfinite(straight) and np.isfinite(swapped) and abs(straight - swapped) > 0.1 * min(straight, swapped):
                out[t] = int(swapped < straight)
        elif track.present[:, t].any():
            s = int(np.flatnonzero(track.present[:, t])[0])
            a, b = d[s]
            if np.isfinite(a) and np.isfinite(b) and max(a, b) > 1.5 * min(a, b):
                out[t] = int((b < a) != (s == 1))
    return out


def score_clip(track, gt: dict, alpha: float = 0.1) -> dict:
    """Identity swaps, detection recall, keypoint error (px, median and mean) and PCK@alpha
    (of the ground-truth box's longer side) over visible ground-truth joints; close_frames:
    frames left out of the swap count because the two people were too close to tell apart."""
    mapping = frame_mapping(track, gt, alpha)
    decided = mapping[mapping >= 0]
    swaps = int((np.diff(decided) != 0).sum()) if len(decided) else 0
    first = int(decided[0]) if len(decided) else 0
    order = [first, 1 - first]  # slot s shows person order[s]
    gkp, gvis, boxes = gt["blazepose33_2d"], gt["visible_blazepose33"], gt["boxes"]
    errors, hits, total, seen, people = [], 0, 0, 0, 0
    for s in range(2):
        p = order[s]
        size = _box_size(boxes[p])  # [T]
        visible_person = gvis[p].sum(1) >= 5
        people += int(visible_person.sum())
        seen += int((visible_person & track.present[s]).sum())
        vis = gvis[p] & visible_person[:, None]  # [T,33]
        found = vis & (track.confidence[s] > 0) & np.isfinite(track.keypoints[s]).all(-1)
        err = np.linalg.norm(track.keypoints[s] - gkp[p], axis=-1)  # [T,33]
        errors.append(err[found])
        hits += int((found & (err <= alpha * size[:, None])).sum())
        total += int(vis.sum())
    errors = np.concatenate(errors) if errors else np.zeros(0)
    return {"frames": track.num_frames, "identity_swaps": swaps, "decided_frames": int(len(decided)),
            "close_frames": int((mapping == -2).sum()),
            "recall": seen / max(people, 1),
            "kp_error_px_median": float(np.median(errors)) if len(errors) else float("nan"),
            "kp_error_px_mean": float(errors.mean()) if len(errors) else float("nan"),
            f"pck@{alpha}": hits / max(total, 1)}


def score_reference(boxes: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, reference: list[dict],
                    min_score: float = 0.5, min_conf: float = 0.5, iou: float = 0.5) -> dict:
    """One real image against an independent 2D reference (``../shared/real-reference/``
    format: people with box x0,y0,x1,y1, score and COCO-17 [x, y, confidence] px).
    boxes [N,4], keypoints [N,17,2] px and confidence [N,17]: the people found.
    Reference people with score >= min_score count; each is matched to the found person of
    highest box IoU (at least ``iou``, each found person once, best pairs first). PCK@a: share
    of the matched people's reference joints (confidence > min_conf) within a x the reference
    box's diagonal; a joint given confidence 0 (missing) counts as a miss."""
    from interaction_recon.perception.detectors import box_iou

    people = [p for p in reference if p["score"] >= min_score]
    out = {"reference_people": len(people), "found": 0, "joints": 0, "pck@0.05": 0, "pck@0.1": 0}
    if not people:
        return out
    ref_boxes = np.array([p["box"] for p in people], np.float32)
    overlap = box_iou(ref_boxes, boxes) if len(boxes) else np.zeros((len(people), 0))
    pairs = sorted(((overlap[r, f], r, f) for r in range(len(people)) for f in range(len(boxes))), reverse=True)
    used_r, used_f = set(), set()
    hits = {0.05: 0, 0.1: 0}
    for o, r, f in pairs:
        if o < iou or r in used_r or f in used_f:
            continue
        used_r.add(r)
        used_f.add(f)
        ref = np.asarray(people[r]["keypoints_coco17"], np.float32)
        seen = ref[:, 2] > min_conf
        diag = float(np.hypot(*(ref_boxes[r, 2:] - ref_boxes[r, :2])))
        err = np.linalg.norm(keypoints[f] - ref[:, :2], axis=-1)
        given = (confidence[f] > 0) & np.isfinite(err)
        for a in hits:
            hits[a] += int((seen & given & (err < a * diag)).sum())
        out["joints"] += int(seen.sum())
    out["found"] = len(used_r)
    for a in hits:
        out[f"pck@{a}"] = hits[a] / max(out["joints"], 1)
    return out
