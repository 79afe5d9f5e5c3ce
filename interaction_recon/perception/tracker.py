"""Two-identity tracker: picks the interacting pair among the detected people and keeps each
in its slot through contact, crossings, occlusion and re-appearance.

Cost of giving detection d to slot s = motion (IoU and centre distance to the slot's
constant-velocity prediction; its weight fades while the slot is unseen) + appearance
(Bhattacharyya distance of hue-saturation histograms of the torso and of the legs, a slowly
updated model per slot, refreshed only while the person is not overlapped by the other).
The best joint assignment of both slots (each may also stay empty) is taken.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

from interaction_recon.perception.detectors import Detections, box_iou

MISS_COST = 1.5  # a slot left empty this frame
_BINS = (12, 6)  # hue x saturation


def _region_hist(hsv: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """Normalised H-S histogram [12*6] of the pixels inside a polygon quad [4,2], or None."""
    h, w = hsv.shape[:2]
    x0, y0 = np.floor(quad.min(0)).astype(int).clip(0, [w - 1, h - 1])
    x1, y1 = np.ceil(quad.max(0)).astype(int).clip(0, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    sub = hsv[y0:y1, x0:x1]
    mask = np.zeros(sub.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad - [x0, y0]).astype(np.int32), 1)
    if mask.sum() < 12:
        return None
    hist = cv2.calcHist([sub], [0, 1], mask, list(_BINS), [0, 180, 0, 256]).ravel()
    return (hist / max(hist.sum(), 1e-9)).astype(np.float32)


def appearance(hsv: np.ndarray, box: np.ndarray, kp: np.ndarray, conf: np.ndarray) -> np.ndarray | None:
    """Colour feature of one person [2, 72] (torso, legs; rows NaN where unseen) or None.
    Regions come from the COCO-17 shoulders/hips/knees when confident, else from the box."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    ok = conf >= 0.3
    if ok[[5, 6, 11, 12]].all():
        torso = kp[[5, 6, 12, 11]]
        centre = torso.mean(0)
        torso = centre + 0.8 * (torso - centre)  # stay inside the silhouette
    else:
        torso = np.array([[x0 + .3 * bw, y0 + .2 * bh], [x1 - .3 * bw, y0 + .2 * bh],
                          [x1 - .3 * bw, y0 + .5 * bh], [x0 + .3 * bw, y0 + .5 * bh]])
    if ok[[11, 12, 13, 14]].all():
        legs = kp[[11, 12, 14, 13]]
        centre = legs.mean(0)
        legs = centre + 0.8 * (legs - centre)
    else:
        legs = np.array([[x0 + .3 * bw, y0 + .55 * bh], [x1 - .3 * bw, y0 + .55 * bh],
                         [x1 - .3 * bw, y0 + .75 * bh], [x0 + .3 * bw, y0 + .75 * bh]])
    parts = [_region_hist(hsv, torso), _region_hist(hsv, legs)]
    if parts[0] is None and parts[1] is None:
        return None
    return np.stack([p if p is not None else np.full(np.prod(_BINS), np.nan, np.float32) for p in parts])


def appearance_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Mean Bhattacharyya distance [0, 1] over the regions both features have; 0.5 if none."""
    if a is None or b is None:
        return 0.5
    d = [float(np.sqrt(max(0.0, 1.0 - np.sqrt(p * q).sum()))) for p, q in zip(a, b)
         if not (np.isnan(p).any() or np.isnan(q).any())]
    return float(np.mean(d)) if d else 0.5


@dataclass
class Slot:
    """One identity: last box [4], velocity [4] px/frame, appearance model [2,72], id."""

    box: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    last_seen: int = -(10 ** 9)
    feature: np.ndarray | None = None
    samples: int = 0
    track_id: int = -1

    def predict(self, frame: int) -> np.ndarray:
        gap = min(frame - self.last_seen, 10)
        return self.box + self.velocity * gap


class PairTracker:
    """Keeps the interacting pair in slots 0 and 1. ``assign`` each frame, then ``update``
    each slot with what was found for it."""

    def __init__(self, appearance_weight: float = 1.0, max_lost: int = 150, reid_threshold: float = 0.45):
        self.w_app, self.max_lost, self.reid = appearance_weight, max_lost, reid_threshold
        self.reset()

    def reset(self) -> None:
        self.slots = [Slot(), Slot()]
        self._next_id = 0

    def alive(self, s: int, frame: int) -> bool:
        slot = self.slots[s]
        return slot.box is not None and frame - slot.last_seen <= self.max_lost

    def features(self, image: np.ndarray, det: Detections) -> list:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        return [appearance(hsv, det.boxes[i], det.keypoints[i], det.keypoint_conf[i]) for i in range(len(det))]

    def cost(self, s: int, det: Detections, i: int, feat, frame: int) -> float:
        slot = self.slots[s]
        gap = frame - slot.last_seen
        pred = slot.predict(frame)
        h = max(pred[3] - pred[1], 1.0)
        dist = np.hypot(*((pred[:2] + pred[2:]) / 2 - (det.boxes[i, :2] + det.boxes[i, 2:]) / 2)) / h
        size = abs(np.log(max(det.boxes[i, 3] - det.boxes[i, 1], 1.0) / h))
        motion = (1 - box_iou(pred[None], det.boxes[i:i + 1])[0, 0]) + dist + 0.5 * size
        w_motion = 1.0 / (1.0 + max(gap - 1, 0) / 10.0)
        app = appearance_distance(slot.feature, feat) if slot.samples else 0.5
        w_app = self.w_app * (1.0 + min(max(gap - 1, 0) / 10.0, 2.0))
        if dist > 1.0 + 0.3 * gap and gap < 30:  # cannot have moved that far
            return np.inf
        if gap >= 30 and app > self.reid:  # long unseen: only someone who looks the same
            return np.inf
        return w_motion * motion + w_app * (app - 0.25)

    def assign(self, det: Detections, feats: list, frame: int) -> np.ndarray:
        """Detection index per slot [2] (-1: none this frame). Live identities (seen within
        max_lost frames) are matched first, jointly; a dead or never filled slot then takes a
        remaining person who looks like the one it lost, else the one closest to its partner."""
        n = len(det)
        out = np.array([-1, -1])
        live = [s for s in range(2) if self.alive(s, frame)]
        if live and n:
            cost = {(s, i): self.cost(s, det, i, feats[i], frame) for s in live for i in range(n)}
            best_c = np.inf
            for pick in itertools.product(list(range(n)) + [-1], repeat=len(live)):
                if len({i for i in pick if i >= 0}) < sum(i >= 0 for i in pick):
                    continue
                c = sum(cost[s, i] if i >= 0 else MISS_COST for s, i in zip(live, pick))
                if c < best_c:
                    best_c = c
                    out[live] = pick
        dead = [s for s in range(2) if s not in live]
        rest = [i for i in range(n) if i not in out]
        for s in dead:  # re-identification
            if self.slots[s].samples and rest:
                d = [appearance_distance(self.slots[s].feature, feats[i]) for i in rest]
                if min(d) < self.reid:
                    out[s] = rest.pop(int(np.argmin(d)))
        empty = [s for s in dead if out[s] < 0]
        if not empty or not rest:
            return out
        anchor = [out[s] for s in range(2) if out[s] >= 0]
        if anchor:
            ref = det.boxes[anchor[0]]
        elif live:
            ref = self.slots[live[0]].predict(frame)
        else:
            pair = self._start_pair(det.take(rest))
            picks = [rest[i] for i in pair if i >= 0]
            for s, i in zip(empty, picks if len(empty) == 2 else picks[:1]):
                out[s] = i
            return out
        out[empty[0]] = min(rest, key=lambda i: _pair_gap(ref, det.boxes[i]))
        return out

    def _start_pair(self, det: Detections) -> np.ndarray:
        """No identity to follow: the closest pair (or the single person), leftmost first."""
        n = len(det)
        if n == 0:
            return np.array([-1, -1])
        if n == 1:
            return np.array([0, -1])
        best, best_c = (0, 1), np.inf
        for i, j in itertools.combinations(range(n), 2):
            c = _pair_gap(det.boxes[i], det.boxes[j]) - 0.3 * (det.scores[i] + det.scores[j])
            if c < best_c:
                best, best_c = (i, j), c
        i, j = sorted(best, key=lambda k: det.boxes[k, 0] + det.boxes[k, 2])
        return np.array([i, j])

    def update(self, s: int, box: np.ndarray | None, feat, frame: int, clean: bool) -> None:
        """Record slot s's box [4] (None: unseen this frame) and colour feature; the appearance
        model learns only from ``clean`` views (not overlapped by the other person)."""
        slot = self.slots[s]
        if box is None:
            return
        gap = frame - slot.last_seen
        if slot.box is None or gap > self.max_lost:
            if slot.track_id < 0 or appearance_distance(slot.feature, feat) > self.reid:
                slot.track_id, self._next_id = self._next_id, self._next_id + 1
                slot.feature, slot.samples = None, 0
            slot.velocity = np.zeros(4)
        elif gap <= 3:
            slot.velocity = 0.6 * slot.velocity + 0.4 * (box - slot.box) / gap
        else:
            slot.velocity = np.zeros(4)
        slot.box, slot.last_seen = np.asarray(box, float), frame
        if feat is not None and (clean or slot.samples == 0):
            if slot.feature is None:
                slot.feature, slot.samples = feat.copy(), 1
            else:
                rate = max(0.05, 1.0 / (slot.samples + 1))
                fresh = ~np.isnan(feat[:, 0])
                old = np.isnan(slot.feature[:, 0])
                slot.feature[old & fresh] = feat[old & fresh]
                both = fresh & ~old
                slot.feature[both] = (1 - rate) * slot.feature[both] + rate * feat[both]
                slot.samples += 1

    @property
    def track_ids(self) -> np.ndarray:
        return np.array([s.track_id for s in self.slots], np.int64)


def _pair_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Gap between two boxes [4] in units of their mean height (0 when they overlap), minus
    their overlap (IoU) so that touching people score lowest."""
    h = max(((a[3] - a[1]) + (b[3] - b[1])) / 2, 1.0)
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    size = abs(np.log(max(a[3] - a[1], 1.0) / max(b[3] - b[1], 1.0)))
    return float(np.hypot(dx, dy) / h + 0.5 * size - box_iou(a[None], b[None])[0, 0])
