"""The one result type of the project: both people's motion over a span of frames.

Produced by the window optimiser, stitched over a video by ``reconstruct``, published by the
ROS node, scored by the benchmark. Arrays are numpy (float32 unless noted) in the OpenCV
camera frame of the input (x right, y down, z forward), metres; person order is the
tracker's (slot 0, slot 1). The file form is ``../shared/METRICS.md``'s ``results.npz``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from interaction_recon.body.model import BodyParams


@dataclass
class Contact:
    """One contact between person 0's ``part_a`` and person 1's ``part_b`` in one frame
    (coarse part names with side, e.g. "right hand"; see ``body.skeleton.COARSE_PARTS``)."""

    frame: int  # absolute frame index
    part_a: str
    part_b: str
    point: list[float]  # [3] camera frame, metres: midpoint of the closest surface points
    distance: float  # metres between the two parts' closest points
    confidence: float  # [0, 1]


@dataclass
class Reconstruction:
    """Two people over T frames.

    frames:        [T] int64 absolute frame indices (video frame number / node frame counter).
    stamps:        [T] float64 seconds (video time or ROS stamp).
    global_orient: [2, T, 3] axis-angle;  body_pose [2, T, 23, 3];  transl [2, T, 3].
    shape:         [2, S] one shape per person (the body model's own: anny phenotypes / betas).
    joints:        [2, T, 24, 3] SMPL-24 joints, NaN where a person is unknown.
    confidence:    [2, T] in [0, 1] (0 = never observed in that frame's neighbourhood).
    track_ids:     [2] int64 the tracker's ids of the two slots (-1 = never seen).
    K:             [3, 3] float64 intrinsics used.
    contacts:      per-frame contacts (any order).
    contact_evidence: [T] bool, contact evidence was available in that frame (both people
                   placed, or an external source answered); without it, no contact is no news.
    joint_confidence: [2, T, 24] in [0, 1], the frame confidence lowered for joints no keypoint
                   saw (fitting/visibility.py); default: the frame confidence for every joint.
    floor:         [4] (up [3] unit, camera height m) of the floor in the camera frame: the
                   known one (fitting.camera_height), the one everyone's boxes give or the
                   one the people stand on (fitting/floor.py); None when it cannot be told.
    position_error: [2, T] m, the typical error of each pelvis position in the mode it was
                   made in (depth sensor, known floor, or neither: :func:`position_errors`);
                   default NaN (not told).
    frame_ids:     [2, T] int64 each slot's tracker id in each frame (a slot can pass to another
                   person: the pair changed); default ``track_ids`` in every frame.
    """

    frames: np.ndarray
    stamps: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    transl: np.ndarray
    shape: np.ndarray
    joints: np.ndarray
    confidence: np.ndarray
    track_ids: np.ndarray
    K: np.ndarray
    fps: float
    body_model: str
    contacts: list[Contact] = field(default_factory=list)
    contact_evidence: np.ndarray | None = None
    joint_confidence: np.ndarray | None = None
    floor: np.ndarray | None = None
    position_error: np.ndarray | None = None
    frame_ids: np.ndarray | None = None

    def __post_init__(self):
        if self.contact_evidence is None:
            self.contact_evidence = np.zeros(len(self.frames), bool)
        if self.joint_confidence is None:
            self.joint_confidence = np.repeat(np.asarray(self.confidence, np.float32)[..., None], 24, -1)
        if self.position_error is None:
            self.position_error = np.full(np.shape(self.confidence), np.nan, np.float32)
        if self.frame_ids is None:
            self.frame_ids = np.repeat(np.asarray(self.track_ids, np.int64).reshape(2, 1), len(self.frames), 1)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    def params(self, device: str | torch.device = "cpu") -> BodyParams:
        """The body parameters as a :class:`BodyParams` [2, T] on ``device``."""
        t = lambda a: torch.as_tensor(np.nan_to_num(a), dtype=torch.float32, device=device)
        return BodyParams(t(self.global_orient), t(self.body_pose), t(self.transl), t(self.shape))

    def select(self, index: np.ndarray | slice) -> Reconstruction:
        """The frames picked by ``index`` (positions along T), with their contacts."""
        frames = self.frames[index]
        keep = set(frames.tolist())
        return Reconstruction(
            frames=frames, stamps=self.stamps[index], global_orient=self.global_orient[:, index],
            body_pose=self.body_pose[:, index], transl=self.transl[:, index], shape=self.shape,
            joints=self.joints[:, index], confidence=self.confidence[:, index], track_ids=self.track_ids,
            K=self.K, fps=self.fps, body_model=self.body_model,
            contacts=[c for c in self.contacts if c.frame in keep], contact_evidence=self.contact_evidence[index],
            joint_confidence=self.joint_confidence[:, index], floor=self.floor,
            position_error=self.position_error[:, index], frame_ids=self.frame_ids[:, index])

    def contacts_at(self, frame: int) -> list[Contact]:
        return [c for c in self.contacts if c.frame == frame]

    def save(self, out_dir: str | Path) -> Path:
        """Write ``results.npz`` (METRICS.md's contract) and ``results.json`` (summary +
        contacts) into ``out_dir``; returns the npz path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        c = self.contacts
        np.savez_compressed(
            out / "results.npz", frames=self.frames, stamps=self.stamps, joints=self.joints.astype(np.float32),
            track_ids=self.track_ids, confidence=self.confidence.astype(np.float32), K=self.K.astype(np.float64),
            fps=np.float64(self.fps), global_orient=self.global_orient, body_pose=self.body_pose,
            transl=self.transl, shape=self.shape, body_model=np.str_(self.body_model),
            contact_frames=np.array([x.frame for x in c], dtype=np.int64),
            contact_parts=np.array([[x.part_a, x.part_b] for x in c], dtype=np.str_).reshape(-1, 2),
            contact_points=np.array([x.point for x in c], dtype=np.float32).reshape(-1, 3),
            contact_distance=np.array([x.distance for x in c], dtype=np.float32),
            contact_confidence=np.array([x.confidence for x in c], dtype=np.float32),
            contact_evidence=self.contact_evidence.astype(bool),
            joint_confidence=self.joint_confidence.astype(np.float32),
            position_error=self.position_error.astype(np.float32), frame_ids=self.frame_ids.astype(np.int64),
            floor=np.full(4, np.nan) if self.floor is None else np.asarray(self.floor, np.float64))
        summary = {"frames": self.num_frames, "first_frame": int(self.frames[0]) if self.num_frames else None,
                   "fps": self.fps, "body_model": self.body_model, "track_ids": self.track_ids.tolist(),
                   "mean_confidence": self.confidence.mean(1).round(3).tolist(),
                   "contacts": [asdict(x) for x in c]}
        (out / "results.json").write_text(json.dumps(summary, indent=1) + "\n")
        return out / "results.npz"

    @classmethod
    def load(cls, path: str | Path) -> Reconstruction:
        """Read a ``results.npz`` written by :meth:`save`."""
        z = np.load(path)
        contacts = [Contact(int(f), str(p[0]), str(p[1]), pt.tolist(), float(d), float(s)) for f, p, pt, d, s in
                    zip(z["contact_frames"], z["contact_parts"], z["contact_points"], z["contact_distance"],
                        z["contact_confidence"])]
        return cls(frames=z["frames"], stamps=z["stamps"], global_orient=z["global_orient"],
                   body_pose=z["body_pose"], transl=z["transl"], shape=z["shape"], joints=z["joints"],
                   confidence=z["confidence"], track_ids=z["track_ids"], K=z["K"], fps=float(z["fps"]),
                   body_model=str(z["body_model"]), contacts=contacts,
                   contact_evidence=z["contact_evidence"] if "contact_evidence" in z.files else None,
                   joint_confidence=z["joint_confidence"] if "joint_confidence" in z.files else None,
                   floor=z["floor"] if "floor" in z.files and np.isfinite(z["floor"]).all() else None,
                   position_error=z["position_error"] if "position_error" in z.files else None,
                   frame_ids=z["frame_ids"] if "frame_ids" in z.files else None)


def position_errors(has_depth: np.ndarray, config) -> np.ndarray:
    """[2, T] m: each pelvis position's typical error (``fitting.position_error_*``): with a
    depth-sensor distance that frame (``has_depth`` [2, T] bool), else with the camera's pose
    over the floor known (``fitting.camera_height``), else from one camera alone."""
    other = config.position_error_floor if config.camera_height > 0 else config.position_error_monocular
    return np.where(has_depth, config.position_error_depth, other).astype(np.float32)


def unseen_factor(seen: np.ndarray, stamps: np.ndarray, max_unseen: float) -> np.ndarray:
    """[2, T] factor on each person's frame confidence: 1 where observed, falling linearly
    with the time (s) to the nearest observed frame, 0 beyond ``max_unseen`` s (not published).
    seen [2, T] bool, stamps [T] s."""
    out = np.zeros(seen.shape, dtype=np.float32)
    for p in range(seen.shape[0]):
        if seen[p].any():
            out[p] = gap_factor(np.abs(stamps[:, None] - stamps[seen[p]][None]).min(1), max_unseen)
    return out


def gap_factor(gap: np.ndarray, max_unseen: float) -> np.ndarray:
    """1 - gap / max_unseen, clipped to [0, 1], and 0 beyond ``max_unseen``: the share of a
    person's confidence left ``gap`` s (any shape) after they were last observed."""
    return np.where(gap > max_unseen, 0.0, np.clip(1.0 - gap / max(max_unseen, 1e-6), 0.0, 1.0))
