"""Training data of the prior: two-person clips, seen through random cameras, with simulated
detector observations and CloseApp's maskings.

A :class:`Clip` is a world-frame motion (y up) on the anny body. Clips come from the
synthetic world (``synthetic_clips``: keyframed interactions, ~1 s each, cached under
``<cache>/prior/``) or from real datasets the user owns (``load_hi4d``, ``load_chi3d``,
``load_interhuman`` -> :class:`Sequence` -> ``to_clip``). :class:`WindowSampler` cuts random
windows, puts a random camera around the pair and returns model inputs:
x [B, 2, T, D] (camera frame), cond [B, 2, T, 33, 3], rest joints [B, 2, 24, 3].
"""
from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import roma
import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.paths import code_stamp
from interaction_recon.prior.model import encode
from interaction_recon.synth import motions, specs
from interaction_recon.synth.camera import sample_camera
from interaction_recon.synth.groundtruth import camera_params

SHOULDERS = (11, 12)  # BlazePose-33 slots of the shoulders
NOT_COCO = [i for i, n in enumerate(skeleton.BLAZEPOSE33) if n not in skeleton.COCO17]


@dataclass
class Clip:
    """params [2, T] world frame (y up, floor y = 0), anny shapes; rest_joints [2, 24, 3] T-pose
    joints of those shapes; keypoints [2, T, 33, 3] world-frame BlazePose-33 points."""

    name: str
    params: BodyParams
    rest_joints: Tensor
    keypoints: Tensor

    @property
    def num_frames(self) -> int:
        return self.params.batch[1]


def make_clip(name: str, params: BodyParams, body: BodyModel) -> Clip:
    """Complete world-frame params [2, T] with the body's rest joints and keypoints."""
    with torch.no_grad():
        keypoints = body(params, collision=False).blazepose33
        rest = body.rest(params.shape).joints[:, 0]
    return Clip(name, params.map(lambda t: t.detach().float().cpu()), rest.cpu(), keypoints.cpu())


def synthetic_clips(body: BodyModel, seeds, cache: Path | None = None, kinds=specs.INTERACTIONS,
                    progress=None) -> list[Clip]:
    """Keyframed synthetic interactions, one per (kind, seed); cached per clip in ``cache``
    (a folder keyed by the synthetic world's code, so stale clips are never reused)."""
    folder = Path(cache) / f"synthetic-{code_stamp(Path(motions.__file__).parent)[:10]}" if cache else None
    clips = []
    for seed in seeds:
        for kind in kinds:
            path = folder / f"{kind}-{seed:05d}.pt" if folder else None
            if path is not None and path.exists():
                clips.append(Clip(**torch.load(path, weights_only=False)))
            else:
                rng = np.random.default_rng([seed, int(hashlib.md5(kind.encode()).hexdigest()[:8], 16)])
                clip = make_clip(f"{kind}-{seed:05d}", motions.build_keyframed(kind, rng, body).params, body)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    torch.save(clip.__dict__, path)
                clips.append(clip)
            if progress:
                progress(1)
    return clips


# ---------------------------------------------------------------- observations and masking
@dataclass
class Masking:
    """How observations are degraded (probabilities per window unless said otherwise)."""

    noise: tuple[float, float] = (0.003, 0.02)  # keypoint noise std range, fraction of box height
    joint_drop: tuple[float, float] = (0.0, 0.15)  # per-joint miss probability range
    occlusion_drop: float = 0.6  # a farther person's point inside the nearer one's box is missed
    frames: float = 0.3  # temporal infilling: a span (10-60 % of the window) plus scattered frames unseen
    person: float = 0.2  # reaction generation: one person entirely unseen
    nothing: float = 0.05  # nothing observed (unconditional)
    coco_only: float = 0.15  # only the COCO-17 slots observed (a COCO detector's keypoints)


def observe(points: np.ndarray, rng: np.random.Generator, masking: Masking) -> np.ndarray:
    """Camera-frame points [2, T, K, 3] -> condition [2, T, K, 3]: normalised image coordinates
    (x / z, y / z) with detector-like noise, and a confidence (0 = missing, position zeroed)."""
    P, T, K, _ = points.shape
    uv = points[..., :2] / np.clip(points[..., 2:], 0.1, None)
    height = np.ptp(uv[..., 1], axis=-1)[..., None, None]  # [2, T, 1, 1]
    noise = rng.uniform(*masking.noise) * height
    conf = rng.uniform(0.6, 1.0, (P, T, K))
    near = np.argmin(points[..., 2].mean(-1), axis=0)  # [T] nearer person per frame
    lo, hi = uv.min(2), uv.max(2)  # [2, T, 2]
    scale = np.ones((P, T, K, 1))
    for p in range(2):
        other = 1 - p
        inside = ((uv[p] > lo[other][:, None]) & (uv[p] < hi[other][:, None])).all(-1)  # [T, K]
        hidden = inside & (near == other)[:, None] & (points[p, ..., 2] > points[other, ..., 2].mean(-1)[:, None])
        conf[p][hidden] = rng.uniform(0.1, 0.5, hidden.sum())
        scale[p][hidden] = 3.0
        conf[p][hidden & (rng.random((T, K)) < masking.occlusion_drop)] = 0.0
    uv = uv + rng.normal(size=uv.shape) * noise * scale
    conf[rng.random((P, T, K)) < rng.uniform(*masking.joint_drop)] = 0.0
    if rng.random() < masking.frames:
        span = int(rng.uniform(0.1, 0.6) * T)
        start = int(rng.integers(0, T - span + 1))
        who = [0, 1] if rng.random() < 0.5 else [int(rng.integers(2))]
        for p in who:
            conf[p, start:start + span] = 0.0
            conf[p, rng.random(T) < 0.1] = 0.0
    if rng.random() < masking.person:
        conf[int(rng.integers(2))] = 0.0
    if rng.random() < masking.coco_only:
        conf[:, :, NOT_COCO] = 0.0
    if rng.random() < masking.nothing:
        conf[:] = 0.0
    uv = np.where(conf[..., None] > 0, uv, 0.0)
    return np.concatenate([uv, conf[..., None]], -1).astype(np.float32)


@dataclass
class WindowSampler:
    """Random training windows from ``clips``: random start, random camera (30 % of them
    moving), simulated observations. ``batch(B, T)`` -> dict of x, cond, rest."""

    clips: list[Clip]
    rng: np.random.Generator
    masking: Masking = field(default_factory=Masking)

    def sample(self, clip: Clip, T: int) -> dict:
        start = int(self.rng.integers(0, max(1, clip.num_frames - T + 1)))
        index = torch.clamp(torch.arange(start, start + T), max=clip.num_frames - 1)  # short clips hold the last frame
        p = clip.params
        world = BodyParams(p.global_orient[:, index], p.body_pose[:, index], p.transl[:, index], p.shape)
        kp = clip.keypoints[:, index].numpy()
        chest = kp[:, :, SHOULDERS].mean((0, 2))  # [T, 3]
        if self.rng.random() < 0.3:
            camera = sample_camera(self.rng, chest, moving=True)
        else:  # a static camera only needs the pose of one frame (sample_camera is per-frame Python)
            camera = sample_camera(self.rng, chest.mean(0, keepdims=True))
            camera.R, camera.t = camera.R.repeat(T, 0), camera.t.repeat(T, 0)
        cam = camera_params(world, camera, clip.rest_joints[:, 0].numpy())
        params = BodyParams(torch.as_tensor(cam["global_orient"]), world.body_pose,
                            torch.as_tensor(cam["transl"]), world.shape)
        cond = observe(camera.to_camera(kp), self.rng, self.masking)
        return {"x": encode(params), "cond": torch.as_tensor(cond), "rest": clip.rest_joints}

    def batch(self, size: int, T: int) -> dict:
        picks = self.rng.integers(0, len(self.clips), size)
        samples = [self.sample(self.clips[i], T) for i in picks]
        return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


# ---------------------------------------------------------------- real datasets
# Rest pelvis of the average SMPL / SMPL-X body (metres): where ``transl`` puts the pelvis.
SMPL_REST_PELVIS = np.array([-0.0022, -0.2408, 0.0286], np.float32)
SMPLX_REST_PELVIS = np.array([0.0031, -0.3514, 0.0120], np.float32)


@dataclass
class Sequence:
    """A two-person motion from a dataset, in the dataset's world frame (any up axis).

    global_orient [2, T, 3] and body_pose [2, T, 23, 3] axis-angle (SMPL convention; SMPL-X
    and SMPL-H bodies give 21 joints, the two hand joints are zero); pelvis [2, T, 3]
    metres; betas [2, S] as given (unused by the anny prior); fps.
    """

    name: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    pelvis: np.ndarray
    betas: np.ndarray
    fps: float


def _pose23(pose: np.ndarray) -> np.ndarray:
    """[..., 63 or 69] or [..., 21|23, 3] axis-angle -> [..., 23, 3] (missing hands zero)."""
    pose = pose.reshape(*pose.shape[:-1], -1, 3) if pose.shape[-1] in (63, 69) else pose
    if pose.shape[-2] == 21:
        pose = np.concatenate([pose, np.zeros((*pose.shape[:-2], 2, 3), pose.dtype)], -2)
    return pose.astype(np.float32)


def _rotvec(rotmats) -> np.ndarray:
    return roma.rotmat_to_rotvec(torch.as_tensor(np.asarray(rotmats, np.float32))).numpy()


def load_hi4d(root: Path) -> list[Sequence]:
    """Hi4D layout: ``<root>/<pair>/<action>/smpl/<frame>.npz``, one file per frame with
    ``global_orient [2, 3]``, ``body_pose [2, 69]``, ``transl [2, 3]``, ``betas [2, 10]`` and,
    where present, ``joints_3d [2, 24, 3]`` (its joint 0 is the pelvis). 30 fps."""
    seqs = []
    for folder in sorted(p for p in Path(root).glob("*/*/smpl") if p.is_dir()):
        frames = [np.load(f) for f in sorted(folder.glob("*.npz"))]
        if not frames:
            continue
        stack = lambda k: np.stack([f[k] for f in frames], 1).astype(np.float32)  # noqa: E731  [2, T, ...]
        pelvis = (stack("joints_3d")[:, :, 0] if "joints_3d" in frames[0]
                  else stack("transl") + SMPL_REST_PELVIS)
        seqs.append(Sequence(f"{folder.parent.parent.name}/{folder.parent.name}", stack("global_orient"),
                             _pose23(stack("body_pose")), pelvis, frames[0]["betas"].astype(np.float32), 30.0))
    return seqs


def load_chi3d(root: Path) -> list[Sequence]:
    """CHI3D layout: ``<root>/<subject>/smplx/<action>.json`` with ``transl [2, T, 3]``,
    ``global_orient [2, T, 1, 3, 3]`` and ``body_pose [2, T, 21, 3, 3]`` rotation matrices,
    ``betas [2, T, 10]`` (SMPL-X). 50 fps."""
    seqs = []
    for path in sorted(Path(root).glob("*/smplx/*.json")):
        d = json.loads(path.read_text())
        orient = _rotvec(d["global_orient"]).reshape(2, -1, 3)
        seqs.append(Sequence(f"{path.parent.parent.name}/{path.stem}", orient, _pose23(_rotvec(d["body_pose"])),
                             np.asarray(d["transl"], np.float32) + SMPLX_REST_PELVIS,
                             np.asarray(d["betas"], np.float32)[:, 0], 50.0))
    return seqs


def load_interhuman(root: Path) -> list[Sequence]:
    """InterHuman layout: ``<root>/motions/<id>.pkl``, a dict with ``person1`` and ``person2``,
    each ``trans [T, 3]``, ``root_orient [T, 3]``, ``pose_body [T, 63]`` (SMPL-H body),
    ``betas [10]``; ``mocap_framerate`` when given, else 30 fps."""
    seqs = []
    for path in sorted(Path(root).glob("motions/*.pkl")):
        with open(path, "rb") as f:
            d = pickle.load(f)
        people = [d["person1"], d["person2"]]
        T = min(len(p["trans"]) for p in people)
        get = lambda k: np.stack([np.asarray(p[k], np.float32)[:T] for p in people])  # noqa: E731
        seqs.append(Sequence(path.stem, get("root_orient"), _pose23(get("pose_body")),
                             get("trans") + SMPL_REST_PELVIS,
                             np.stack([np.asarray(p["betas"], np.float32).reshape(-1) for p in people]),
                             float(d.get("mocap_framerate", 30.0))))
    return seqs


LOADERS = {"hi4d": load_hi4d, "chi3d": load_chi3d, "interhuman": load_interhuman}


def _upright(orient: Tensor) -> Tensor:
    """The rotation that turns the mean body up direction (R_pelvis @ +y) of orientations
    [..., 3] into +y: datasets differ in their world's up axis; people mostly stand."""
    up = (roma.rotvec_to_rotmat(orient)[..., :, 1]).reshape(-1, 3).mean(0)
    return roma.rotvec_to_rotmat(_align(up / up.norm(), torch.tensor([0.0, 1.0, 0.0])))


def _align(a: Tensor, b: Tensor) -> Tensor:
    """Axis-angle of the smallest rotation taking unit vector a to b."""
    axis = torch.linalg.cross(a, b)
    s, c = axis.norm(), (a * b).sum()
    if s < 1e-8:
        return torch.zeros(3) if c > 0 else torch.tensor([torch.pi, 0.0, 0.0])
    return axis / s * torch.atan2(s, c)


def to_clip(seq: Sequence, body: BodyModel, fps: float = specs.FPS) -> Clip:
    """A dataset sequence on the anny body: resampled to ``fps``, turned y-up, anny's average
    shape (SMPL betas do not carry over), the pelvis path kept, the lowest point of the clip
    on the floor."""
    index = np.round(np.arange(0, seq.global_orient.shape[1] - 0.5, seq.fps / fps)).astype(int)
    orient, pose, pelvis = (torch.as_tensor(a[:, index]) for a in (seq.global_orient, seq.body_pose, seq.pelvis))
    R = _upright(orient)
    orient = roma.rotmat_to_rotvec(R @ roma.rotvec_to_rotmat(orient))
    pelvis = pelvis @ R.T
    shape = body.default_shape(2).cpu()
    with torch.no_grad():
        rest_pelvis = body.rest(shape).joints[:, 0, 0].cpu()
    params = BodyParams(orient, pose, pelvis - rest_pelvis[:, None], shape)
    with torch.no_grad():
        low = body(params).collision_vertices[..., 1].amin()
    params.transl[..., 1] -= low
    return make_clip(seq.name, params, body)
