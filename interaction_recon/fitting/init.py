"""Initial body parameters of both people from 2D keypoints alone.

Per person and frame: depth from the least-foreshortened body segment (a segment of known
3D length can only look shorter than it is, so the shortest implied depth is the most
trustworthy), optionally (``tolerance`` finite; inf by default) one that a second segment
sharing no keypoint confirms by implying a depth at most ``tolerance`` farther, so that one
wrong keypoint, which lengthens the segments it ends, cannot pull a person near on its own;
the pelvis back-projected at that depth (both smoothed over time), a heading from the shoulder
line and the nose, arms lowered, the model's average shape. Frames without observations take
the values of their observed neighbours (linear interpolation). Everything is then refined by
the optimiser.
"""
from __future__ import annotations

import math

import numpy as np
import roma
import torch
from scipy.ndimage import gaussian_filter1d, median_filter

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.fitting.camera import back_project

OUTPUT_FIELD = {"coco17": "coco17", "blazepose33": "blazepose33", "smpl24": "joints"}
LIMB_ENDS = (("elbow", "shoulder"), ("wrist", "elbow"), ("knee", "hip"), ("ankle", "knee"))  # fitting.keypoint_shift order
_LIMB_INDEX: dict[str, tuple[list[int], list[int]]] = {}  # layout -> (limb ends, their parents), left then right


def model_keypoints(out, layout: str, shift=(0.0, 0.0, 0.0, 0.0)) -> torch.Tensor:
    """The body output's keypoints [P, T, K, 3] in ``layout``, each limb end (elbows, wrists,
    knees, ankles; ``fitting.keypoint_shift``) moved along its bone from the parent by that share
    of the bone, where the keypoint model puts it against the body model's own (0: as is)."""
    points = getattr(out, OUTPUT_FIELD[layout])
    if not any(shift):
        return points
    if layout not in _LIMB_INDEX:
        names = skeleton.layout_names(layout)
        pairs = [(names.index(f"{side}_{end}"), names.index(f"{side}_{parent}"))
                 for side in ("left", "right") for end, parent in LIMB_ENDS]
        _LIMB_INDEX[layout] = ([b for b, _ in pairs], [a for _, a in pairs])
    ends, parents = _LIMB_INDEX[layout]
    share = points.new_tensor(list(shift) * 2)[:, None]  # [8, 1]: each side's four limb ends
    moved = points.clone()
    moved[..., ends, :] = points[..., ends, :] + share * (points[..., ends, :] - points[..., parents, :])
    return moved


SEGMENTS = (("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "left_knee"),
            ("right_hip", "right_knee"), ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
            ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"))
_DISJOINT = np.array([[not set(a) & set(b) for b in SEGMENTS] for a in SEGMENTS])  # [S, S] no shared keypoint
ARMS_DOWN = 1.1  # rad: shoulders lowered from the T-pose


def layout_index(layout: str, names) -> list[int]:
    names_in = skeleton.layout_names(layout)
    return [names_in.index(n) for n in names]


def _interpolate(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill invalid entries of [T, D] by linear interpolation over valid frames."""
    if not valid.any():
        return values
    t = np.arange(len(values))
    return np.stack([np.interp(t, t[valid], values[valid, d]) for d in range(values.shape[1])], 1)


def observed(confidence: np.ndarray, min_confidence: float, min_joints: int = 4) -> np.ndarray:
    """[2, T] bool: frames where a person has at least ``min_joints`` confident keypoints."""
    return (confidence >= min_confidence).sum(-1) >= min_joints


MIN_HEIGHT = 4.0  # px: a keypoint spread below this is no body height
DEFAULT_HEIGHT = 200.0  # px: the reprojection scale of a person whose height is not known


def keypoint_heights(keypoints: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """[P, T] vertical extent (px) of each person's confident keypoints (confidence > 0) per
    frame, the scale the reprojection error is measured in; NaN with fewer than two of them
    or under MIN_HEIGHT. keypoints [P, T, K, 2], confidence [P, T, K]."""
    ok = confidence > 0
    y = np.where(ok, keypoints[..., 1], np.nan)
    with np.errstate(invalid="ignore"):
        h = np.nanmax(y, -1, initial=-np.inf) - np.nanmin(y, -1, initial=np.inf)
    return np.where((ok.sum(-1) > 1) & (h > MIN_HEIGHT), h, np.nan)


def rest_reference(body: BodyModel, layout: str, shape: torch.Tensor) -> dict:
    """3D segment lengths [P, len(SEGMENTS)] and rest pelvis [P, 3] of these shapes."""
    with torch.no_grad():
        rest = body.rest(shape)
    pts = getattr(rest, OUTPUT_FIELD[layout])[:, 0].cpu().numpy()
    a, b = (layout_index(layout, [s[i] for s in SEGMENTS]) for i in (0, 1))
    return {"lengths": np.linalg.norm(pts[:, a] - pts[:, b], axis=-1), "pelvis": rest.joints[:, 0, 0].cpu().numpy()}


def _confirmed_depth(implied: np.ndarray, tolerance: float) -> np.ndarray:
    """implied [P, T, S] depths (inf: segment unseen) -> [P, T]: the smallest that a segment
    sharing no keypoint with it confirms (its own depth at most ``tolerance`` farther); the
    smallest of all where none is confirmed."""
    confirms = implied[..., None, :] <= implied[..., :, None] * (1.0 + tolerance)  # [P, T, i, j]
    confirmed = (confirms & _DISJOINT).any(-1) & np.isfinite(implied)
    return np.where(confirmed.any(-1), np.where(confirmed, implied, np.inf).min(-1), implied.min(-1))


def initial_params(body: BodyModel, keypoints: np.ndarray, confidence: np.ndarray, layout: str, K: np.ndarray,
                   min_confidence: float = 0.2, tolerance: float = np.inf) -> tuple[BodyParams, np.ndarray]:
    """keypoints [2, T, K, 2] px, confidence [2, T, K] -> (BodyParams [2, T] in the camera
    frame, depth estimates [2, T] metres (NaN where a person was never observed)). ``tolerance``:
    how much farther (share) a confirming segment's depth may be (inf: the shortest alone)."""
    P, T = keypoints.shape[:2]
    shape = body.default_shape(P)
    ref = rest_reference(body, layout, shape)
    conf = np.where(np.isfinite(keypoints).all(-1), confidence, 0.0) >= min_confidence
    kp = np.nan_to_num(keypoints)
    a, b = (layout_index(layout, [s[i] for s in SEGMENTS]) for i in (0, 1))
    length2d = np.linalg.norm(kp[:, :, a] - kp[:, :, b], axis=-1)  # [P,T,S]
    ok = conf[:, :, a] & conf[:, :, b] & (length2d > 2.0)
    f = 0.5 * (K[0, 0] + K[1, 1])
    implied = np.where(ok, f * ref["lengths"][:, None, :] / np.maximum(length2d, 1e-6), np.inf)
    depth = _confirmed_depth(implied, tolerance)  # [P,T]
    has_depth = np.isfinite(depth)
    lhip, rhip, lsh, rsh, nose = layout_index(layout, ["left_hip", "right_hip", "left_shoulder", "right_shoulder",
                                                       "nose" if layout != "smpl24" else "head"])
    hip_ok = conf[:, :, lhip] & conf[:, :, rhip]
    sh_ok = conf[:, :, lsh] & conf[:, :, rsh]
    hips = 0.5 * (kp[:, :, lhip] + kp[:, :, rhip])
    shoulders = 0.5 * (kp[:, :, lsh] + kp[:, :, rsh])
    # Pelvis in 2D: the hip midpoint, else below the shoulders by a torso length.
    torso_px = f * ref["lengths"][:, None, 0] / np.where(has_depth, depth, 1.0)
    pelvis2d = np.where(hip_ok[..., None], hips, shoulders + np.stack([0 * torso_px, torso_px], -1))
    where = has_depth & (hip_ok | sh_ok)
    # Heading: yaw about the body's vertical; 0 = facing the camera.
    width3d = ref["lengths"][:, None, 6]
    ratio = np.clip((kp[:, :, lsh, 0] - kp[:, :, rsh, 0]) * np.where(has_depth, depth, 1.0) / (f * width3d), -1, 1)
    side = np.sign(kp[:, :, nose, 0] - shoulders[..., 0])
    side = np.where(conf[:, :, nose] & sh_ok & (side != 0), side, 1.0)
    yaw = np.where(sh_ok, side * np.arccos(ratio), 0.0)
    transl = np.zeros((P, T, 3))
    yaw_f = np.zeros((P, T))
    for p in range(P):
        w = where[p]
        if not w.any():
            depth[p] = np.nan
            transl[p] = back_project(np.array([K[0, 2], K[1, 2]]), np.array(3.0), K) - ref["pelvis"][p]
            continue
        d = np.zeros(T)
        d[w] = median_filter(depth[p][w], size=9, mode="nearest")  # over observed frames only
        depth[p] = _interpolate(d[:, None], w)[:, 0]
        transl[p] = back_project(_interpolate(pelvis2d[p], w), depth[p], K) - ref["pelvis"][p]
        if sh_ok[p].any():
            y = np.zeros(T)
            y[sh_ok[p]] = median_filter(np.unwrap(yaw[p][sh_ok[p]]), size=9, mode="nearest")
            yaw_f[p] = _interpolate(y[:, None], sh_ok[p])[:, 0]
    transl, yaw_f = (gaussian_filter1d(a, sigma=2.0, axis=1, mode="nearest") for a in (transl, yaw_f))
    params = body.neutral_params(P, T)
    flip = roma.rotvec_to_rotmat(torch.tensor([math.pi, 0.0, 0.0]))  # body y up -> camera y down, facing -z
    yaw_rot = roma.rotvec_to_rotmat(torch.tensor(yaw_f, dtype=torch.float32)[..., None] * torch.tensor([0.0, 1.0, 0.0]))
    params.global_orient = roma.rotmat_to_rotvec(flip @ yaw_rot).to(params.transl)
    params.transl = torch.tensor(transl, dtype=torch.float32, device=params.transl.device)
    pose = params.body_pose.clone()
    pose[:, :, skeleton.SMPL_JOINTS.index("left_shoulder") - 1, 2] = -ARMS_DOWN
    pose[:, :, skeleton.SMPL_JOINTS.index("right_shoulder") - 1, 2] = ARMS_DOWN
    params.body_pose = pose
    return params, np.where(where.any(1, keepdims=True), depth, np.nan)
