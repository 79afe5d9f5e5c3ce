"""Top-down keypoint models run on one person's crop: the packaged BlazePose GHUM full landmark
model (33 keypoints + a person mask) and user-provided ONNX models (heatmap, SimCC or direct).

A crop is an :class:`Roi` (centre, size and in-plane rotation); every model returns keypoints
in image pixels, BlazePose-33 order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, COCO17
from interaction_recon.perception import assets
from interaction_recon.perception.runtime import OnnxModel, TFLiteModel

COCO_IN_BLAZE = np.array([BLAZEPOSE33.index(n) for n in COCO17])
# BlazePose-33 index of each landmark's mirror image (left <-> right)
MIRROR33 = np.array([BLAZEPOSE33.index(n.replace("left", "#").replace("right", "left").replace("#", "right"))
                     for n in BLAZEPOSE33])
_HIPS, _SHOULDERS = [11, 12], [5, 6]  # COCO-17 indices


@dataclass
class Roi:
    """A rotated crop: centre (cx, cy) px, width, height px, angle rad (the person's up axis,
    clockwise from image-up; the crop is rotated so that the person stands upright in it)."""

    cx: float
    cy: float
    width: float
    height: float
    angle: float = 0.0

    def rotation(self) -> np.ndarray:
        """[2,2] image axes -> the crop's axes (a rotation by -angle)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.array([[c, s], [-s, c]])

    def to_crop(self, out_w: int, out_h: int) -> np.ndarray:
        """Affine [2,3] image px -> crop px of an out_w x out_h crop."""
        sx, sy = out_w / self.width, out_h / self.height
        # rotate image points by -angle about the centre, then scale and shift to the crop centre
        lin = np.diag([sx, sy]) @ self.rotation()
        t = np.array([out_w / 2, out_h / 2]) - lin @ np.array([self.cx, self.cy])
        return np.hstack([lin, t[:, None]]).astype(np.float64)

    def corners(self) -> np.ndarray:
        """The crop's corners in image px [4,2]."""
        m = np.vstack([self.to_crop(1, 1), [0, 0, 1]])
        inv = np.linalg.inv(m)
        pts = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], float)
        return (pts @ inv.T)[:, :2]


def roi_from_detection(box: np.ndarray, kp: np.ndarray, conf: np.ndarray, scale: float = 1.25,
                       aspect: float = 1.0, min_conf: float = 0.2, rotate: bool = True) -> Roi:
    """Crop around one detected person: box [4] px, COCO-17 keypoints [17,2] px with conf [17].
    The crop is upright unless hips and shoulders show a body axis more than 30 degrees off
    vertical; then it follows that axis and spans the keypoints. ``aspect`` = width / height."""
    x0, y0, x1, y1 = box
    angle = 0.0
    ok = conf >= min_conf
    if rotate and ok[_HIPS].all() and ok[_SHOULDERS].all():
        hip, sho = kp[_HIPS].mean(0), kp[_SHOULDERS].mean(0)
        d = sho - hip
        a = math.atan2(d[0], -d[1])
        if abs(a) > math.radians(30) and np.hypot(*d) > 1:
            angle = a
    if angle == 0.0:
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    else:
        pts = np.vstack([kp[ok], box.reshape(2, 2)]) if ok.sum() < 6 else kp[ok]
        c, s = math.cos(angle), math.sin(angle)
        local = pts @ np.array([[c, -s], [s, c]])  # rotate by -angle: (x', y') in the person's frame
        lo, hi = local.min(0), local.max(0)
        w, h = (hi - lo) * np.array([1.1, 1.25])  # keypoints lie inside the silhouette: widen
        mid = (lo + hi) / 2
        cx, cy = mid @ np.array([[c, s], [-s, c]])  # back to image px
    side = max(h, w / aspect if aspect else w) * scale
    return Roi(float(cx), float(cy), float(side * aspect), float(side), float(angle))


@dataclass
class PoseEstimate:
    """One person: keypoints [33,2] px, confidence [33] in [0,1], presence in [0,1], mask
    [h,w] float32 over ``mask_box`` (x0, y0 of its top-left pixel in the image) or None;
    world [33,3] m or None: the model's 3D landmarks, hip-centred, axes of the image (x right,
    y down, z away from the camera) as seen along the crop's viewing ray."""

    keypoints: np.ndarray
    confidence: np.ndarray
    presence: float
    mask: np.ndarray | None = None
    mask_origin: tuple[int, int] = (0, 0)
    world: np.ndarray | None = None

    def without(self, lost: np.ndarray) -> "PoseEstimate":
        """A copy with the points ``lost`` [33] bool marked missing: confidence 0, no 3D landmark."""
        confidence = np.where(lost, 0.0, self.confidence).astype(self.confidence.dtype)
        world = None if self.world is None else np.where(lost[:, None], np.nan, self.world).astype(self.world.dtype)
        return replace(self, confidence=confidence, world=world)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _warp_back(crop_map: np.ndarray, roi: Roi, image_hw) -> tuple[np.ndarray, tuple[int, int]]:
    """A map over the crop [h,w] -> its values over the crop's bounding rectangle in the image."""
    H, W = image_hw
    corners = roi.corners()
    x0, y0 = np.floor(corners.min(0)).astype(int).clip(0, [W, H])
    x1, y1 = np.ceil(corners.max(0)).astype(int).clip(0, [W, H])
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), np.float32), (0, 0)
    h, w = crop_map.shape
    m = roi.to_crop(w, h)
    m[:, 2] += m[:, :2] @ np.array([x0, y0])  # crop px of the rectangle's pixel (0, 0)
    out = cv2.warpAffine(crop_map, m, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out, (int(x0), int(y0))


class BlazePoseLandmarker:
    """A BlazePose GHUM landmark model (Apache-2.0; full from the mediapipe 0.10.21 wheel, taken
    when no ``model_path`` is given, or heavy from the npm package @mediapipe/pose) on a 256x256
    crop: 39 landmarks (33 body + 6 auxiliary), pose presence, a 256x256 person mask, and 39 world
    landmarks (m, hip-centred, in the rotated crop's axes). ``flip_test``: the crop is also run
    mirrored and the two answers averaged (landmarks, logits, mask, world; twice the time)."""

    SIZE = 256

    def __init__(self, num_threads: int = 1, masks: bool = True, model_path=None, flip_test: bool = False):
        self.model = TFLiteModel(model_path or assets.model_path("pose_landmark_full"), num_threads)
        self.masks, self.flip_test = masks, flip_test
        names = [o["name"] for o in self.model.outputs]
        order = {n: i for i, n in enumerate(names)}
        # outputs by shape: landmarks [1,195], flag [1,1], mask [1,256,256,1], heatmap, world landmarks
        shapes = {tuple(o["shape"]): order[o["name"]] for o in self.model.outputs}
        self._lm, self._flag, self._seg = shapes[(1, 195)], shapes[(1, 1)], shapes[(1, 256, 256, 1)]
        self._world = shapes.get((1, 117))

    aspect = 1.0

    def _run(self, crop: np.ndarray, mirrored: bool) -> tuple[np.ndarray, float, np.ndarray, np.ndarray | None]:
        """(landmarks [33, 5] in crop px, presence logit or probability, mask logits [256, 256],
        world [33, 3] or None) of the crop [256, 256, 3], answered for the mirrored crop and
        mapped back when ``mirrored``."""
        outs = self.model.run((crop[:, ::-1] if mirrored else crop)[None].astype(np.float32) / 255.0)
        lm = outs[self._lm].reshape(39, 5)[:33].astype(np.float64)
        seg = outs[self._seg][0, :, :, 0]
        world = None if self._world is None else outs[self._world].reshape(39, 3)[:33].astype(np.float64)
        if mirrored:
            lm = lm[MIRROR33]
            lm[:, 0] = self.SIZE - 1 - lm[:, 0]  # crop column c shows what column SIZE - 1 - c did
            seg = seg[:, ::-1]
            if world is not None:
                world = world[MIRROR33] * np.array([-1.0, 1.0, 1.0])
        return lm, float(outs[self._flag].ravel()[0]), seg, world

    def __call__(self, image: np.ndarray, roi: Roi) -> PoseEstimate:
        m = roi.to_crop(self.SIZE, self.SIZE)
        crop = cv2.warpAffine(image, m, (self.SIZE, self.SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        runs = [self._run(crop, mirrored) for mirrored in ((False, True) if self.flip_test else (False,))]
        lm = np.mean([r[0] for r in runs], 0)
        presence = float(np.mean([r[1] for r in runs]))
        inv = cv2.invertAffineTransform(m)
        kp = lm[:, :2] @ inv[:, :2].T + inv[:, 2]
        if not 0.0 <= presence <= 1.0:
            presence = float(_sigmoid(presence))
        conf = _sigmoid(lm[:, 3]) * presence
        inside = (lm[:, 0] >= 0) & (lm[:, 0] < self.SIZE) & (lm[:, 1] >= 0) & (lm[:, 1] < self.SIZE)
        conf = np.where(inside, conf, conf * 0.5)
        mask, origin = None, (0, 0)
        if self.masks:
            seg = np.mean([r[2] for r in runs], 0)
            mask, origin = _warp_back(_sigmoid(seg).astype(np.float32), roi, image.shape[:2])
        world = None
        if self._world is not None:
            world = np.mean([r[3] for r in runs], 0)
            # the crop's axes -> the image's (row vectors: x @ R applies R's inverse)
            world[:, :2] = world[:, :2] @ roi.rotation()
            world = world.astype(np.float32)
        return PoseEstimate(kp.astype(np.float32), conf.astype(np.float32), presence, mask, origin, world)


IMAGENET_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
IMAGENET_STD = np.array([58.395, 57.12, 57.375], np.float32)


class OnnxKeypointModel:
    """A user-provided top-down ONNX keypoint model (e.g. RTMPose, ViTPose, HRNet exports).
    Input [1,3,h,w] RGB, normalised with ImageNet mean/std; ``fmt``: "heatmap" (output
    [1,K,h',w']), "simcc" (outputs [1,K,Wx] and [1,K,Hy], Wx/w = Hy/h = split ratio) or
    "direct" ([1,K,3]: x, y in input px, confidence). ``layout``: "coco17" or "blazepose33"."""

    def __init__(self, path, fmt: str = "heatmap", layout: str = "coco17", num_threads: int = 1,
                 providers=("CPUExecutionProvider",)):
        if fmt not in ("heatmap", "simcc", "direct"):
            raise ValueError(f"unknown onnx keypoint format {fmt!r}; choose heatmap, simcc or direct")
        if layout not in ("coco17", "blazepose33"):
            raise ValueError(f"unknown keypoint layout {layout!r}; choose coco17 or blazepose33")
        self.model = OnnxModel(path, num_threads, providers, what="keypoint")
        self.h, self.w = self.model.input_hw((256, 192))
        self.fmt, self.layout = fmt, layout
        self.aspect = self.w / self.h
        self.masks = False

    def __call__(self, image: np.ndarray, roi: Roi) -> PoseEstimate:
        m = roi.to_crop(self.w, self.h)
        crop = cv2.warpAffine(image, m, (self.w, self.h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x = ((crop.astype(np.float32) - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None]
        outs = [np.asarray(o, np.float32) for o in self.model.run(x)]
        xy, conf = self._decode(outs)
        inv = cv2.invertAffineTransform(m)
        xy = xy @ inv[:, :2].T + inv[:, 2]
        n = 33 if self.layout == "blazepose33" else 17
        if xy.shape[0] != n:
            raise ValueError(f"onnx keypoint model gave {xy.shape[0]} keypoints; layout {self.layout} needs {n}")
        kp = np.full((33, 2), np.nan, np.float32)
        c = np.zeros(33, np.float32)
        idx = np.arange(33) if n == 33 else COCO_IN_BLAZE
        kp[idx], c[idx] = xy, np.clip(conf, 0, 1)
        presence = float(np.mean(np.sort(c[idx])[-max(1, n // 2):]))
        return PoseEstimate(kp, c, presence)

    def _decode(self, outs) -> tuple[np.ndarray, np.ndarray]:
        """Model outputs -> keypoints [K,2] in crop px, confidence [K]."""
        if self.fmt == "direct":
            o = outs[0].reshape(-1, 3)
            return o[:, :2], o[:, 2]
        if self.fmt == "simcc":
            sx, sy = outs[0][0], outs[1][0]  # [K, Wx], [K, Hy]
            ix, iy = sx.argmax(1), sy.argmax(1)
            xy = np.stack([ix / (sx.shape[1] / self.w), iy / (sy.shape[1] / self.h)], -1)
            return xy, np.minimum(sx.max(1), sy.max(1))
        hm = outs[0][0]  # [K, h', w']
        k, hh, ww = hm.shape
        flat = hm.reshape(k, -1)
        idx = flat.argmax(1)
        py, px = np.divmod(idx, ww)
        xy = np.stack([px, py], -1).astype(np.float32)
        for j in range(k):  # quarter-pixel shift toward the higher neighbour
            x, y = px[j], py[j]
            if 0 < x < ww - 1:
                xy[j, 0] += 0.25 * np.sign(hm[j, y, x + 1] - hm[j, y, x - 1])
            if 0 < y < hh - 1:
                xy[j, 1] += 0.25 * np.sign(hm[j, y + 1, x] - hm[j, y - 1, x])
        # heatmap cell centres -> input px
        xy = (xy + 0.5) * np.array([self.w / ww, self.h / hh]) - 0.5
        return xy, flat.max(1)


def create_keypoint_model(cfg) -> BlazePoseLandmarker | OnnxKeypointModel:
    """The keypoint model named by ``cfg.keypoints`` (a PerceptionConfig)."""
    if cfg.keypoints == "blazepose":
        if cfg.blazepose_model not in ("full", "heavy"):
            raise ValueError(f"unknown perception.blazepose_model {cfg.blazepose_model!r}; choose full or heavy")
        return BlazePoseLandmarker(cfg.num_threads, cfg.masks, assets.model_path(f"pose_landmark_{cfg.blazepose_model}"),
                                   cfg.flip_test)
    if cfg.keypoints == "onnx":
        return OnnxKeypointModel(cfg.keypoint_model, cfg.keypoint_format, cfg.keypoint_layout, cfg.num_threads,
                                 cfg.onnx_providers)
    raise ValueError(f"unknown perception.keypoints {cfg.keypoints!r}; choose blazepose or onnx")
