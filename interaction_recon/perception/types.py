"""What the perception front end hands on: one frame (streaming) or a whole clip (batch).

Slots 0 and 1 are the two tracked identities of the interacting pair. Keypoints are in
BlazePose-33 order (``interaction_recon.body.skeleton.BLAZEPOSE33``), pixels of the input image.
A missing person (slot empty this frame) has ``present=False``, ``confidence`` 0, NaN box and
NaN keypoints; downstream treats confidence 0 as missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, COCO17

COCO17_FROM_BLAZEPOSE33 = np.array([BLAZEPOSE33.index(n) for n in COCO17])  # [17]


@dataclass
class PeopleFrame:
    """One frame's result. Shapes: boxes [2,4] (x0,y0,x1,y1 px, NaN if empty), keypoints
    [2,33,2] px (NaN if empty), confidence [2,33] in [0,1], present [2] bool, track_ids [2]
    int64 (-1 until a slot was filled), masks [2,H,W] float32 in [0,1] or None, ignored: the
    number of detections given to neither slot (other people than the pair, or one held back
    because it could be either of the two); world [2,33,3] m (NaN where the keypoint model
    gives none): 3D landmarks, hip-centred, image axes (see ``PoseEstimate.world``); depth [2] m
    or None: each person's distance from an aligned depth image (:mod:`.depth`), NaN where none;
    other_ids [M] int64 and other_boxes [M,4] px: everyone else seen in this frame, with the
    tracker's ids (distinct from the pair's)."""

    index: int
    boxes: np.ndarray
    keypoints: np.ndarray
    confidence: np.ndarray
    present: np.ndarray
    track_ids: np.ndarray
    masks: np.ndarray | None
    ignored: int = 0
    image_size: tuple[int, int] = (0, 0)  # (H, W) of the input image
    world: np.ndarray | None = None
    depth: np.ndarray | None = None
    other_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    other_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))

    @property
    def everyone(self) -> tuple[np.ndarray, np.ndarray]:
        """Everyone seen in this frame, the pair first: (track ids [M] int64, boxes [M, 4] px)."""
        return (np.concatenate([self.track_ids[self.present], self.other_ids]).astype(np.int64),
                np.concatenate([self.boxes[self.present], self.other_boxes]).astype(np.float32))

    def world_or_nan(self) -> np.ndarray:
        """[2, 33, 3] world landmarks, NaN where there are none."""
        return np.full((2, 33, 3), np.nan, np.float32) if self.world is None else self.world

    @classmethod
    def empty(cls, index: int, image_size: tuple[int, int], track_ids=None, masks: bool = True,
              ignored: int = 0) -> "PeopleFrame":
        h, w = image_size
        return cls(index=index, boxes=np.full((2, 4), np.nan, np.float32),
                   keypoints=np.full((2, 33, 2), np.nan, np.float32),
                   confidence=np.zeros((2, 33), np.float32), present=np.zeros(2, bool),
                   track_ids=np.full(2, -1, np.int64) if track_ids is None else np.asarray(track_ids, np.int64),
                   masks=np.zeros((2, h, w), np.float32) if masks else None, ignored=ignored,
                   image_size=(h, w), world=np.full((2, 33, 3), np.nan, np.float32))

    def coco17(self) -> tuple[np.ndarray, np.ndarray]:
        """COCO-17 view: (keypoints [2,17,2] px, confidence [2,17])."""
        return self.keypoints[:, COCO17_FROM_BLAZEPOSE33], self.confidence[:, COCO17_FROM_BLAZEPOSE33]

    def union_mask(self) -> np.ndarray | None:
        """Both people: [H, W] float32, the per-pixel max of the two masks (None without masks)."""
        return None if self.masks is None else self.masks.max(0)


@dataclass
class PeopleTrack:
    """A clip: the PeopleFrame fields stacked over T frames, person axis first.
    boxes [2,T,4], keypoints [2,T,33,2], confidence [2,T,33], present [2,T], track_ids [2]
    (the ids the slots ended with), ignored [T] int, masks None or [2,T,h,w] float16 at reduced
    resolution (h, w = mask_size), image_size (H, W), fps, world [2,T,33,3] m (NaN where none),
    frame_ids [2,T] int64: each slot's id in each frame (-1: nobody yet; None from older files);
    everyone else seen, one row per person and frame: other_frames [N] int64 (frame positions),
    other_ids [N] int64, other_boxes [N,4] px (empty from older files)."""

    boxes: np.ndarray
    keypoints: np.ndarray
    confidence: np.ndarray
    present: np.ndarray
    track_ids: np.ndarray
    ignored: np.ndarray
    masks: np.ndarray | None
    image_size: tuple[int, int]
    fps: float
    world: np.ndarray | None = None
    frame_ids: np.ndarray | None = None
    other_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    other_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    other_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))

    @property
    def num_frames(self) -> int:
        return int(self.boxes.shape[1])

    @classmethod
    def from_frames(cls, frames: list[PeopleFrame], fps: float, mask_size: tuple[int, int] | None = None) -> "PeopleTrack":
        """Stack streaming results. ``mask_size`` (h, w) downsamples masks (None keeps full size)."""
        if not frames:
            raise ValueError("PeopleTrack.from_frames: no frames")
        stack = lambda name: np.stack([getattr(f, name) for f in frames], axis=1)  # noqa: E731
        masks = None
        if all(f.masks is not None for f in frames):
            masks = np.stack([_resize_masks(f.masks, mask_size) for f in frames], axis=1)
        ids = np.stack([f.track_ids for f in frames])  # [T,2]
        counts = [len(f.other_ids) for f in frames]
        return cls(boxes=stack("boxes"), keypoints=stack("keypoints"), confidence=stack("confidence"),
                   present=stack("present"), track_ids=ids[-1].copy(),
                   ignored=np.array([f.ignored for f in frames], np.int64), masks=masks,
                   image_size=tuple(frames[0].image_size), fps=float(fps),
                   world=np.stack([f.world_or_nan() for f in frames], axis=1), frame_ids=ids.T.copy(),
                   other_frames=np.repeat(np.arange(len(frames)), counts).astype(np.int64),
                   other_ids=np.concatenate([f.other_ids for f in frames]).astype(np.int64),
                   other_boxes=np.concatenate([f.other_boxes for f in frames]).reshape(-1, 4).astype(np.float32))

    @property
    def slot_ids(self) -> np.ndarray:
        """Each slot's id per frame [2,T] where known, else the ids the slots ended with [2]."""
        return self.frame_ids if self.frame_ids is not None else self.track_ids

    def everyone(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per frame, everyone seen, the pair first: (track ids [M] int64, boxes [M, 4] px)
        (:attr:`PeopleFrame.everyone`)."""
        ids = self.slot_ids
        ids = np.repeat(ids[:, None], self.num_frames, 1) if ids.ndim == 1 else ids
        cut = np.searchsorted(self.other_frames, np.arange(1, self.num_frames))  # other_frames ascend
        other_ids, other_boxes = np.split(self.other_ids, cut), np.split(self.other_boxes.reshape(-1, 4), cut)
        return [(np.concatenate([ids[self.present[:, t], t], other_ids[t]]).astype(np.int64),
                 np.concatenate([self.boxes[self.present[:, t], t], other_boxes[t]]).astype(np.float32))
                for t in range(self.num_frames)]

    def coco17(self) -> tuple[np.ndarray, np.ndarray]:
        """COCO-17 view: (keypoints [2,T,17,2], confidence [2,T,17])."""
        return self.keypoints[:, :, COCO17_FROM_BLAZEPOSE33], self.confidence[:, :, COCO17_FROM_BLAZEPOSE33]

    def save(self, path) -> None:
        """Write an .npz with every field."""
        np.savez_compressed(path, boxes=self.boxes, keypoints=self.keypoints, confidence=self.confidence,
                            present=self.present, track_ids=self.track_ids, ignored=self.ignored,
                            masks=self.masks if self.masks is not None else np.zeros(0),
                            image_size=np.array(self.image_size), fps=np.array(self.fps),
                            world=self.world if self.world is not None else np.zeros(0),
                            frame_ids=self.frame_ids if self.frame_ids is not None else np.zeros(0),
                            other_frames=self.other_frames, other_ids=self.other_ids, other_boxes=self.other_boxes)

    @classmethod
    def load(cls, path) -> "PeopleTrack":
        """Read what :meth:`save` wrote."""
        with np.load(path) as d:
            masks = d["masks"] if d["masks"].size else None
            world = d["world"] if "world" in d.files and d["world"].size else None
            ids = d["frame_ids"] if "frame_ids" in d.files and d["frame_ids"].size else None
            others = {k: d[k] for k in ("other_frames", "other_ids", "other_boxes") if k in d.files}
            return cls(boxes=d["boxes"], keypoints=d["keypoints"], confidence=d["confidence"], present=d["present"],
                       track_ids=d["track_ids"], ignored=d["ignored"], masks=masks,
                       image_size=tuple(int(v) for v in d["image_size"]), fps=float(d["fps"]), world=world,
                       frame_ids=ids, **others)


def _resize_masks(masks: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or tuple(masks.shape[1:]) == tuple(size):
        return masks.astype(np.float16)
    import cv2

    h, w = size
    return np.stack([cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA) for m in masks]).astype(np.float16)
