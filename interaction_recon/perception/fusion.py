"""Per-joint fusion of the detector's own COCO-17 keypoints (MoveNet) with the top-down
keypoint model's 33 (BlazePose).

On real photographs the detector's keypoints are the more accurate of the two, and the
top-down model, given a person cut off by the image border or a table, squeezes the whole
skeleton into the visible part with high confidence (benchmarks/perception.py). So, per
COCO-17 joint:
- where both models agree (within ``agree`` x the box diagonal) the position is, by default,
  the mean of the two, and the confidence the higher of the two;
- where they disagree the position and confidence are the detector's, and a joint the
  detector is not sure of either (below ``min_conf``) is marked missing (confidence 0);
- a joint the top-down model puts outside the image is missing unless the detector sees it.
Where fewer than ``min_agreement`` of the 17 joints agree, the two do not describe one body
(two people overlapping: the detection's keypoints mix both) and the top-down estimate is
kept as it is.
The top-down model's other points (eyes' corners, mouth, hands, feet) move with their
COCO-17 parent joint and are missing where it is; so are its 3D landmarks.
"""
from __future__ import annotations

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, COCO17
from interaction_recon.perception.keypoints import COCO_IN_BLAZE, PoseEstimate

# each BlazePose-33 point -> the COCO-17 joint it moves with
_PARENT_NAME = {"left_eye_inner": "left_eye", "left_eye_outer": "left_eye", "right_eye_inner": "right_eye",
                "right_eye_outer": "right_eye", "mouth_left": "nose", "mouth_right": "nose",
                "left_pinky": "left_wrist", "left_index": "left_wrist", "left_thumb": "left_wrist",
                "right_pinky": "right_wrist", "right_index": "right_wrist", "right_thumb": "right_wrist",
                "left_heel": "left_ankle", "left_foot_index": "left_ankle",
                "right_heel": "right_ankle", "right_foot_index": "right_ankle"}
PARENT = np.array([COCO17.index(_PARENT_NAME.get(n, n)) for n in BLAZEPOSE33])  # [33] COCO-17 index


AGREED = ("mean", "top-down", "detector")  # the position of a joint both models agree on


def fuse(est: PoseEstimate, kp: np.ndarray, conf: np.ndarray, box: np.ndarray, image_hw,
         agree: float = 0.05, min_conf: float = 0.2, agreed: str = "mean", min_agreement: float = 0.0) -> PoseEstimate:
    """est: the top-down estimate (keypoints [33,2] px); kp [17,2] px / conf [17]: the
    detector's COCO-17 keypoints of the same person; box [4] its box; image_hw (H, W).
    ``agreed``: where both agree, the mean of the two positions, the top-down model's or the
    detector's. Returns a new estimate (mask and presence kept). Without finite detector
    keypoints, or with fewer than ``min_agreement`` (share) of the joints agreeing, ``est`` is
    returned unchanged."""
    if agreed not in AGREED:
        raise ValueError(f"unknown perception.keypoint_agreed {agreed!r}; choose from {AGREED}")
    if not np.isfinite(kp).all():
        return est
    h, w = image_hw
    top, top_conf = est.keypoints[COCO_IN_BLAZE], est.confidence[COCO_IN_BLAZE]
    diag = max(float(np.hypot(box[2] - box[0], box[3] - box[1])), 1.0)
    same = np.linalg.norm(top - kp, axis=-1) < agree * diag
    if same.mean() < min_agreement:
        return est
    fused_conf = np.where(same, np.maximum(conf, top_conf), conf)
    inside = (top[:, 0] >= 0) & (top[:, 0] < w) & (top[:, 1] >= 0) & (top[:, 1] < h)
    missing = (~same | ~inside) & (conf < min_conf)
    fused_conf = np.where(missing, 0.0, fused_conf)

    both = {"top-down": top, "mean": (top + kp) / 2, "detector": kp}[agreed]
    fused = np.where(same[:, None], both, kp)
    shift = fused - top  # [17, 2]: how far each COCO-17 joint moved
    keypoints = est.keypoints + shift[PARENT]
    keypoints[COCO_IN_BLAZE] = fused
    confidence = est.confidence.copy()
    confidence[COCO_IN_BLAZE] = fused_conf
    return PoseEstimate(keypoints.astype(np.float32), np.clip(confidence, 0, 1).astype(np.float32), est.presence,
                        est.mask, est.mask_origin, est.world).without(missing[PARENT])
