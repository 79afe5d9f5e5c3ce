"""The streaming front end: detector -> pair tracker -> top-down keypoints and masks per slot."""
from __future__ import annotations

import numpy as np

from interaction_recon.config import PerceptionConfig
from interaction_recon.perception.detectors import Detections, box_iou, create_detector
from interaction_recon.perception.fusion import fuse
from interaction_recon.perception.image import MIN_SIDE, downscale, to_rgb8
from interaction_recon.perception.keypoints import COCO_IN_BLAZE, PoseEstimate, create_keypoint_model, roi_from_detection
from interaction_recon.perception.tracker import PeopleTracker
from interaction_recon.perception.types import PeopleFrame

CLEAR_MARGIN = 0.1  # colour-distance margin (Bhattacharyya) by which one identity must fit better
OVERLAP = 0.3  # IoU of a lone detection with the other identity's predicted box: both may be in it


class Perception:
    """One RGB frame in, one :class:`PeopleFrame` out; identities persist across calls
    (``reset`` forgets them). Missing people have NaN boxes/keypoints and confidence 0."""

    def __init__(self, config: PerceptionConfig | None = None):
        self.config = cfg = config or PerceptionConfig()
        self.detector = create_detector(cfg)
        self.keypoint_model = create_keypoint_model(cfg)
        self.tracker = PeopleTracker(cfg.appearance_weight, cfg.max_lost, cfg.reid_threshold, cfg.pair_memory,
                                     cfg.pair_switch_frames, cfg.pair_switch_margin, cfg.pair_absent_frames)
        self.reset()

    def reset(self) -> None:
        self.tracker.reset()
        self._index = 0
        self._last: list[PoseEstimate | None] = [None, None]
        self._coasting = [0, 0]
        self._seen = [False, False]  # whether each slot was published the frame before
        self._emerged = [-(10 ** 9)] * 2  # the frame each slot last came back into view beside the other

    def __call__(self, image: np.ndarray) -> PeopleFrame:
        cfg = self.config
        rgb = to_rgb8(image)
        size = rgb.shape[:2]
        index, self._index = self._index, self._index + 1
        if min(size) < MIN_SIDE:
            return PeopleFrame.empty(index, size, self.tracker.track_ids, masks=cfg.masks)
        work, f = downscale(rgb, cfg.max_side)
        wide = self.tracker.wide_search(index, cfg.detector_small_share, work.shape, cfg.detector_small_memory)
        det = self.detector(work, small=wide)
        feats = self.tracker.features(work, det)
        assign = self.tracker.assign(det, feats, index)

        est: list[PoseEstimate | None] = [None, None]
        boxes: list[np.ndarray | None] = [None, None]
        for s in range(2):
            i = assign[s]
            if i >= 0:
                est[s], boxes[s] = self._estimate(work, det, i, s, assign, index), det.boxes[i]
                self._coasting[s] = 0
        if (assign >= 0).all() and _same_person(est[0], est[1]):
            # both crops locked onto one body: the estimate further from its own detection's
            # keypoints takes the detector's keypoints instead
            far = [_median_distance(est[s].keypoints[COCO_IN_BLAZE], det.keypoints[assign[s]]) for s in range(2)]
            if all(np.isfinite(far)):
                s = int(np.argmax(far))
                est[s] = _detector_pose(det, assign[s], est[s])
        held = self._verify_identity(work, det, est, boxes, feats, assign, index)
        for s in range(2):  # a slot the detector missed: follow its own keypoints a little while
            if not held and boxes[s] is None and self._can_coast(s, index):
                est[s], boxes[s] = self._coast(work, s, index, est[1 - s])
        self._hide_behind(est, index)
        for s in range(2):
            clean = boxes[1 - s] is None or boxes[s] is None or box_iou(boxes[s][None], boxes[1 - s][None])[0, 0] < 0.15
            feat = feats[assign[s]] if assign[s] >= 0 else None
            self.tracker.update(s, boxes[s], feat, index, clean)
            self._last[s] = est[s] if boxes[s] is not None else self._last[s]
        ignored = int(len(det) - (assign >= 0).sum())
        return self._frame(index, size, f, work.shape[:2], est, boxes, ignored)

    def everyone(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every person the detector finds in one image (not only the pair), each with the
        keypoints a slot would get: (boxes [N,4], keypoints [N,33,2], confidence [N,33]) in
        input pixels. Identities are not touched: a still image has nobody tracked in it, so the
        small-people passes run (:meth:`PeopleTracker.wide_search`)."""
        work, f = downscale(to_rgb8(image), self.config.max_side)
        det = self.detector(work, small=True)
        est = [self._estimate(work, det, i) for i in range(len(det))]
        if not est:
            return np.zeros((0, 4), np.float32), np.zeros((0, 33, 2), np.float32), np.zeros((0, 33), np.float32)
        return (det.boxes / f, np.stack([e.keypoints for e in est]) / f,
                np.stack([np.clip(e.confidence, 0, 1) for e in est]))

    def _crowding(self, det: Detections, i: int, s: int | None = None, assign: np.ndarray | None = None,
                  index: int = 0) -> float:
        """Largest IoU of detection i's box with another detection's box and, for slot s, with
        the other identity's predicted box where the detector missed that one (0 when alone)."""
        others = [det.boxes[j] for j in range(len(det)) if j != i]
        if s is not None and assign[1 - s] < 0 and self.tracker.alive(1 - s, index):
            others.append(self.tracker.slots[1 - s].predict(index))
        return float(box_iou(det.boxes[i][None], np.stack(others))[0].max()) if others else 0.0

    def _estimate(self, image: np.ndarray, det: Detections, i: int, s: int | None = None,
                  assign: np.ndarray | None = None, index: int = 0) -> PoseEstimate:
        """Detection i's top-down estimate (for slot s, when given); fused with the detector's
        keypoints (when configured, or, with ``fuse_cut_off``, where the box meets the image border:
        :func:`cut_off`) unless its box overlaps another person's by more than
        ``keypoint_fuse_overlap`` (IoU, :meth:`_crowding`): there the detector's keypoints may
        belong to either body."""
        cfg = self.config
        roi = roi_from_detection(det.boxes[i], det.keypoints[i], det.keypoint_conf[i], cfg.roi_scale,
                                 self.keypoint_model.aspect)
        est = self.keypoint_model(image, roi)
        if est.presence < cfg.min_presence and np.isfinite(det.keypoints[i]).all():
            return _detector_pose(det, i, est)
        fused = cfg.fuse_keypoints or (cfg.fuse_cut_off and cut_off(det.boxes[i], image.shape[:2], cfg.cut_off_margin))
        if fused and self._crowding(det, i, s, assign, index) <= cfg.keypoint_fuse_overlap:
            est = fuse(est, det.keypoints[i], det.keypoint_conf[i], det.boxes[i], image.shape[:2],
                       cfg.keypoint_agreement, cfg.keypoint_min_conf, cfg.keypoint_agreed, cfg.keypoint_min_agreement)
        return est

    def _verify_identity(self, image, det, est, boxes, feats, assign, index: int) -> bool:
        """One person found where both overlap: the keypoint model may have locked onto the
        other body. Two colour cues, each compared with both identities' models: the colours
        under the estimate's keypoints, and the detection's own (its box and detector
        keypoints, as the tracker saw it).
        - Keypoint colours fit the other slot clearly better (by CLEAR_MARGIN): the estimate is
          handed over — unless the detection's colours clearly say it is this slot's person;
          then the crop drifted onto the other body: this slot takes the detector's keypoints
          and the other slot the crop's estimate (when the two are not one body).
        - The lone detection also covers the other identity's predicted box, and the keypoint
          colours do not fit this slot clearly better, or the detection's colours lean to the
          other: held back (assigned to nobody, counted as ignored) — a missing frame costs the
          fit less than one given to the wrong person.
        Returns whether it was held back."""
        found = [s for s in range(2) if est[s] is not None]
        slots = self.tracker.slots
        if len(found) != 1 or not all(sl.samples for sl in slots):
            return False
        s = found[0]
        i = assign[s]
        import cv2

        from interaction_recon.perception.tracker import appearance, appearance_distance

        kp, conf = est[s].keypoints[COCO_IN_BLAZE], est[s].confidence[COCO_IN_BLAZE]
        feat = appearance(cv2.cvtColor(image, cv2.COLOR_RGB2HSV), boxes[s], np.nan_to_num(kp), conf)
        own, other = (appearance_distance(slots[k].feature, feat) for k in (s, 1 - s))
        det_own, det_other = (appearance_distance(slots[k].feature, feats[i]) for k in (s, 1 - s))
        if other + CLEAR_MARGIN < own:
            if det_own + CLEAR_MARGIN < det_other and np.isfinite(det.keypoints[i]).all():
                mine = _detector_pose(det, i, est[s], mask=False)
                if self.tracker.alive(1 - s, index) and not _same_person(est[s], mine):
                    est[1 - s], boxes[1 - s] = est[s], _keypoint_box(est[s], image.shape)
                est[s] = mine
                return False
            est[1 - s], boxes[1 - s], est[s], boxes[s] = est[s], boxes[s], None, None
            feats.append(feat)
            assign[1 - s], assign[s] = len(feats) - 1, -1
            return False
        covers = self.tracker.alive(1 - s, index) and box_iou(
            boxes[s][None], slots[1 - s].predict(index)[None])[0, 0] > OVERLAP
        if covers and (own + CLEAR_MARGIN > other or det_other < det_own):
            est[s], boxes[s], assign[s] = None, None, -1
            return True
        return False

    def _hide_behind(self, est: list[PoseEstimate | None], index: int) -> None:
        """A pair member back in view after frames unseen while the other was in view was probably
        hidden behind them: for ``emerge_frames`` frames, its joints within ``emerge_radius`` of the
        other's are marked missing (:func:`hidden_joints`); there the keypoint model often puts the
        coming-back person's joint on the occluder's (validation crossing_close: an ankle 35-47 px off)."""
        cfg = self.config
        seen = [e is not None for e in est]
        for s in range(2):
            if seen[s] and not self._seen[s] and seen[1 - s] and self._seen[1 - s]:
                self._emerged[s] = index
            if seen[s] and seen[1 - s] and index - self._emerged[s] < cfg.emerge_frames:
                est[s] = hidden_joints(est[s], est[1 - s], cfg.emerge_radius)
        self._seen = seen

    def _can_coast(self, s: int, index: int) -> bool:
        slot = self.tracker.slots[s]
        return (self._last[s] is not None and slot.box is not None and index - slot.last_seen <= 2
                and self._coasting[s] < self.config.coast_frames)

    def _coast(self, image: np.ndarray, s: int, index: int, other: PoseEstimate | None):
        last = self._last[s]
        box = self.tracker.slots[s].predict(index)
        kp, conf = last.keypoints[COCO_IN_BLAZE], last.confidence[COCO_IN_BLAZE]
        est = self.keypoint_model(image, roi_from_detection(box, np.nan_to_num(kp), conf, self.config.roi_scale,
                                                            self.keypoint_model.aspect))
        if est.presence < self.config.min_presence or _same_person(est, other):
            return None, None
        box = _keypoint_box(est, image.shape)
        if min(box[2] - box[0], box[3] - box[1]) < 2.0:  # its keypoints lie outside the image: gone
            return None, None
        self._coasting[s] += 1
        return est, box

    def _frame(self, index, size, f, work_hw, est, boxes, ignored) -> PeopleFrame:
        out = PeopleFrame.empty(index, size, self.tracker.track_ids, masks=self.config.masks, ignored=ignored)
        out.other_ids, boxes_rest = self.tracker.others(index)
        out.other_boxes = boxes_rest / f
        if self.config.masks:
            masks = np.zeros((2, *work_hw), np.float32)
        for s in range(2):
            if est[s] is None:
                continue
            out.present[s] = True
            out.boxes[s] = boxes[s] / f
            out.keypoints[s] = est[s].keypoints / f
            out.confidence[s] = np.clip(est[s].confidence, 0, 1)
            if est[s].world is not None:
                out.world[s] = est[s].world
            if self.config.masks:
                masks[s] = _paste(est[s], boxes[s], work_hw)
        if self.config.masks:
            both = (masks[0] > 0.5) & (masks[1] > 0.5)  # a pixel belongs to one person: the surer one
            lose = np.where(masks[0] >= masks[1], 1, 0)
            for s in range(2):
                sel = both & (lose == s)
                masks[s][sel] = np.minimum(masks[s][sel], 1 - masks[1 - s][sel])
            if f != 1.0:
                import cv2

                masks = np.stack([cv2.resize(m, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for m in masks])
            out.masks = masks
        return out


def _paste(est: PoseEstimate, box: np.ndarray, hw) -> np.ndarray:
    """The person's mask over the whole (work) image [H, W]; a box mask when the model has none."""
    full = np.zeros(hw, np.float32)
    if est.mask is None:
        x0, y0, x1, y1 = np.round(box).astype(int)
        full[max(y0, 0):y1, max(x0, 0):x1] = 1.0
        return full
    x0, y0 = est.mask_origin
    h, w = est.mask.shape
    full[y0:y0 + h, x0:x0 + w] = est.mask
    return full


def _detector_pose(det: Detections, i: int, est: PoseEstimate, mask: bool = True) -> PoseEstimate:
    """Detection i's own COCO-17 keypoints in the 33 slots (the rest unseen); est's mask kept
    unless ``mask`` is False (it shows another body: the person's box stands in)."""
    kp = np.full((33, 2), np.nan, np.float32)
    conf = np.zeros(33, np.float32)
    kp[COCO_IN_BLAZE], conf[COCO_IN_BLAZE] = det.keypoints[i], det.keypoint_conf[i]
    return PoseEstimate(kp, conf, est.presence, est.mask if mask else None, est.mask_origin)


def _keypoint_box(est: PoseEstimate, hw) -> np.ndarray:
    """Box [4] around an estimate's confident keypoints (all when fewer than 4), padded 10 %,
    inside an image of shape hw."""
    ok = (est.confidence > 0.3) & np.isfinite(est.keypoints).all(-1)
    pts = est.keypoints[ok] if ok.sum() >= 4 else est.keypoints
    lo, hi = np.nanmin(pts, 0), np.nanmax(pts, 0)
    pad = 0.1 * (hi - lo)
    return np.concatenate([lo - pad, hi + pad]).clip(0, [hw[1], hw[0]] * 2)


def _median_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Median px distance between two keypoint sets [K, 2] over the joints both have (NaN
    with fewer than 4)."""
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    return float(np.median(np.linalg.norm(a[ok] - b[ok], axis=-1))) if ok.sum() >= 4 else np.nan


def _same_person(a: PoseEstimate | None, b: PoseEstimate | None) -> bool:
    """Whether two estimates sit on the same body (median keypoint distance < 10% of its size)."""
    if a is None or b is None:
        return False
    ok = (a.confidence > 0.3) & (b.confidence > 0.3)
    if ok.sum() < 4:
        return False
    extent = np.ptp(a.keypoints[ok], axis=0).max()
    return _median_distance(a.keypoints[ok], b.keypoints[ok]) < 0.1 * max(extent, 1.0)


def hidden_joints(est: PoseEstimate, other: PoseEstimate, radius: float, min_conf: float = 0.2) -> PoseEstimate:
    """``est`` with its points within ``radius`` x its height (the extent of its confident
    keypoints) of one of ``other``'s confident points marked missing: confidence 0, no 3D
    landmark; the rest unchanged."""
    ok = (est.confidence > min_conf) & np.isfinite(est.keypoints).all(-1)
    theirs = other.keypoints[(other.confidence > min_conf) & np.isfinite(other.keypoints).all(-1)]
    if ok.sum() < 2 or not len(theirs):
        return est
    height = float(np.ptp(est.keypoints[ok, 1]))
    gap = np.linalg.norm(np.nan_to_num(est.keypoints)[:, None] - theirs[None], axis=-1).min(1)  # [33] px
    lost = ok & (gap < radius * height)
    return est.without(lost) if lost.any() else est


def cut_off(box: np.ndarray, image_hw, margin: float) -> bool:
    """Whether a person's box [4] px meets the border of an image (H, W) within ``margin`` (share
    of the longer side): the person is probably cut off by the frame, where the top-down model
    squeezes the whole skeleton into what is visible."""
    h, w = image_hw
    m = margin * max(h, w)
    return bool(box[0] <= m or box[1] <= m or box[2] >= w - m or box[3] >= h - m)
