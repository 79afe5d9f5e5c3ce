"""Multi-person tracker: follows everyone the detector finds, chooses the interacting pair
among them from evidence over time, and keeps each of the two in its slot through contact,
crossings, occlusion and re-appearance.

Cost of giving detection d to person p = motion (IoU and centre distance to p's
constant-velocity prediction; its weight fades while p is unseen) + appearance (Bhattacharyya
distance of hue-saturation histograms of the torso and of the legs, a slowly updated model
per person, refreshed only while the person is not overlapped by another). The best joint
assignment of all detections to all people (each may also stay unmatched) is taken.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

from interaction_recon.perception.detectors import Detections, box_iou, overlap_share, person_size

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


@dataclass(eq=False)  # people are compared by identity
class Slot:
    """One tracked person: last box [4], velocity [4] px/frame, appearance model [2,72], id,
    frames matched (hits) and the frame of the first match."""

    box: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    last_seen: int = -(10 ** 9)
    feature: np.ndarray | None = None
    samples: int = 0
    track_id: int = -1
    hits: int = 0
    first_seen: int = -(10 ** 9)

    def predict(self, frame: int) -> np.ndarray:
        gap = min(frame - self.last_seen, 10)
        return self.box + self.velocity * gap

    def observe(self, box: np.ndarray, feat, frame: int, learn: bool) -> None:
        """Record this frame's box [4] and colour feature (learnt only when ``learn``, or as
        the first sample)."""
        gap = frame - self.last_seen
        if self.box is None or gap > 3:
            self.velocity = np.zeros(4)
        else:
            self.velocity = 0.6 * self.velocity + 0.4 * (box - self.box) / max(gap, 1)
        if self.hits == 0:
            self.first_seen = frame
        self.box, self.last_seen, self.hits = np.asarray(box, float), frame, self.hits + 1
        if feat is None or not (learn or self.samples == 0):
            return
        if self.feature is None:
            self.feature, self.samples = feat.copy(), 1
            return
        rate = max(0.05, 1.0 / (self.samples + 1))
        fresh = ~np.isnan(feat[:, 0])
        old = np.isnan(self.feature[:, 0])
        self.feature[old & fresh] = feat[old & fresh]
        both = fresh & ~old
        self.feature[both] = (1 - rate) * self.feature[both] + rate * feat[both]
        self.samples += 1


def match_cost(slot: Slot, box: np.ndarray, feat, frame: int, w_app: float, reid: float) -> float:
    """Cost of giving a detection (box [4], colour feature) to a tracked person: motion (IoU
    and centre distance to its constant-velocity prediction, size change; its weight fades
    while the person is unseen) + appearance; inf where it cannot be them."""
    gap = frame - slot.last_seen
    pred = slot.predict(frame)
    h = max(pred[3] - pred[1], 1.0)
    dist = np.hypot(*((pred[:2] + pred[2:]) / 2 - (box[:2] + box[2:]) / 2)) / h
    size = abs(np.log(max(box[3] - box[1], 1.0) / h))
    motion = (1 - box_iou(pred[None], box[None])[0, 0]) + dist + 0.5 * size
    w_motion = 1.0 / (1.0 + max(gap - 1, 0) / 10.0)
    app = appearance_distance(slot.feature, feat) if slot.samples else 0.5
    w_app = w_app * (1.0 + min(max(gap - 1, 0) / 10.0, 2.0))
    if dist > 1.0 + 0.3 * gap and gap < 30:  # cannot have moved that far
        return np.inf
    if gap >= 30 and app > reid:  # long unseen: only someone who looks the same
        return np.inf
    return w_motion * motion + w_app * (app - 0.25)


class PeopleTracker:
    """Everyone in view, each with an id, and the interacting pair among them in slots 0 and 1.

    Each frame ``assign`` matches every detection to the tracked people (one joint
    assignment, motion + appearance, :func:`match_cost`; a person may stay unmatched at
    MISS_COST); a detection nobody took goes to a person seen in the last CONFIRM frames
    whose predicted box it mostly covers (SAME_PERSON), is dropped when it mostly covers a
    person already matched (a part of them), and else starts a track; then the tracks that
    are not the pair are updated and the pair is chosen (:class:`PairChoice`); it returns the
    pair's detections. The caller then ``update``s each pair slot with what it made of them."""

    def __init__(self, appearance_weight: float = 1.0, max_lost: int = 150, reid_threshold: float = 0.45,
                 pair_memory: int = 25, pair_switch_frames: int = 15, pair_switch_margin: float = 0.3,
                 pair_absent_frames: int = 30):
        self.w_app, self.max_lost, self.reid = appearance_weight, max_lost, reid_threshold
        self.choice = PairChoice(pair_memory, pair_switch_frames, pair_switch_margin, pair_absent_frames)
        self.reset()

    def reset(self) -> None:
        self.people: list[Slot] = []
        self.pair: list[Slot | None] = [None, None]
        self.choice.reset()
        self._next_id = 0

    @property
    def slots(self) -> list[Slot]:
        """The pair's two tracks (an empty Slot where the pair has nobody yet)."""
        return [p if p is not None else Slot() for p in self.pair]

    def alive(self, s: int, frame: int) -> bool:
        slot = self.pair[s]
        return slot is not None and slot.box is not None and frame - slot.last_seen <= self.max_lost

    def features(self, image: np.ndarray, det: Detections) -> list:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        return [appearance(hsv, det.boxes[i], det.keypoints[i], det.keypoint_conf[i]) for i in range(len(det))]

    def assign(self, det: Detections, feats: list, frame: int) -> np.ndarray:
        """Detection index per pair slot [2] (-1: none this frame)."""
        from scipy.optimize import linear_sum_assignment

        n = len(det)
        pair = [p for p in self.pair if p is not None]
        self.people = [p for p in self.people if (p.hits >= CONFIRM and any(p is q for q in pair)) or (
            frame - p.last_seen <= self.max_lost and (p.hits >= CONFIRM or frame - p.last_seen <= CONFIRM))]
        match = np.full(n, -1)
        if self.people and n:
            cost = np.array([[match_cost(p, det.boxes[i], feats[i], frame, self.w_app, self.reid) for i in range(n)]
                             for p in self.people])
            padded = np.hstack([np.where(np.isfinite(cost), cost, 1e6), np.full((len(self.people),) * 2, MISS_COST)])
            for r, c in zip(*linear_sum_assignment(padded)):
                if c < n and cost[r, c] < MISS_COST:
                    match[c] = r
        recent = [r for r, p in enumerate(self.people) if r not in match and frame - p.last_seen <= CONFIRM]
        for i in sorted(np.flatnonzero(match < 0), key=lambda i: det.boxes[i, 0] + det.boxes[i, 2]):
            overlap = [overlap_share(self.people[r].predict(frame), det.boxes[i]) for r in recent]
            if overlap and max(overlap) > SAME_PERSON:  # a person just seen, where motion alone lost them
                match[i] = recent.pop(int(np.argmax(overlap)))
            elif not any(overlap_share(det.boxes[j], det.boxes[i]) > SAME_PERSON
                         for j in np.flatnonzero(match >= 0)):  # a new person, not a part of one already found
                self.people.append(Slot(track_id=self._next_id))
                self._next_id += 1
                match[i] = len(self.people) - 1
        now = {self.people[match[i]].track_id: i for i in range(n) if match[i] >= 0}
        chosen = self.choice.update(self.people, {k: det.boxes[i] for k, i in now.items()}, frame, self.max_lost)
        if chosen is not None:
            self.pair = chosen
        pair_ids = {p.track_id for p in self.pair if p is not None}
        clean = _clean(det.boxes)
        for i in np.flatnonzero(match >= 0):  # the others now; the pair once the caller has checked it
            person = self.people[match[i]]
            if person.track_id not in pair_ids or person.hits == 0:
                person.observe(det.boxes[i], feats[i], frame, clean[i])
        return np.array([now.get(p.track_id, -1) if p is not None else -1 for p in self.pair])

    def update(self, s: int, box: np.ndarray | None, feat, frame: int, clean: bool) -> None:
        """Record pair slot s's box [4] (None: unseen this frame) and colour feature; the
        appearance model learns only from ``clean`` views (not overlapped by the other)."""
        slot = self.pair[s]
        if box is None or slot is None or slot.last_seen == frame:
            return
        slot.observe(box, feat, frame, clean)

    def wide_search(self, frame: int, share: float, shape, within: int) -> bool:
        """Whether the detector's small-people passes should run: nobody was seen in the last
        ``within`` frames (a cold start: nothing tracked yet, or everyone gone), or someone seen
        then had a box whose longer side is under ``share`` of the longer side of an image of
        ``shape`` (H, W)."""
        boxes = [p.box for p in self.people if frame - p.last_seen <= within and p.box is not None]
        return not boxes or bool((person_size(np.array(boxes), shape) < share).any())

    def others(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Everyone seen this frame but the pair: (track ids [M] int64, boxes [M,4] px)."""
        pair = {p.track_id for p in self.pair if p is not None}
        rest = [p for p in self.people if p.last_seen == frame and p.track_id not in pair]
        return (np.array([p.track_id for p in rest], np.int64),
                np.array([p.box for p in rest], np.float32).reshape(-1, 4))

    @property
    def track_ids(self) -> np.ndarray:
        return np.array([p.track_id if p is not None else -1 for p in self.pair], np.int64)


CONFIRM = 3  # frames a new track needs before it is kept while unseen
SAME_PERSON = 0.7  # a detection covering this share of a person's predicted box (or of itself) is them
UNSEEN_COST = 2.0  # pair choice: what a frame in which the two are not both seen costs (body heights)


class PairChoice:
    """Which two tracked people interact, from evidence over time. Per frame, each two people
    seen together cost their box gap now and ``memory`` frames ahead at their current
    velocities (:func:`_pair_gap`: in body heights, with a size mismatch term for different
    distances; touching scores lowest), so people walking or standing together or
    approaching each other cost little and passers-by cost more once they have passed. A
    pair's evidence is that cost (at most UNSEEN_COST) averaged over about ``memory`` frames
    (a frame without both costs UNSEEN_COST). The pair changes when a member has been unseen
    longer than the tracker keeps anyone, or when another pair has been better by
    ``switch_margin`` for ``switch_frames`` frames in a row: a choice does not flicker. A member
    unseen for more than ``absent_frames`` gives up their slot at once to the best pair of the
    other member (when seen) with someone seen now, outside the pair, who first appeared after
    the member was last seen: the member re-found under a new id (the tracker could not
    re-identify them) is not left out while their old track waits, and nobody who was in view
    beside them takes their place."""

    def __init__(self, memory: int = 25, switch_frames: int = 15, switch_margin: float = 0.3,
                 absent_frames: int = 30):
        self.memory, self.switch_frames, self.margin = memory, switch_frames, switch_margin
        self.absent_frames = absent_frames
        self.reset()

    def reset(self) -> None:
        self.evidence: dict[tuple[int, int], float] = {}
        self.current: list[Slot | None] | None = None
        self._better = 0

    def update(self, people: list[Slot], boxes: dict[int, np.ndarray], frame: int, max_lost: int) -> list | None:
        """people: everyone tracked; boxes: track id -> box [4] of those seen this frame.
        Returns the pair [slot 0, slot 1] (slot 0 the leftmost when chosen; None where
        nobody), or None before anyone was seen. Only people confirmed (seen CONFIRM times,
        or every frame since they appeared) take part."""
        by_id = {p.track_id: p for p in people if _confirmed(p, p.track_id in boxes, frame)}
        seen = sorted(k for k in boxes if k in by_id)
        self.evidence = {k: v for k, v in self.evidence.items() if k[0] in by_id and k[1] in by_id}
        together = list(itertools.combinations(seen, 2))
        for key in together:
            (a, b), (va, vb) = (boxes[k] for k in key), (by_id[k].velocity for k in key)
            cost = min(0.5 * (_pair_gap(a, b) + _pair_gap(a + self.memory * va, b + self.memory * vb)), UNSEEN_COST)
            old = self.evidence.get(key)
            self.evidence[key] = cost if old is None else old + (cost - old) / self.memory
        for key in set(self.evidence) - set(together):  # not seen together: the evidence fades
            self.evidence[key] += (UNSEEN_COST - self.evidence[key]) / self.memory
        current = [p if p is not None and p.track_id in by_id else None for p in self.current or [None, None]]
        members = [p for p in current if p is not None]
        best = min(self.evidence, key=self.evidence.get) if self.evidence else None
        if len(members) == 2:
            key = tuple(sorted(p.track_id for p in members))
            gone = any(p.track_id not in boxes and frame - p.last_seen > max_lost for p in members)
            better = best is not None and best != key and self.evidence[best] + self.margin < self.evidence[key]
            self._better = self._better + 1 if better else 0
            stand_in = self._stand_in(members, seen, by_id, frame)
            if stand_in is not None:
                best = stand_in
            elif not gone and self._better < self.switch_frames:
                return self.current
        if best is None:  # nobody to pair with: whoever is there stays in (or takes) slot 0
            if not members and seen:
                current = [by_id[seen[0]], None]
            self.current = current if (members or seen) else self.current
            return self.current
        pair = sorted((by_id[k] for k in best), key=lambda p: (lambda b: b[0] + b[2])(boxes.get(p.track_id, p.box)))
        for s, p in enumerate(current):  # who stays in the pair keeps their slot
            if p is not None and p in pair and pair.index(p) != s:
                pair.reverse()
        self.current, self._better = pair, 0
        return self.current

    def _stand_in(self, members: list[Slot], seen: list[int], people: dict[int, Slot],
                  frame: int) -> tuple[int, int] | None:
        """The best-evidence pair (track ids) that keeps every member seen within
        ``absent_frames`` and takes in someone seen now from outside the pair who may be an
        absent member re-found (first seen after that member was last seen), where a member has
        been unseen longer than ``absent_frames``; else None."""
        absent = [p for p in members if frame - p.last_seen > self.absent_frames]
        if not absent:
            return None
        away = {p.track_id for p in absent}
        kept = {p.track_id for p in members} - away
        lost_at = min(p.last_seen for p in absent)
        outside = {k for k in seen if k not in kept | away and people[k].first_seen > lost_at}
        keys = [k for k in self.evidence if kept <= set(k) and not away & set(k) and outside & set(k)]
        return min(keys, key=self.evidence.get) if keys else None


def _confirmed(person: Slot, seen_now: bool, frame: int) -> bool:
    """Whether a track counts as a person: seen CONFIRM times, or every frame since it appeared
    (so the first frames of a video have people at once)."""
    hits = person.hits + seen_now
    return hits >= CONFIRM or (seen_now and (person.hits == 0 or hits == frame - person.first_seen + 1))


def _clean(boxes: np.ndarray) -> np.ndarray:
    """[N] whether each box [N,4] overlaps no other (IoU < 0.15): its colours are its own."""
    if len(boxes) < 2:
        return np.ones(len(boxes), bool)
    iou = box_iou(boxes, boxes)
    np.fill_diagonal(iou, 0)
    return iou.max(1) < 0.15


def _pair_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Gap between two boxes [4] in units of their mean height (0 when they overlap), minus
    their overlap (IoU) so that touching people score lowest."""
    h = max(((a[3] - a[1]) + (b[3] - b[1])) / 2, 1.0)
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    size = abs(np.log(max(a[3] - a[1], 1.0) / max(b[3] - b[1], 1.0)))
    return float(np.hypot(dx, dy) / h + 0.5 * size - box_iou(a[None], b[None])[0, 0])
