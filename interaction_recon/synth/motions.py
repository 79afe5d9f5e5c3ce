"""Procedural two-person close-interaction motions with planned contacts.

A motion is built in four steps: (1) root paths, torso/leg keyframes and a procedural gait
per person (:mod:`.gait`); (2) root positions re-solved so the stance foot stays planted;
(3) arms aimed by two-bone IK at targets on the other person, blended in and out by a
smoothstep envelope (:mod:`.reach`); (4) a short Adam refinement on the body model and
collider that closes the planned contacts and removes interpenetration (:mod:`.refine`).
Every frame, each person's lowest collision vertex is put on the floor (y = 0). What each
interaction does is the table in :mod:`.specs`.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import roma
import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.synth.gait import foot_locked_roots, gait, root_paths
from interaction_recon.synth.poses import (
    J,
    arms_down,
    clamp_to_limits,
    compose,
    dict_pose,
    mirror,
    mirror_part,
    on_floor,
    ramp,
    rotate_world,
    rotx,
    slerp,
    smoothstep,
)
from interaction_recon.synth.reach import place_arms
from interaction_recon.synth.refine import refine
from interaction_recon.synth.specs import (
    CROUCH,
    FPS,
    INTERACTIONS,
    SIT,
    SPECS,
    Motion,
    Spec,
)

_LOWER_PARTS = [skeleton.COARSE_PARTS.index(f"{s} {p}") for s in ("left", "right") for p in ("thigh", "knee", "leg", "foot")]


def _sample_shapes(rng: np.random.Generator, child: int | None) -> Tensor:
    """[2, 6] anny phenotypes of two adults, or of an adult and a child (person ``child``)."""
    adult = lambda: [rng.uniform(0, 1), rng.uniform(0.4, 0.8), rng.uniform(0.3, 0.7),
                     rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.75), rng.uniform(0.4, 0.6)]
    shapes = [adult(), adult()]
    if child is not None:  # about 1.0-1.2 m tall
        shapes[child] = [rng.uniform(0, 1), rng.uniform(0.18, 0.25), 0.5,
                                        rng.uniform(0.4, 0.6), rng.uniform(0.3, 0.5), 0.5]
    return torch.tensor(shapes, dtype=torch.float32)


def _timeline(spec: Spec, rng: np.random.Generator, speed: float, walk: float) -> dict:
    """Frame indices of the phases; the total is stretched (idle) into 128-300 frames."""
    v = rng.uniform(1.0, 1.3) / speed
    idle0 = int(rng.integers(4, 16))
    walk_f = math.ceil(walk / v * FPS * 1.4) + 10
    reach = int(24 * speed)
    contact = max(idle0 + walk_f + reach - 6, reach + 4)  # arms reach out as the walk ends
    hold = max(6, int(spec.hold * speed * rng.uniform(0.85, 1.15)))
    release = int(30 * speed)
    retreat = int(spec.retreat[1] / 0.8 * FPS * 1.4) + 10 if spec.retreat else 0
    end = contact + hold + release + retreat + int(rng.integers(8, 20))
    pad = max(0, 128 - end)
    idle0, contact = idle0 + pad // 2, contact + pad // 2
    T = min(300, end + pad)
    return {"T": T, "walk0": idle0, "walk1": idle0 + walk_f, "reach": contact - reach, "contact": contact,
            "release": contact + hold, "released": contact + hold + release, "end": T}


def _layout(spec: Spec, gap: float, start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact positions [2, 2] (x, z), start positions [2, 2] and yaws [2]."""
    if spec.layout == "face":
        meet, yaw = np.array([[0.0, 0.0], [0.0, gap]]), np.array([0.0, math.pi])
        share = np.array([0.5, 0.5]) if len(spec.walkers) == 2 else np.eye(2)[spec.walkers[0]]
        first = meet + np.array([[0.0, -1.0], [0.0, 1.0]]) * share[:, None] * (start - gap)
    elif spec.layout == "side":
        meet, yaw = np.array([[0.0, 0.0], [-gap, 0.0]]), np.array([0.0, 0.0])
        first = meet.copy()
        first[spec.walkers[-1], 1] -= start
    else:  # behind
        meet, yaw = np.array([[0.0, 0.0], [0.0, gap]]), np.array([0.0, 0.0])
        first = meet.copy()
        first[0, 1] -= start - gap
    return meet, first, yaw

# ---------------------------------------------------------------- generation
def _modulation(spec: Spec, tl: dict, speed: float):
    """Per-person target offset [T, 3] during contact (pump / rub), else zero."""
    T = tl["T"]
    t = (torch.arange(T, dtype=torch.float32) - tl["contact"]) / FPS
    hold = ramp(T, tl["contact"], tl["contact"] + 6, tl["release"] - 6, tl["release"])
    amp, hz = {"pump": (0.025, 1.2), "rub": (0.02, 1.0)}.get(spec.during, (0.0, 1.0))
    dy = amp * hold * torch.sin(2 * math.pi * hz / speed * t)

    def offset(p: int) -> Tensor:
        out = torch.zeros(T, 3)
        if spec.during == "pump" or p == 0:
            out[:, 1] = dy
        return out
    return offset


def _torso(spec: Spec, tl: dict, p: int, envelope: Tensor, rng, speed: float) -> Tensor:
    """[T, 23, 3] torso/legs: neutral -> contact keyframe (slerp) plus sway / stand-up."""
    T = tl["T"]
    target = roma.rotvec_to_rotmat(dict_pose(spec.torso[p], T))
    pose = roma.rotmat_to_rotvec(slerp(torch.eye(3).expand(T, 23, 3, 3), target, envelope[:, None].expand(T, 23)))
    if spec.during == "sway":
        t = (torch.arange(T, dtype=torch.float32) - tl["contact"]) / FPS
        a = 0.07 * envelope * torch.sin(2 * math.pi * 0.5 / speed * t) * (1 if p == 0 else -1)
        for j in ("spine1", "spine2", "spine3"):
            pose[:, J[j] - 1, 2] += a
            pose[:, J[j] - 1, 1] += 0.5 * a
    if spec.during == "stand_up" and p == 1:
        rise0, rise1 = tl["contact"] + 0.25 * (tl["release"] - tl["contact"]), tl["release"] - 8
        k = (torch.arange(T, dtype=torch.float32) - rise0) / (rise1 - rise0)
        sit, crouch = (roma.rotvec_to_rotmat(dict_pose(d, T)) for d in (SIT, CROUCH))
        a = smoothstep(2 * k)[:, None].expand(T, 23)
        b = smoothstep(2 * k - 1)[:, None].expand(T, 23)
        pose = roma.rotmat_to_rotvec(slerp(slerp(sit, crouch, a), roma.rotvec_to_rotmat(pose), b))
    noise = torch.tensor(rng.normal(0, 0.03, (23, 3)), dtype=torch.float32)
    for j in ("left_collar", "right_collar", "left_hand", "right_hand", "left_foot", "right_foot"):
        noise[J[j] - 1] = 0
    return pose + noise


def _stoop(excess: float, height: float, envelope: Tensor) -> Tensor:
    """[T, 23, 3] forward lean and knee bend of the taller person by ``excess`` metres."""
    lean = min(0.5, 1.2 * max(excess, 0.0) / height) * envelope
    k = 0.8 * min(0.6, max(excess, 0.0)) * envelope
    pose = torch.zeros(len(envelope), 23, 3)
    for j in ("spine1", "spine2", "spine3"):
        pose[:, J[j] - 1] = rotx(lean / 3)
    for side in ("left", "right"):
        pose[:, J[f"{side}_hip"] - 1] = rotx(-k)
        pose[:, J[f"{side}_knee"] - 1] = rotx(2 * k)
        pose[:, J[f"{side}_ankle"] - 1] = rotx(-k)
    return pose


def build_keyframed(kind: str, rng: np.random.Generator, body) -> Motion:
    """The keyframed motion (before refinement), mirrored when left-handed."""
    spec = SPECS[kind]
    speed = float(rng.uniform(0.8, 1.25))
    gap = float(rng.uniform(*spec.gap))
    start = float(rng.uniform(1.5, 3.0))
    child = spec.child[int(rng.integers(len(spec.child)))] if spec.child and rng.random() < 0.4 else None
    if child in spec.as_child:
        targets, contacts = spec.as_child[child]
        spec = replace(spec, targets=tuple(targets if p == child else spec.targets[p] for p in range(2)),
                       contacts=contacts)
    left = bool(rng.random() < 0.5)
    world_yaw = float(rng.uniform(-math.pi, math.pi))
    shape = _sample_shapes(rng, child)
    params = body.neutral_params(2, 1)
    params.shape = shape
    with torch.no_grad():
        rest = body(params)
    if spec.layout == "side":  # side by side (person 1 on person 0's right): legs 3 cm apart at least
        lower = torch.isin(body.collision_coarse_parts, torch.tensor(_LOWER_PARTS))
        x = rest.collision_vertices[:, 0, lower, 0] - rest.joints[:, 0, :1, 0]
        gap = max(gap, float(x[1].max() - x[0].min()) + 0.03)
    meet, first, yaw = _layout(spec, gap, start)
    walk = float(np.abs(first - meet).sum(-1).max())
    tl = _timeline(spec, rng, speed, walk)
    T = tl["T"]
    desired, anchors = root_paths(spec, tl, meet, first, yaw, rng)
    env = torch.stack([ramp(T, tl["reach"] + int(rng.integers(-4, 5)), tl["contact"] - 4, tl["release"] + 4, tl["released"])
                       for _ in range(2)])
    params = body.neutral_params(2, T)
    params.shape = shape
    height = rest.collision_vertices[:, 0, :, 1].amax(-1) - rest.collision_vertices[:, 0, :, 1].amin(-1)
    pose = torch.zeros(2, T, 23, 3)
    for p in range(2):
        walking = gait(desired[p], float(yaw[p]), float(height[p]))
        torso = _torso(spec, tl, p, env[p], rng, speed)
        torso = compose(torso, _stoop(float(height[p] - height[1 - p]), float(height[p]), env[p]))
        pose[p] = compose(compose(torso, walking), arms_down(T))  # shoulders: swing after lowering
    params.global_orient = torch.zeros(2, T, 3)
    params.global_orient[..., 1] = torch.tensor(yaw, dtype=torch.float32)[:, None]
    params.body_pose = clamp_to_limits(pose)
    xz = foot_locked_roots(body, params, desired, anchors)
    params.transl = torch.stack([xz[..., 0], torch.zeros(2, T), xz[..., 1]], -1)
    opening = 1 - ramp(T, tl["contact"] - 12, tl["contact"] - 4, tl["release"] + 4, tl["release"] + 12)
    params = place_arms(body, params, spec, env, _modulation(spec, tl, speed), opening)
    params = rotate_world(params, world_yaw)
    plan = [(tl["contact"], tl["release"], a, b) for a, b in spec.contacts]
    child = child is not None
    if left:
        params = mirror(params)
        plan = [(f0, f1, mirror_part(a), mirror_part(b)) for f0, f1, a, b in plan]
    variation = {"speed": speed, "gap": gap, "start_distance": float(np.linalg.norm(first[0] - first[1])),
                 "child": child, "left_handed": left, "world_yaw": world_yaw, "num_frames": T,
                 "shape": shape.tolist(), "timeline": {k: int(v) for k, v in tl.items()}}
    return Motion(kind, on_floor(body, params), plan, FPS, variation)

def generate_motion(kind: str, rng: np.random.Generator, body, collider, refine_steps: int = 60) -> Motion:
    """A refined two-person ``kind`` interaction (see INTERACTIONS) sampled from ``rng``."""
    if kind not in SPECS:
        raise KeyError(f"unknown interaction {kind!r}; known: {INTERACTIONS}")
    motion = build_keyframed(kind, rng, body)
    return refine(motion, body, collider, steps=refine_steps)
