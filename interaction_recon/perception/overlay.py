"""Draw a PeopleFrame over its image: masks tinted, boxes with identity, keypoints and bones."""
from __future__ import annotations

import cv2
import numpy as np

from interaction_recon.perception.types import PeopleFrame

COLOURS = ((255, 80, 40), (40, 160, 255))  # RGB per slot
BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27),
         (24, 26), (26, 28), (27, 29), (29, 31), (28, 30), (30, 32), (15, 19), (16, 20), (0, 2), (0, 5),
         (2, 7), (5, 8), (9, 10))  # BlazePose-33 indices


def draw(image: np.ndarray, frame: PeopleFrame, min_conf: float = 0.3) -> np.ndarray:
    """RGB [H,W,3] uint8 with masks, boxes, ``slot:id`` labels and keypoints of the pair, and the
    boxes and ids of everyone else (grey), drawn on a copy."""
    out = np.ascontiguousarray(image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, 2)).copy()
    out = out.astype(np.float32)
    if frame.masks is not None:
        for s in range(2):
            m = frame.masks[s][..., None] * 0.5
            out = out * (1 - m) + m * np.array(COLOURS[s], np.float32)
    out = out.clip(0, 255).astype(np.uint8)
    thick = max(1, round(max(out.shape[:2]) / 400))
    for tid, box in zip(frame.other_ids, frame.other_boxes):
        x0, y0, x1, y1 = np.round(box).astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), (200, 200, 200), thick)
        cv2.putText(out, f"id {tid}", (x0 + 3, max(y0 + 14 * thick, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * thick,
                    (200, 200, 200), thick, cv2.LINE_AA)
    for s in range(2):
        if not frame.present[s]:
            continue
        c = COLOURS[s]
        x0, y0, x1, y1 = np.round(frame.boxes[s]).astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), c, thick)
        cv2.putText(out, f"slot {s} id {frame.track_ids[s]}", (x0 + 3, max(y0 + 14 * thick, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45 * thick, c, thick, cv2.LINE_AA)
        kp, conf = frame.keypoints[s], frame.confidence[s]
        for a, b in BONES:
            if conf[a] >= min_conf and conf[b] >= min_conf:
                cv2.line(out, tuple(np.round(kp[a]).astype(int)), tuple(np.round(kp[b]).astype(int)), c, thick,
                         cv2.LINE_AA)
        for j in np.flatnonzero(conf >= min_conf):
            cv2.circle(out, tuple(np.round(kp[j]).astype(int)), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return out
