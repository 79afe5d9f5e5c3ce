"""Per-joint confidence from the 2D evidence: how well each SMPL-24 joint was seen.

A joint's evidence is the mean confidence of the keypoints that observe it (``OBSERVERS``;
a keypoint outside the image or missing counts 0). The published joint confidence is the
person's frame confidence times ``floor + (1 - floor) * evidence``: a limb out of the image or
hidden behind the other person reads lower than the joints that were seen, and a joint the
body, the motion terms or the prior placed without any keypoint keeps the ``floor`` share
(``fitting.unseen_joint_share``).
"""
from __future__ import annotations

import functools

import numpy as np

from interaction_recon.body import skeleton

# SMPL-24 joint -> the keypoints that observe it, as alternatives: the first tuple whose names
# all exist in the keypoint layout is used (COCO-17 has no hands, heels or toes).
OBSERVERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "pelvis": (("left_hip", "right_hip"),),
    "left_hip": (("left_hip",),), "right_hip": (("right_hip",),),
    "left_knee": (("left_knee",),), "right_knee": (("right_knee",),),
    "left_ankle": (("left_ankle",),), "right_ankle": (("right_ankle",),),
    "left_foot": (("left_heel", "left_foot_index"), ("left_foot",), ("left_ankle",)),
    "right_foot": (("right_heel", "right_foot_index"), ("right_foot",), ("right_ankle",)),
    "spine1": (("left_hip", "right_hip", "left_shoulder", "right_shoulder"),),
    "spine2": (("left_hip", "right_hip", "left_shoulder", "right_shoulder"),),
    "spine3": (("left_shoulder", "right_shoulder"),),
    "neck": (("left_shoulder", "right_shoulder", "nose"), ("neck",), ("left_shoulder", "right_shoulder")),
    "left_collar": (("left_shoulder",),), "right_collar": (("right_shoulder",),),
    "head": (("nose", "left_eye", "right_eye", "left_ear", "right_ear"), ("head",)),
    "left_shoulder": (("left_shoulder",),), "right_shoulder": (("right_shoulder",),),
    "left_elbow": (("left_elbow",),), "right_elbow": (("right_elbow",),),
    "left_wrist": (("left_wrist",),), "right_wrist": (("right_wrist",),),
    "left_hand": (("left_pinky", "left_index", "left_thumb"), ("left_hand",), ("left_wrist",)),
    "right_hand": (("right_pinky", "right_index", "right_thumb"), ("right_hand",), ("right_wrist",)),
}


@functools.lru_cache(maxsize=None)
def observer_matrix(layout: str) -> np.ndarray:
    """[24, K] averaging weights from a layout's K keypoints to the SMPL-24 joints (built once
    per layout: it is read every frame; do not modify the returned array)."""
    names = skeleton.layout_names(layout)
    weights = np.zeros((len(skeleton.SMPL_JOINTS), len(names)), np.float32)
    for j, joint in enumerate(skeleton.SMPL_JOINTS):
        usable = next((group for group in OBSERVERS[joint] if all(n in names for n in group)), None)
        if usable is None:  # a layout that names the SMPL joint itself
            usable = (joint,) if joint in names else ()
        for n in usable:
            weights[j, names.index(n)] = 1.0 / len(usable)
    return weights


def usable_confidence(keypoints: np.ndarray, confidence: np.ndarray, min_confidence: float, layout: str,
                      ignored=()) -> np.ndarray:
    """confidence [..., K] of keypoints [..., K, 2] in ``layout`` as the fit uses it (float32):
    0 where a keypoint is not finite, under ``min_confidence`` or named in ``ignored``
    (``fitting.ignored_keypoints``; a name the layout lacks is an error)."""
    names = skeleton.layout_names(layout)
    if unknown := [n for n in ignored if n not in names]:
        raise ValueError(f"fitting.ignored_keypoints: {unknown} are not {layout} keypoints ({names})")
    finite = np.isfinite(keypoints).all(-1) & np.isfinite(confidence)
    conf = np.where(finite & (confidence >= min_confidence), confidence, 0.0).astype(np.float32)
    conf[..., [names.index(n) for n in ignored]] = 0.0
    return conf


def joint_evidence(keypoints: np.ndarray, confidence: np.ndarray, layout: str,
                   image_size: tuple[int, int] | None = None) -> np.ndarray:
    """keypoints [..., K, 2] px, confidence [..., K] -> evidence [..., 24] in [0, 1]; with
    ``image_size`` (H, W) keypoints outside the image count 0."""
    kp = np.asarray(keypoints, np.float32)
    conf = np.nan_to_num(np.asarray(confidence, np.float32)).clip(0.0, 1.0)
    conf = np.where(np.isfinite(kp).all(-1), conf, 0.0)
    if image_size is not None and min(image_size) > 0:
        h, w = image_size
        inside = (kp[..., 0] >= 0) & (kp[..., 0] < w) & (kp[..., 1] >= 0) & (kp[..., 1] < h)
        conf = np.where(inside, conf, 0.0)
    return (conf @ observer_matrix(layout).T).astype(np.float32)


def joint_confidence(frame_confidence: np.ndarray, evidence: np.ndarray, floor: float) -> np.ndarray:
    """frame_confidence [2, T], evidence [2, T, 24] -> [2, T, 24]."""
    return (np.asarray(frame_confidence, np.float32)[..., None] * (floor + (1.0 - floor) * evidence)).astype(np.float32)
