"""Metrics for two people in close contact, as defined in the project's METRICS.md.

Conventions shared by every function:

- Arrays put the person axis first: ``[2, T, ...]``. 3D joints are ``[2, T, 24, 3]``
  in SMPL-24 order, in the OpenCV camera frame (x right, y down, z forward), metres.
- Work is done in float64; 3D distances come out in millimetres, image errors in
  pixels, shares in [0, 1].
- A NaN in a person's scored joints means that person is unknown in that frame. Such
  samples are left out of the average and counted in ``Average.excluded``; they are
  never turned into zeros. A mean over no samples is NaN.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

import numpy as np

from interaction_recon.render.camera import project

# The 14 LSP-style scored joints as SMPL-24 indices, in LSP order: right ankle, knee,
# hip, left hip, knee, ankle, right wrist, elbow, shoulder, left shoulder, elbow,
# wrist, neck, head.
SCORED_JOINTS = (8, 5, 2, 1, 4, 7, 21, 19, 17, 16, 18, 20, 12, 15)
# Left and right hip; the root is their mean.
HIP_JOINTS = (1, 2)
# Depth order only counts frames whose ground-truth root depths differ by more than this.
DEPTH_GAP_M = 0.2
# Radii at which score_sequence reports the PCC curve.
PCC_THRESHOLDS_M = (0.05, 0.10, 0.15, 0.20)


class Average(NamedTuple):
    """A mean over the valid samples, and how many samples were left out as unknown."""

    value: float
    excluded: int


def root(joints) -> np.ndarray:
    """Root, the mean of the two hips: joints ``[..., 24, 3]`` -> ``[..., 3]``."""
    return np.asarray(joints, dtype=np.float64)[..., HIP_JOINTS, :].mean(axis=-2)


def procrustes_align(src, dst) -> np.ndarray:
    """Similarity transform (scale, rotation, translation) of ``src`` fitted onto ``dst``.

    Umeyama's least-squares solution without reflections, batched over leading axes:
    src, dst ``[..., N, 3]`` -> src aligned onto dst ``[..., N, 3]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean = src.mean(axis=-2, keepdims=True)
    dst_mean = dst.mean(axis=-2, keepdims=True)
    s, d = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(np.swapaxes(d, -1, -2) @ s)
    flip = np.ones_like(sigma)
    flip[..., -1] = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    rotation = (u * flip[..., None, :]) @ vt
    src_var = (s**2).sum(axis=(-2, -1))
    scale = np.divide((sigma * flip).sum(axis=-1), src_var,
                      out=np.zeros_like(src_var), where=src_var > 0)
    return scale[..., None, None] * (s @ np.swapaxes(rotation, -1, -2)) + dst_mean


def _known(joints) -> np.ndarray:
    """``[..., 24, 3]`` -> ``[...]`` bool: every scored joint is finite."""
    return np.isfinite(np.asarray(joints, dtype=np.float64)[..., SCORED_JOINTS, :]).all(axis=(-2, -1))


def _scored(joints) -> np.ndarray:
    """The scored joints: ``[..., 24, 3]`` -> ``[..., 14, 3]``."""
    return np.asarray(joints, dtype=np.float64)[..., SCORED_JOINTS, :]


def _root_relative(joints) -> np.ndarray:
    """Scored joints minus the root: ``[..., 24, 3]`` -> ``[..., 14, 3]``."""
    return _scored(joints) - root(joints)[..., None, :]


def _average(values, valid) -> Average:
    """Mean of ``values`` where ``valid`` (same shape); the rest count as excluded."""
    valid = np.asarray(valid, dtype=bool)
    n = int(valid.sum())
    value = float(np.asarray(values)[valid].mean()) if n else float("nan")
    return Average(value, valid.size - n)


def _nanmean(x, axis=None):
    """Mean of the finite entries of ``x`` along ``axis``; NaN (no warning) where there are none."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    count = ok.sum(axis=axis)
    total = np.where(ok, x, 0.0).sum(axis=axis)
    return np.divide(total, count, out=np.full(np.shape(total), np.nan), where=count > 0)


def match_person_order(pred, gt) -> tuple[tuple[int, int], int]:
    """Match predicted person order to ground truth.

    pred, gt: joints ``[2, T, 24, 3]``. The cost of an assignment in a frame is the mean
    root-relative error (MPJPE) of its person pairs that are known; the assignment
    (identity or swapped) with the lower cost averaged over the sequence wins (identity
    on a tie). Returns ``(perm, swaps)``: ``pred[list(perm)]`` is in ground-truth order,
    and ``swaps`` is the number of changes in the per-frame best assignment, frames where
    it cannot be decided (unknown people) skipped.
    """
    rp, rg = _root_relative(pred), _root_relative(gt)
    # cost[i, j, t]: error of predicted person i against ground-truth person j.
    cost = np.linalg.norm(rp[:, None] - rg[None, :], axis=-1).mean(axis=-1)
    identity = _nanmean(np.stack([cost[0, 0], cost[1, 1]]), axis=0)
    swapped = _nanmean(np.stack([cost[0, 1], cost[1, 0]]), axis=0)
    decided = np.isfinite(identity) & np.isfinite(swapped)
    identity, swapped = identity[decided], swapped[decided]
    best_swapped = swapped < identity
    swaps = int(np.count_nonzero(best_swapped[1:] != best_swapped[:-1]))
    perm = (1, 0) if decided.any() and swapped.mean() < identity.mean() else (0, 1)
    return perm, swaps


def mpjpe(pred, gt) -> Average:
    """MPJPE (mm) of the 14 scored joints after subtracting each skeleton's root.

    pred, gt: ``[2, T, 24, 3]`` m. No rotation or scale. Samples are (person, frame).
    """
    err = np.linalg.norm(_root_relative(pred) - _root_relative(gt), axis=-1).mean(axis=-1)
    return _average(1000.0 * err, _known(pred) & _known(gt))


def pa_mpjpe(pred, gt) -> Average:
    """PA-MPJPE (mm): scored-joint error after a per-frame, per-person similarity Procrustes.

    pred, gt: ``[2, T, 24, 3]`` m. Samples are (person, frame).
    """
    valid = _known(pred) & _known(gt)
    p, g = _scored(pred)[valid], _scored(gt)[valid]
    err = np.full(valid.shape, np.nan)
    err[valid] = np.linalg.norm(procrustes_align(p, g) - g, axis=-1).mean(axis=-1)
    return _average(1000.0 * err, valid)


def joint_pa_mpjpe(pred, gt) -> Average:
    """Joint PA-MPJPE (mm): one similarity Procrustes per frame over both people's joints.

    pred, gt: ``[2, T, 24, 3]`` m. Samples are frames; a frame needs both people known.
    """
    valid = (_known(pred) & _known(gt)).all(axis=0)
    # [2, T, 14, 3] -> [T, 28, 3]: person 0's joints, then person 1's.
    p = np.concatenate(_scored(pred), axis=1)[valid]
    g = np.concatenate(_scored(gt), axis=1)[valid]
    err = np.full(valid.shape, np.nan)
    err[valid] = np.linalg.norm(procrustes_align(p, g) - g, axis=-1).mean(axis=-1)
    return _average(1000.0 * err, valid)


def mpvpe(pred, gt, pred_root=None, gt_root=None) -> Average:
    """MPVPE (mm): mean vertex error after subtracting each mesh's root.

    pred, gt: vertices ``[2, T, V, 3]`` m with the same topology. pred_root, gt_root:
    ``[2, T, 3]`` roots to subtract (``root(joints)``, the mid-hip used by MPJPE, when
    joints are at hand); when omitted, each mesh's vertex mean. Samples are (person, frame).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"vertices are not comparable: {pred.shape} vs {gt.shape}")
    pred_root = pred.mean(axis=-2) if pred_root is None else np.asarray(pred_root, dtype=np.float64)
    gt_root = gt.mean(axis=-2) if gt_root is None else np.asarray(gt_root, dtype=np.float64)
    diff = (pred - pred_root[..., None, :]) - (gt - gt_root[..., None, :])
    valid = np.isfinite(diff).all(axis=(-2, -1))
    return _average(1000.0 * np.linalg.norm(diff, axis=-1).mean(axis=-1), valid)


def accel_error(pred, gt) -> Average:
    """Acceleration error (mm/frame^2) of the root-relative scored joints.

    pred, gt: ``[2, T, 24, 3]`` m. Acceleration is the second difference
    ``x[t+1] - 2 x[t] + x[t-1]``; samples are (person, t) for t in 1..T-2 and need the
    person known in all three frames.
    """
    def second_difference(x):
        return x[:, 2:] - 2.0 * x[:, 1:-1] + x[:, :-2]

    err = np.linalg.norm(second_difference(_root_relative(pred)) - second_difference(_root_relative(gt)),
                         axis=-1).mean(axis=-1)
    known = _known(pred) & _known(gt)
    return _average(1000.0 * err, known[:, 2:] & known[:, 1:-1] & known[:, :-2])


def _cross_distances(joints) -> np.ndarray:
    """Distances between person 0's and person 1's scored joints: ``[2, T, 24, 3]`` -> ``[T, 14, 14]``."""
    s = _scored(joints)
    return np.linalg.norm(s[0][:, :, None, :] - s[1][:, None, :, :], axis=-1)


def inter(pred, gt) -> Average:
    """Inter (mm): mean over the 14 x 14 cross-person joint pairs of ``|D_gt - D_pred|``.

    pred, gt: ``[2, T, 24, 3]`` m in absolute camera coordinates; D(i, j) is the distance
    between joint i of person 0 and joint j of person 1. Blind to a common translation.
    Samples are frames; a frame needs both people known.
    """
    err = np.abs(_cross_distances(gt) - _cross_distances(pred)).mean(axis=(-2, -1))
    return _average(1000.0 * err, (_known(pred) & _known(gt)).all(axis=0))


def root_position_error(pred, gt) -> Average:
    """Root position error (mm): distance between the predicted and true root (mid-hip) in
    absolute camera coordinates, where a robot would place the person. pred, gt:
    ``[2, T, 24, 3]`` m. Samples are (person, frame) pairs with both known."""
    err = np.linalg.norm(root(pred) - root(gt), axis=-1)
    return _average(1000.0 * err, _known(pred) & _known(gt))


def root_distance_error(pred, gt) -> Average:
    """Root distance error (mm): ``| |r0 - r1|_pred - |r0 - r1|_gt |`` of the two people's roots
    (how far apart they are). pred, gt: ``[2, T, 24, 3]`` m. Samples are frames with both
    people known in both."""
    def gap(j):
        r = root(j)
        return np.linalg.norm(r[0] - r[1], axis=-1)

    return _average(1000.0 * np.abs(gap(pred) - gap(gt)), (_known(pred) & _known(gt)).all(axis=0))


def depth_order_accuracy(pred_depth, gt_depth, gt_boxes, min_gap=DEPTH_GAP_M) -> tuple[float, int]:
    """Share of frames in which the predicted nearer person is the true nearer person.

    pred_depth, gt_depth: root depths (camera z) ``[2, T]`` m; gt_boxes: ``[2, T, 4]``
    ground-truth boxes, xyxy px. A frame counts when the two boxes overlap (positive
    intersection area) and the ground-truth depths differ by more than ``min_gap``;
    frames with an unknown (NaN) predicted depth are not counted. Returns
    ``(accuracy, frames counted)``; accuracy is NaN when no frame counts.
    """
    boxes = np.asarray(gt_boxes, dtype=np.float64)
    overlap_w = np.minimum(boxes[0, :, 2], boxes[1, :, 2]) - np.maximum(boxes[0, :, 0], boxes[1, :, 0])
    overlap_h = np.minimum(boxes[0, :, 3], boxes[1, :, 3]) - np.maximum(boxes[0, :, 1], boxes[1, :, 1])
    pred_gap = np.subtract(*np.asarray(pred_depth, dtype=np.float64))
    gt_gap = np.subtract(*np.asarray(gt_depth, dtype=np.float64))
    counted = (overlap_w > 0) & (overlap_h > 0) & (np.abs(gt_gap) > min_gap) & np.isfinite(pred_gap)
    n = int(counted.sum())
    correct = np.sign(pred_gap) == np.sign(gt_gap)
    return (float(correct[counted].mean()) if n else float("nan")), n


def contact_distances(points, pairs) -> np.ndarray:
    """Distances (m) between touching points: ``[N]``.

    points: ``[2, T, P, 3]`` (SMPL-24 joints, or any per-part points); pairs: ``[N, 3]``
    ints (frame, point of person 0, point of person 1).
    """
    points = np.asarray(points, dtype=np.float64)
    t, a, b = np.asarray(pairs, dtype=np.int64).reshape(-1, 3).T
    return np.linalg.norm(points[0, t, a] - points[1, t, b], axis=-1)


def contact_distance_error(pred, gt, pairs) -> Average:
    """Contact-distance error (mm): ``|d_pred - d_gt|`` over the ground-truth contact pairs.

    pred, gt: ``[2, T, P, 3]`` m; pairs: ``[N, 3]`` ground-truth contacts (frame, point
    of person 0, point of person 1). Samples are pairs; unknown (NaN) ones are excluded.
    """
    err = np.abs(contact_distances(pred, pairs) - contact_distances(gt, pairs))
    return _average(1000.0 * err, np.isfinite(err))


def pcc_curve(distances, thresholds) -> np.ndarray:
    """PCC: share of ground-truth contact pairs whose predicted distance is below each threshold.

    distances: ``[N]`` predicted distances (m) of the ground-truth contact pairs, NaN
    where unknown (left out); thresholds: ``[K]`` m. Returns ``[K]``, NaN with no pairs.
    """
    d = np.asarray(distances, dtype=np.float64).ravel()
    d = d[np.isfinite(d)]
    t = np.asarray(thresholds, dtype=np.float64).ravel()
    if d.size == 0:
        return np.full(t.shape, np.nan)
    return (d[:, None] < t[None, :]).mean(axis=0)


def contact_prf(pred_pairs: Iterable[tuple[int, Hashable, Hashable]],
                gt_pairs: Iterable[tuple[int, Hashable, Hashable]]) -> tuple[float, float, float]:
    """Part-level contact precision, recall and F1.

    pred_pairs, gt_pairs: (frame, part of person 0, part of person 1) triples, a pair
    being in contact when the two surfaces are within 2 cm (decided by the body-model
    layer). Sides matter; duplicates count once; counts are pooled over all frames.
    Returns ``(precision, recall, f1)``: precision is NaN without predicted pairs,
    recall NaN without ground-truth pairs, F1 NaN without either.
    """
    pred = {(int(t), a, b) for t, a, b in pred_pairs}
    gt = {(int(t), a, b) for t, a, b in gt_pairs}
    hits = len(pred & gt)
    precision = hits / len(pred) if pred else float("nan")
    recall = hits / len(gt) if gt else float("nan")
    f1 = 2 * hits / (len(pred) + len(gt)) if pred or gt else float("nan")
    return precision, recall, f1


def false_contact_frames(pred_pairs, gt_pairs, frames: int) -> float:
    """Share of the frames without a ground-truth contact in which any contact is predicted
    (NaN when every frame has one). Pairs: (frame, part a, part b) triples; frames: T."""
    touching = {int(t) for t, _, _ in gt_pairs}
    free = [t for t in range(frames) if t not in touching]
    said = {int(t) for t, _, _ in pred_pairs}
    return float(np.mean([t in said for t in free])) if free else float("nan")


def penetration_depth_stats(depths) -> tuple[float, float]:
    """Penetration depth (mm): ``(mean, max)``.

    depths: ``[2, T, V]`` m, how deep each vertex lies inside the other body (row 0:
    person 0's vertices inside person 1, row 1: the reverse), 0 outside, NaN in unknown
    frames. Per frame and direction the depth is the mean over the vertices inside (0
    when none); the mean averages both directions, then the frames known in both; the
    max is over every vertex of those frames. Both are NaN when no frame is known.
    """
    d = np.asarray(depths, dtype=np.float64)
    valid = np.isfinite(d).all(axis=(0, 2))
    d = d[:, valid]
    if d.shape[1] == 0:
        return float("nan"), float("nan")
    inside = d > 0
    per_direction = np.where(inside, d, 0.0).sum(axis=-1) / np.maximum(inside.sum(axis=-1), 1)
    return float(1000.0 * per_direction.mean()), float(1000.0 * d.max())


def reprojection_error(joints3d, K, gt2d, conf=None) -> Average:
    """Reprojection error (px) of the scored joints.

    joints3d: ``[2, T, 24, 3]`` m, camera frame; K: ``[3, 3]``; gt2d: ``[2, T, 24, 2]`` px;
    conf: optional ``[2, T, 24]`` weights of the ground-truth joints (0 = not visible).
    Weighted mean over joints with finite ground truth; ``excluded`` counts (person,
    frame) samples whose predicted person is unknown.
    """
    err = np.linalg.norm(project(_scored(joints3d), K) - _scored(gt2d), axis=-1)
    weight = np.ones(err.shape) if conf is None else np.asarray(conf, dtype=np.float64)[..., SCORED_JOINTS]
    known = _known(joints3d)
    weight = np.where(np.isfinite(err) & known[..., None], weight, 0.0)
    total = weight.sum()
    value = float((weight * np.where(weight > 0, err, 0.0)).sum() / total) if total > 0 else float("nan")
    return Average(value, int((~known).sum()))


def pck(pred2d, gt2d, boxes, alpha=0.1) -> Average:
    """PCK: share of scored 2D joints closer than ``alpha`` x the max side of the person's box.

    pred2d, gt2d: ``[2, T, 24, 2]`` px; boxes: ``[2, T, 4]`` ground-truth boxes, xyxy px.
    Ground-truth joints that are NaN are skipped; ``excluded`` counts (person, frame)
    samples whose predicted person is unknown (any scored joint NaN).
    """
    pred = _scored(pred2d)
    gt = _scored(gt2d)
    boxes = np.asarray(boxes, dtype=np.float64)
    threshold = alpha * np.maximum(boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1])
    known = np.isfinite(pred).all(axis=(-2, -1))
    valid = known[..., None] & np.isfinite(gt).all(axis=-1) & np.isfinite(threshold)[..., None]
    hits = np.linalg.norm(pred - gt, axis=-1) < threshold[..., None]
    n = int(valid.sum())
    return Average(float(hits[valid].mean()) if n else float("nan"), int((~known).sum()))


def score_sequence(pred: dict, gt: dict) -> dict:
    """Score one sequence with every metric whose inputs are present.

    Keys (person axis first, metres, camera frame):

    - ``joints`` (both, required): ``[2, T, 24, 3]`` SMPL-24 joints.
    - ``vertices`` (both): ``[2, T, V, 3]`` -> ``mpvpe`` (root: mid-hip of the joints).
    - ``K`` (prediction's, else ground truth's): ``[3, 3]``; with gt ``joints2d`` ->
      ``reprojection_error``, and with gt ``boxes`` too -> ``pck``.
    - ``joints2d`` (gt): ``[2, T, 24, 2]`` px; ``joints2d_conf`` (gt, optional): ``[2, T, 24]``.
    - ``boxes`` (gt): ``[2, T, 4]`` xyxy px -> ``depth_order_accuracy`` (root depths).
    - ``contact_pairs`` (gt): ``[N, 3]`` (frame, joint of person 0, joint of person 1)
      -> ``contact_distance_error`` (mean), ``contact_distance_median`` and ``pcc@<t>mm``
      for t in PCC_THRESHOLDS_M.
    - ``contact_parts`` (both): (frame, part of person 0, part of person 1) triples ->
      ``contact_precision``, ``contact_recall``, ``contact_f1``, ``contact_false_frames``.
    - ``penetration`` (pred): ``[2, T, V]`` m vertex depths -> ``penetration_mean``,
      ``penetration_max``.

    The prediction is first put in ground-truth person order (``match_person_order``):
    its person axes are permuted and its contact part pairs change sides. Returns a flat
    JSON-serialisable dict: floats (mm, px or shares; NaN when nothing counted), ints
    (``frames``, ``identity_swaps``, ``<metric>_excluded``, ``depth_order_frames``) and
    ``person_order`` as a list (``pred[person_order]`` is in ground-truth order).
    """
    gt_joints = np.asarray(gt["joints"], dtype=np.float64)
    pred_joints = np.asarray(pred["joints"], dtype=np.float64)
    if pred_joints.shape != gt_joints.shape:
        raise ValueError(f"joints differ in shape: {pred_joints.shape} vs {gt_joints.shape}")
    perm, swaps = match_person_order(pred_joints, gt_joints)
    order = list(perm)
    pred_joints = pred_joints[order]
    out = {"frames": int(gt_joints.shape[1]), "person_order": order, "identity_swaps": swaps}

    def put(name, result: Average):
        out[name] = result.value
        out[f"{name}_excluded"] = result.excluded

    for name, metric in (("mpjpe", mpjpe), ("pa_mpjpe", pa_mpjpe), ("joint_pa_mpjpe", joint_pa_mpjpe),
                         ("accel_error", accel_error), ("inter", inter),
                         ("root_position_error", root_position_error), ("root_distance_error", root_distance_error)):
        put(name, metric(pred_joints, gt_joints))

    if "vertices" in pred and "vertices" in gt:
        put("mpvpe", mpvpe(np.asarray(pred["vertices"])[order], gt["vertices"],
                           root(pred_joints), root(gt_joints)))
    if "boxes" in gt:
        accuracy, counted = depth_order_accuracy(root(pred_joints)[..., 2], root(gt_joints)[..., 2], gt["boxes"])
        out["depth_order_accuracy"] = accuracy
        out["depth_order_frames"] = counted
    K = pred.get("K", gt.get("K"))
    if K is not None and "joints2d" in gt:
        put("reprojection_error", reprojection_error(pred_joints, K, gt["joints2d"], gt.get("joints2d_conf")))
        if "boxes" in gt:
            put("pck", pck(project(pred_joints, K), gt["joints2d"], gt["boxes"]))
    if "contact_pairs" in gt:
        put("contact_distance_error", contact_distance_error(pred_joints, gt_joints, gt["contact_pairs"]))
        err = np.abs(contact_distances(pred_joints, gt["contact_pairs"]) - contact_distances(gt_joints, gt["contact_pairs"]))
        out["contact_distance_median"] = float(1000 * np.median(err[np.isfinite(err)])) if np.isfinite(err).any() else float("nan")
        curve = pcc_curve(contact_distances(pred_joints, gt["contact_pairs"]), PCC_THRESHOLDS_M)
        for t, share in zip(PCC_THRESHOLDS_M, curve):
            out[f"pcc@{round(1000 * t)}mm"] = float(share)
    if "contact_parts" in pred and "contact_parts" in gt:
        parts = [(t, a, b) if perm == (0, 1) else (t, b, a) for t, a, b in pred["contact_parts"]]
        precision, recall, f1 = contact_prf(parts, gt["contact_parts"])
        out.update(contact_precision=precision, contact_recall=recall, contact_f1=f1,
                   contact_false_frames=false_contact_frames(parts, gt["contact_parts"], gt_joints.shape[1]))
    if "penetration" in pred:
        out["penetration_mean"], out["penetration_max"] = penetration_depth_stats(pred["penetration"])
    return out
