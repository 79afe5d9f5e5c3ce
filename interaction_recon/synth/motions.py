"""Procedural two-person close-interaction motions with planned contacts.

A motion is built in four steps: (1) root paths, torso/leg keyframes and a procedural gait
per person; (2) root positions re-solved so the stance foot stays planted; (3) arms aimed by
two-bone IK at targets on the other person, blended in and out by a smoothstep envelope
(slerp between the resting and the reaching arm); (4) a short Adam refinement on the body
model and collider that closes the planned contacts and removes interpenetration, then
polish passes on the frames that still miss a margin, each kept only if it lowers the worst
violation. Every frame, each person's lowest collision vertex is put on the floor (y = 0).

Interaction frame (before the random world yaw): person 0 stands at the origin facing +z
(left side at +x) at contact time; person 1 faces them ("face"), stands at their right
("side") or in front facing away ("behind"). Offsets in the tables are (left, up, forward)
metres in the frame of the person they refer to. Tables describe right-handed versions;
handedness mirrors the finished motion through the x = 0 plane.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import roma
import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams

FPS = 30.0
STRIDE = 0.69  # m per step of a 1.7 m person at full swing (hip +-0.4 rad), as the gait measures
_J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}

INTERACTIONS = (
    "handshake", "hug", "side_hug", "hug_from_behind", "high_five", "pat_on_back", "whisper",
    "push", "punch_block", "dance_holding_hands", "help_stand_up", "arm_in_arm_walk",
)

_LIMITS = torch.tensor(skeleton.BODY_POSE_LIMITS)  # [23]
_LOWER_PARTS = [skeleton.COARSE_PARTS.index(f"{s} {p}") for s in ("left", "right") for p in ("thigh", "knee", "leg", "foot")]


@dataclass
class Motion:
    """One generated interaction: parameters [2, T] in the world frame (y up, floor y = 0)."""

    kind: str
    params: BodyParams
    contact_plan: list[tuple[int, int, str, str]]
    fps: float = FPS
    variation: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Spec:
    """Table row of one interaction (right-handed, interaction frame).

    targets: per person, {"left"/"right": (who, joints, offset, pole)}: the wrist goes to the
      mean of ``joints`` of ``who`` ("self", "other"; "mid" = self's joints[0] and other's
      joints[1]) plus ``offset`` in that person's frame (mid: self's frame); ``pole`` (self
      frame) is where the elbow points.
    torso: per person, {joint: rotvec} reached at contact.
    during: contact-phase modulation: "hold", "pump", "rub", "sway", "walk", "stand_up".
    retreat: (person, metres) stepped backwards after release.
    child: the people who may be drawn as a child (where the contacts stay reachable).
    as_child: {person: (targets, contacts)} replacing that person's targets and the contacts
      when they are drawn as a child (a child hugs an adult around the waist, not the back).
    """

    layout: str
    gap: tuple[float, float]
    hold: int
    contacts: tuple[tuple[str, str], ...]
    targets: tuple[dict, dict]
    torso: tuple[dict, dict] = ({}, {})
    walkers: tuple[int, ...] = (0, 1)
    during: str = "hold"
    retreat: tuple[int, float] | None = None
    child: tuple[int, ...] = ()
    as_child: dict = field(default_factory=dict)


_STRADDLE = {"left_hip": (0, 0, 0.17), "right_hip": (0, 0, -0.17)}  # feet wide, around the other's
_OUT_R, _OUT_L = (-1.0, -0.6, -0.2), (1.0, -0.6, -0.2)  # elbows out and down
_LEAN = lambda a: {"spine1": (a / 3, 0, 0), "spine2": (a / 3, 0, 0), "spine3": (a / 3, 0, 0)}

SPECS = {
    "handshake": _Spec("face", (0.62, 0.75), 60, (("right hand", "right hand"),),
                       ({"right": ("mid", ("right_shoulder", "right_shoulder"), (0.0, -0.32, -0.03), _OUT_R)},) * 2,
                       (_LEAN(0.1),) * 2, during="pump", child=(0, 1)),
    "hug": _Spec("face", (0.3, 0.36), 75, (("right hand", "back"), ("back", "right hand")),
                 ({"right": ("other", ("spine3",), (0.15, 0.05, -0.06), (-1.0, 0.0, -0.3)),
                   "left": ("other", ("spine3",), (-0.15, 0.05, -0.06), (1.0, 0.0, -0.3))},
                  {"right": ("other", ("spine1",), (0.14, 0.0, -0.06), (-1.0, -0.3, -0.3)),
                   "left": ("other", ("spine1",), (-0.14, 0.0, -0.06), (1.0, -0.3, -0.3))}),
                 ({**_LEAN(0.12), "neck": (0, -0.4, 0.2)}, {**_LEAN(0.12), "neck": (0, -0.4, 0.2), **_STRADDLE}),
                 retreat=(1, 0.4), child=(1,),
                 as_child={1: ({"right": ("other", ("pelvis",), (0.17, 0.06, 0.0), (-1.0, -0.3, 0.0)),
                                "left": ("other", ("pelvis",), (-0.17, 0.06, 0.0), (1.0, -0.3, 0.0))},
                               (("right hand", "back"), ("waist", "right hand")))}),
    "side_hug": _Spec("side", (0.4, 0.46), 60, (("right hand", "right shoulder"), ("back", "left hand")),
                      ({"right": ("other", ("right_shoulder",), (0.0, 0.08, -0.03), (0.0, 0.3, -1.0))},
                       {"left": ("other", ("spine1",), (-0.04, 0.0, -0.16), (1.0, -0.5, -1.0))}),
                      ({"spine3": (0, 0, 0.1), "neck": (0, -0.2, 0.1)}, {"spine3": (0, 0, -0.1)}),
                      walkers=(1,), child=(1,)),
    "hug_from_behind": _Spec("behind", (0.27, 0.32), 70, (("right hand", "stomach"), ("left hand", "stomach")),
                             ({"right": ("other", ("spine1",), (-0.05, 0.0, 0.19), _OUT_R),
                               "left": ("other", ("spine1",), (0.05, 0.0, 0.19), _OUT_L)},
                              {"right": ("self", ("spine3",), (-0.07, 0.0, 0.22), _OUT_R),
                               "left": ("self", ("spine3",), (0.07, 0.0, 0.22), _OUT_L)}),
                             ({"spine3": (0.05, 0, 0), "neck": (0, -0.3, -0.35), **_STRADDLE}, {}), walkers=(0,),
                             retreat=(0, 0.4)),
    "high_five": _Spec("face", (0.6, 0.75), 8, (("right hand", "right hand"),),
                       ({"right": ("mid", ("right_shoulder", "right_shoulder"), (0.0, 0.3, -0.08), (-1.0, -1.0, 0.0))},) * 2, child=(0, 1)),
    "pat_on_back": _Spec("side", (0.42, 0.5), 45, (("right hand", "back"),),
                         ({"right": ("other", ("spine3",), (0.06, 0.0, -0.12), (-0.3, -0.2, -1.0))}, {}),
                         ({"spine3": (0, 0, 0.08)}, {"neck": (0, 0.4, 0)}), walkers=(1,), during="rub", child=(1,)),
    "whisper": _Spec("side", (0.42, 0.5), 60, (("right hand", "left shoulder"),),
                     ({"right": ("other", ("left_shoulder",), (0.0, 0.08, 0.0), (-0.3, -1.0, -0.5)),
                       "left": ("self", ("head",), (-0.07, -0.08, 0.13), _OUT_L)}, {}),
                     ({"spine2": (0, 0, 0.12), "spine3": (0, 0, 0.12), "neck": (0, -0.5, 0.2)}, {"neck": (0, 0.3, 0)}),
                     walkers=(0,), child=(1,)),
    "push": _Spec("face", (0.55, 0.62), 10, (("right hand", "chest"), ("left hand", "chest")),
                  ({"right": ("other", ("spine3",), (0.1, 0.02, 0.24), _OUT_R),
                    "left": ("other", ("spine3",), (-0.1, 0.02, 0.24), _OUT_L)}, {}),
                  (_LEAN(0.2), _LEAN(-0.15)), walkers=(0,), retreat=(1, 0.5)),
    "punch_block": _Spec("face", (0.68, 0.78), 10, (("right hand", "left forearm"),),
                         ({"right": ("other", ("left_elbow", "left_wrist"), (0.0, 0.0, 0.14), _OUT_R),
                           "left": ("self", ("head",), (0.08, -0.16, 0.2), _OUT_L)},
                          {"left": ("self", ("head",), (-0.04, 0.0, 0.24), (1.0, -0.6, 0.0)),
                           "right": ("self", ("head",), (-0.1, -0.16, 0.2), _OUT_R)}),
                         (_LEAN(0.12), _LEAN(-0.05)), walkers=(0,), retreat=(0, 0.3)),
    "dance_holding_hands": _Spec("face", (0.55, 0.68), 90, (("right hand", "left hand"), ("left hand", "right hand")),
                                 ({"right": ("mid", ("right_shoulder", "left_shoulder"), (0.0, -0.35, -0.03), _OUT_R),
                                   "left": ("mid", ("left_shoulder", "right_shoulder"), (0.0, -0.35, -0.03), _OUT_L)},) * 2,
                                 during="sway", child=(0, 1)),
    "help_stand_up": _Spec("face", (0.95, 1.05), 75, (("right hand", "right hand"),),
                           ({"right": ("mid", ("right_shoulder", "right_shoulder"), (0.0, -0.12, -0.03), _OUT_R)},) * 2,
                           (_LEAN(0.35), {}), walkers=(0,), during="stand_up", child=(1,)),
    "arm_in_arm_walk": _Spec("side", (0.4, 0.46), 90, (("right hand", "left forearm"),),
                             ({"right": ("other", ("left_elbow", "left_wrist"), (0.0, 0.08, 0.0), (-1.0, -0.5, -0.4))},
                              {"left": ("self", ("spine1",), (0.19, 0.06, 0.3), (0.4, -1.0, -0.4))}),
                             walkers=(0, 1), during="walk"),
}

# Seated person of help_stand_up: sitting on the floor, knees up -> crouch -> standing.
_SIT = {"left_hip": (-1.45, 0, 0), "right_hip": (-1.45, 0, 0), "left_knee": (1.5, 0, 0),
        "right_knee": (1.5, 0, 0), **_LEAN(0.3)}
_CROUCH = {"left_hip": (-1.7, 0, 0), "right_hip": (-1.7, 0, 0), "left_knee": (2.2, 0, 0),
           "right_knee": (2.2, 0, 0), **_LEAN(0.5)}


# ---------------------------------------------------------------- rotation helpers
def _rotx(a: Tensor) -> Tensor:
    """Axis-angle [..., 3] of a rotation by a [...] about x."""
    return torch.stack([a, torch.zeros_like(a), torch.zeros_like(a)], -1)


def _slerp(r0: Tensor, r1: Tensor, w: Tensor) -> Tensor:
    """Rotmat slerp [..., 3, 3] with per-element weights w [...]."""
    rel = roma.rotmat_to_rotvec(r0.transpose(-1, -2) @ r1)
    return r0 @ roma.rotvec_to_rotmat(rel * w[..., None])


def _smoothstep(x: Tensor) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3 - 2 * x)


def _ramp(T: int, up0: float, up1: float, down0: float, down1: float) -> Tensor:
    """[T] envelope: 0 -> 1 (smoothstep) over [up0, up1], 1 -> 0 over [down0, down1]."""
    t = torch.arange(T, dtype=torch.float32)
    up = _smoothstep((t - up0) / max(up1 - up0, 1.0))
    return up * (1 - _smoothstep((t - down0) / max(down1 - down0, 1.0)))


def clamp_to_limits(body_pose: Tensor) -> Tensor:
    """Shrink each joint's axis-angle [..., 23, 3] to at most its skeleton.JOINT_LIMITS angle."""
    angle = body_pose.norm(dim=-1, keepdim=True)
    scale = (_LIMITS[:, None] / angle.clamp_min(1e-9)).clamp(max=1.0)
    return body_pose * scale


def _dict_pose(d: dict, T: int) -> Tensor:
    """{joint: rotvec} -> [T, 23, 3]."""
    out = torch.zeros(T, 23, 3)
    for name, v in d.items():
        out[:, _J[name] - 1] = torch.tensor(v, dtype=torch.float32)
    return out


# ---------------------------------------------------------------- sampling
def _sample_shapes(rng: np.random.Generator, child: int | None) -> Tensor:
    """[2, 6] anny phenotypes of two adults, or of an adult and a child (person ``child``)."""
    adult = lambda: [rng.uniform(0, 1), rng.uniform(0.4, 0.8), rng.uniform(0.3, 0.7),
                     rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.75), rng.uniform(0.4, 0.6)]
    shapes = [adult(), adult()]
    if child is not None:  # about 1.0-1.2 m tall
        shapes[child] = [rng.uniform(0, 1), rng.uniform(0.18, 0.25), 0.5,
                                        rng.uniform(0.4, 0.6), rng.uniform(0.3, 0.5), 0.5]
    return torch.tensor(shapes, dtype=torch.float32)


def _timeline(spec: _Spec, rng: np.random.Generator, speed: float, walk: float) -> dict:
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


def _layout(spec: _Spec, gap: float, start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


# ---------------------------------------------------------------- root paths and gait
def _root_paths(spec, tl, meet, first, yaw, rng) -> tuple[Tensor, list[list[int]]]:
    """[2, T, 2] desired xz per frame, and each person's anchor frames for the foot solve."""
    T = tl["T"]
    keys = [[(0, first[p]), (tl["walk0"], first[p]), (tl["walk1"], meet[p])] for p in range(2)]
    fwd = np.stack([np.sin(yaw), np.cos(yaw)], -1)
    if spec.during == "walk":
        dist = rng.uniform(1.2, 2.0)
        for p in range(2):
            keys[p] += [(tl["contact"] + 4, meet[p]), (tl["release"] - 4, meet[p] + dist * fwd[p])]
    if spec.retreat:
        p, d = spec.retreat
        last = keys[p][-1][1]
        keys[p] += [(tl["release"] + 4, last), (tl["released"] + 20, last - d * fwd[p])]
    t = torch.arange(T, dtype=torch.float32)
    out = torch.zeros(2, T, 2)
    for p in range(2):
        frames = [k[0] for k in keys[p]]
        pos = torch.tensor(np.stack([k[1] for k in keys[p]]), dtype=torch.float32)
        out[p] = pos[-1]
        for i in range(len(frames) - 1, 0, -1):
            w = _smoothstep((t - frames[i - 1]) / max(frames[i] - frames[i - 1], 1))[:, None]
            seg = pos[i - 1] + (pos[i] - pos[i - 1]) * w
            out[p, t <= frames[i]] = seg[t <= frames[i]]
    anchors = [[k[0] for k in keys[p]] if (p in spec.walkers or spec.during == "walk" or
               (spec.retreat and spec.retreat[0] == p)) else [0] for p in range(2)]
    return out, anchors


def _gait(path: Tensor, yaw: float, height: float) -> Tensor:
    """Procedural walk [T, 23, 3]: hip/knee swing, flat feet, counter-swinging arms.
    path [T, 2] xz; the phase advances with the distance walked along the facing."""
    fwd = torch.tensor([math.sin(yaw), math.cos(yaw)])
    step = torch.cat([torch.zeros(1), ((path[1:] - path[:-1]) @ fwd)])
    amp = (step.abs() * FPS / 0.8).clamp(max=1.0)
    amp = torch.nn.functional.avg_pool1d(amp[None, None], 9, 1, 4, count_include_pad=False)[0, 0]
    # a step covers STRIDE * height / 1.7 m at full swing and proportionally less at a smaller
    # one (slower walking: shorter and more frequent steps), so the planted feet carry the body
    # along the path instead of lagging or leading it
    phase = math.pi * (step / amp.clamp(min=0.25)).cumsum(0) / (STRIDE * height / 1.7)
    s, c = torch.sin(phase), torch.cos(phase)
    pose = torch.zeros(len(path), 23, 3)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hip = -0.4 * amp * sign * s
        knee = 0.9 * amp * (sign * c).clamp(min=0) ** 1.5 + 0.05 * amp
        pose[:, _J[f"{side}_hip"] - 1] = _rotx(hip)
        pose[:, _J[f"{side}_knee"] - 1] = _rotx(knee)
        toe_off = 0.35 * amp * (-sign * s).clamp(min=0) ** 2  # the rear foot rolls onto its toes
        pose[:, _J[f"{side}_ankle"] - 1] = _rotx(-(hip + knee) + toe_off)
        pose[:, _J[f"{side}_shoulder"] - 1] = _rotx(0.35 * amp * sign * s)  # composed with arms down later
    return pose


def _arms_down(T: int) -> Tensor:
    """[T, 23, 3] resting arms: shoulders lowered, elbows slightly bent."""
    return _dict_pose({"left_shoulder": (0, 0, -1.3), "right_shoulder": (0, 0, 1.3),
                       "left_elbow": (0, -0.25, 0), "right_elbow": (0, 0.25, 0)}, T)


def _compose(a: Tensor, b: Tensor) -> Tensor:
    """Axis-angle of R(a) R(b), both [..., 3]."""
    return roma.rotmat_to_rotvec(roma.rotvec_to_rotmat(a) @ roma.rotvec_to_rotmat(b))


def _foot_locked_roots(body, params: BodyParams, desired: Tensor, anchors) -> Tensor:
    """[2, T, 2] xz roots that keep the lower foot planted, bent to meet ``desired`` at anchors."""
    foot = [torch.isin(body.collision_coarse_parts, torch.tensor([skeleton.COARSE_PARTS.index(f"{s} foot")]))
            for s in ("left", "right")]
    probe = replace(params, transl=torch.zeros_like(params.transl))
    with torch.no_grad():
        v = body(probe).collision_vertices  # [2, T, Vc, 3]
    feet = torch.stack([v[:, :, m] for m in foot], 2)  # [2, T, 2, Vf, 3]
    stance = feet[..., 1].amin(-1).argmin(-1)  # [2, T]
    centre = feet[..., [0, 2]].mean(-2)  # [2, T, 2, 2]
    idx = stance[..., None, None].expand(-1, -1, 1, 2)
    now = centre.gather(2, idx)[:, :, 0]
    before = centre[:, :-1].gather(2, idx[:, 1:])[:, :, 0]
    step = torch.cat([torch.zeros(2, 1, 2), -(now[:, 1:] - before)], 1)
    roots = step.cumsum(1)
    t = torch.arange(params.batch[1], dtype=torch.float32)
    for p in range(2):
        frames = sorted(set(anchors[p]))
        resid = desired[p, frames] - roots[p, frames]
        corr = resid[0].expand(len(t), 2).clone()
        for i in range(1, len(frames)):
            w = _smoothstep((t - frames[i - 1]) / max(frames[i] - frames[i - 1], 1))[:, None]
            seg = resid[i - 1] + (resid[i] - resid[i - 1]) * w
            corr[t > frames[i - 1]] = seg[t > frames[i - 1]]
        roots[p] += corr
    return roots


# ---------------------------------------------------------------- arms
def _frame_axes(R: Tensor) -> Tensor:
    """Yaw-only body frame [T, 3, 3] (columns left, up, forward) from pelvis rotations."""
    f = R[..., :, 2].clone()
    f[..., 1] = 0
    f = f / f.norm(dim=-1, keepdim=True)
    up = torch.zeros_like(f)
    up[..., 1] = 1
    return torch.stack([torch.linalg.cross(up, f), up, f], -1)


def _target(out, p: int, spec_target) -> tuple[Tensor, Tensor]:
    """World wrist target [T, 3] and pole direction [T, 3] of person p."""
    who, joints, offset, pole = spec_target
    frames = _frame_axes(out.rotations[:, :, 0])  # [2, T, 3, 3]
    off, pole = torch.tensor(offset), torch.tensor(pole)
    if who == "mid":
        base = 0.5 * (out.joints[p, :, _J[joints[0]]] + out.joints[1 - p, :, _J[joints[1]]])
        ref = p
    else:
        ref = p if who == "self" else 1 - p
        base = torch.stack([out.joints[ref, :, _J[j]] for j in joints]).mean(0)
    return base + frames[ref] @ off, frames[p] @ pole


def _two_bone(out, p: int, side: str, target: Tensor, pole: Tensor) -> tuple[Tensor, Tensor]:
    """Local shoulder and elbow rotations [T, 3, 3] putting the wrist at target [T, 3]."""
    J = out.joints[p]
    S, E0, W0 = J[:, _J[f"{side}_shoulder"]], J[:, _J[f"{side}_elbow"]], J[:, _J[f"{side}_wrist"]]
    l1, l2 = (E0 - S).norm(dim=-1, keepdim=True), (W0 - E0).norm(dim=-1, keepdim=True)
    d = target - S
    dist = torch.minimum(d.norm(dim=-1, keepdim=True).clamp_min(0.05), 0.999 * (l1 + l2))
    dn = d / d.norm(dim=-1, keepdim=True)
    b = pole - (pole * dn).sum(-1, keepdim=True) * dn
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    cos_a = ((l1 ** 2 + dist ** 2 - l2 ** 2) / (2 * l1 * dist)).clamp(-1, 1)
    u = cos_a * dn + torch.sqrt(1 - cos_a ** 2) * b  # upper-arm direction
    wrist = S + dist * dn
    f = wrist - (S + l1 * u)
    f = f / f.norm(dim=-1, keepdim=True)
    bend = torch.arccos((u * f).sum(-1).clamp(-1, 1))  # [T]
    w = f - (f * u).sum(-1, keepdim=True) * u
    w = torch.where(bend[:, None] > 1e-3, w, -b)
    w = w / w.norm(dim=-1, keepdim=True)
    sign = 1.0 if side == "left" else -1.0
    x = sign * u  # the upper arm's local +x axis (rest direction is +x left, -x right)
    R_s = torch.stack([x, torch.linalg.cross(w, x), w], -1)
    parent = out.rotations[p, :, _J[f"{side}_collar"]]
    local_s = parent.transpose(-1, -2) @ R_s
    local_e = roma.rotvec_to_rotmat(torch.stack([torch.zeros_like(bend), -sign * bend, torch.zeros_like(bend)], -1))
    return local_s, local_e


def _place_arms(body, params: BodyParams, spec: _Spec, envelope: Tensor, modulation, opening: Tensor) -> BodyParams:
    """Blend each engaged arm from its resting pose to its IK pose with ``envelope`` [2, T];
    the wrist target is pushed 20 cm towards the elbow's pole by ``opening`` [T] (arms open
    wide before closing in, and open again on release, instead of cutting through the other)."""
    rest_pose = params.body_pose.clone()
    for _ in range(2):  # second pass sees the other person's placed arms
        params = on_floor(body, params)
        with torch.no_grad():
            out = body(params)
        pose = rest_pose.clone()
        for p in range(2):
            for side, tgt in spec.targets[p].items():
                target, pole = _target(out, p, tgt)
                target = target + modulation(p) + 0.2 * opening[:, None] * pole / pole.norm(dim=-1, keepdim=True)
                ls, le = _two_bone(out, p, side, target, pole)
                for j, R in ((f"{side}_shoulder", ls), (f"{side}_elbow", le)):
                    R0 = roma.rotvec_to_rotmat(rest_pose[p, :, _J[j] - 1])
                    pose[p, :, _J[j] - 1] = roma.rotmat_to_rotvec(_slerp(R0, R, envelope[p]))
        params = replace(params, body_pose=clamp_to_limits(pose))
    return params


# ---------------------------------------------------------------- floor, mirror
def on_floor(body, params: BodyParams) -> BodyParams:
    """Set transl y so each person's lowest collision vertex is at y = 0 every frame."""
    with torch.no_grad():
        low = body(params).collision_vertices[..., 1].amin(-1)  # [2, T]
    transl = params.transl.clone()
    transl[..., 1] -= low
    return replace(params, transl=transl)


_FLIP = skeleton.flip_permutation(skeleton.SMPL_JOINTS)


def mirror(params: BodyParams) -> BodyParams:
    """Reflect a motion through the x = 0 plane (left <-> right)."""
    sign = torch.tensor([1.0, -1.0, -1.0])
    pose = params.body_pose[:, :, [i - 1 for i in _FLIP[1:]]] * sign
    transl = params.transl * torch.tensor([-1.0, 1.0, 1.0])
    return replace(params, global_orient=params.global_orient * sign, body_pose=pose, transl=transl)


def _mirror_part(part: str) -> str:
    return part.replace("left", "@").replace("right", "left").replace("@", "right")


# ---------------------------------------------------------------- generation
def _modulation(spec: _Spec, tl: dict, speed: float):
    """Per-person target offset [T, 3] during contact (pump / rub), else zero."""
    T = tl["T"]
    t = (torch.arange(T, dtype=torch.float32) - tl["contact"]) / FPS
    hold = _ramp(T, tl["contact"], tl["contact"] + 6, tl["release"] - 6, tl["release"])
    amp, hz = {"pump": (0.025, 1.2), "rub": (0.02, 1.0)}.get(spec.during, (0.0, 1.0))
    dy = amp * hold * torch.sin(2 * math.pi * hz / speed * t)

    def offset(p: int) -> Tensor:
        out = torch.zeros(T, 3)
        if spec.during == "pump" or p == 0:
            out[:, 1] = dy
        return out
    return offset


def _torso(spec: _Spec, tl: dict, p: int, envelope: Tensor, rng, speed: float) -> Tensor:
    """[T, 23, 3] torso/legs: neutral -> contact keyframe (slerp) plus sway / stand-up."""
    T = tl["T"]
    target = roma.rotvec_to_rotmat(_dict_pose(spec.torso[p], T))
    pose = roma.rotmat_to_rotvec(_slerp(torch.eye(3).expand(T, 23, 3, 3), target, envelope[:, None].expand(T, 23)))
    if spec.during == "sway":
        t = (torch.arange(T, dtype=torch.float32) - tl["contact"]) / FPS
        a = 0.07 * envelope * torch.sin(2 * math.pi * 0.5 / speed * t) * (1 if p == 0 else -1)
        for j in ("spine1", "spine2", "spine3"):
            pose[:, _J[j] - 1, 2] += a
            pose[:, _J[j] - 1, 1] += 0.5 * a
    if spec.during == "stand_up" and p == 1:
        rise0, rise1 = tl["contact"] + 0.25 * (tl["release"] - tl["contact"]), tl["release"] - 8
        k = (torch.arange(T, dtype=torch.float32) - rise0) / (rise1 - rise0)
        sit, crouch = (roma.rotvec_to_rotmat(_dict_pose(d, T)) for d in (_SIT, _CROUCH))
        a = _smoothstep(2 * k)[:, None].expand(T, 23)
        b = _smoothstep(2 * k - 1)[:, None].expand(T, 23)
        pose = roma.rotmat_to_rotvec(_slerp(_slerp(sit, crouch, a), roma.rotvec_to_rotmat(pose), b))
    noise = torch.tensor(rng.normal(0, 0.03, (23, 3)), dtype=torch.float32)
    for j in ("left_collar", "right_collar", "left_hand", "right_hand", "left_foot", "right_foot"):
        noise[_J[j] - 1] = 0
    return pose + noise


def _stoop(excess: float, height: float, envelope: Tensor) -> Tensor:
    """[T, 23, 3] forward lean and knee bend of the taller person by ``excess`` metres."""
    lean = min(0.5, 1.2 * max(excess, 0.0) / height) * envelope
    k = 0.8 * min(0.6, max(excess, 0.0)) * envelope
    pose = torch.zeros(len(envelope), 23, 3)
    for j in ("spine1", "spine2", "spine3"):
        pose[:, _J[j] - 1] = _rotx(lean / 3)
    for side in ("left", "right"):
        pose[:, _J[f"{side}_hip"] - 1] = _rotx(-k)
        pose[:, _J[f"{side}_knee"] - 1] = _rotx(2 * k)
        pose[:, _J[f"{side}_ankle"] - 1] = _rotx(-k)
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
    desired, anchors = _root_paths(spec, tl, meet, first, yaw, rng)
    env = torch.stack([_ramp(T, tl["reach"] + int(rng.integers(-4, 5)), tl["contact"] - 4, tl["release"] + 4, tl["released"])
                       for _ in range(2)])
    params = body.neutral_params(2, T)
    params.shape = shape
    height = rest.collision_vertices[:, 0, :, 1].amax(-1) - rest.collision_vertices[:, 0, :, 1].amin(-1)
    pose = torch.zeros(2, T, 23, 3)
    for p in range(2):
        gait = _gait(desired[p], float(yaw[p]), float(height[p]))
        torso = _torso(spec, tl, p, env[p], rng, speed)
        torso = _compose(torso, _stoop(float(height[p] - height[1 - p]), float(height[p]), env[p]))
        pose[p] = _compose(_compose(torso, gait), _arms_down(T))  # shoulders: swing after lowering
    params.global_orient = torch.zeros(2, T, 3)
    params.global_orient[..., 1] = torch.tensor(yaw, dtype=torch.float32)[:, None]
    params.body_pose = clamp_to_limits(pose)
    xz = _foot_locked_roots(body, params, desired, anchors)
    params.transl = torch.stack([xz[..., 0], torch.zeros(2, T), xz[..., 1]], -1)
    opening = 1 - _ramp(T, tl["contact"] - 12, tl["contact"] - 4, tl["release"] + 4, tl["release"] + 12)
    params = _place_arms(body, params, spec, env, _modulation(spec, tl, speed), opening)
    params = _rotate_world(params, world_yaw)
    plan = [(tl["contact"], tl["release"], a, b) for a, b in spec.contacts]
    child = child is not None
    if left:
        params = mirror(params)
        plan = [(f0, f1, _mirror_part(a), _mirror_part(b)) for f0, f1, a, b in plan]
    variation = {"speed": speed, "gap": gap, "start_distance": float(np.linalg.norm(first[0] - first[1])),
                 "child": child, "left_handed": left, "world_yaw": world_yaw, "num_frames": T,
                 "shape": shape.tolist(), "timeline": {k: int(v) for k, v in tl.items()}}
    return Motion(kind, on_floor(body, params), plan, FPS, variation)


def _rotate_world(params: BodyParams, yaw: float) -> BodyParams:
    """Turn the whole scene by ``yaw`` about the vertical axis through the origin."""
    R = roma.rotvec_to_rotmat(torch.tensor([0.0, yaw, 0.0]))
    orient = roma.rotmat_to_rotvec(R @ roma.rotvec_to_rotmat(params.global_orient))
    return replace(params, global_orient=orient, transl=params.transl @ R.T)


# ---------------------------------------------------------------- refinement
_LEGS = [f"{s}_{j}" for s in ("left", "right") for j in ("hip", "knee", "ankle", "foot")]


def _grounded(body, params: BodyParams):
    """Body output with each person/frame shifted so the lowest collision vertex is at y = 0."""
    out = body(params)
    low = out.collision_vertices[..., 1].amin(-1)[..., None, None]  # [2, T, 1, 1]
    up = torch.tensor([0.0, 1.0, 0.0])
    return replace(out, joints=out.joints - low * up, collision_vertices=out.collision_vertices - low * up)


def _interp_matrix(T: int, keys: list[int]) -> Tensor:
    """[T, K] piecewise-linear interpolation from key frames to all frames."""
    W = torch.zeros(T, len(keys))
    for i in range(len(keys) - 1):
        a, b = keys[i], keys[i + 1]
        s = torch.arange(b - a + 1, dtype=torch.float32) / (b - a)
        W[a:b + 1, i], W[a:b + 1, i + 1] = 1 - s, s
    return W


def refine(motion: Motion, body, collider, steps: int = 60, stride: int = 4, polish: int = 40) -> Motion:
    """Close planned contacts (< 2 cm) and remove penetration (< 1 cm) by Adam on upper-body
    pose corrections at every ``stride``-th frame (every 2nd from 12 frames before to 12 after
    each contact; linearly interpolated between) and one x/z shift per person and contact eased in and out over
    20 frames, plus one per stretch where the two touch outside the contacts (a foot clipping
    the other's while walking up; eased over 10 frames). Legs stay as keyframed, so feet slide
    only while a shift eases in or out. The contact and penetration
    hinges (with margins inside the pass thresholds: 1.3 cm, 2.5 mm) are evaluated on every
    frame that touches or plans contact, so the interpolation cannot reintroduce violations;
    the contact weight ramps in over the first third of the steps (penetration first).
    Regularisers: second differences and size of the key corrections, joint limits.

    Then up to eight polish passes of ``polish`` steps each, on pose alone, at every 2nd frame
    around the frames that still break a margin (contact gap > 1.6 cm, depth > 7 mm), so a
    few bad frames get the optimiser's full attention; a pass that does not lower the worst
    violation is dropped and the next one takes steps half as large."""
    T = motion.params.batch[1]
    if steps <= 0:
        return motion
    edges = [f for f0, f1, _, _ in motion.contact_plan for f in range((f0 - 12) // 2 * 2, f1 + 14, 2)]
    keys = sorted(set(range(0, T, stride)) | {T - 1} | {f for f in edges if 0 <= f < T})
    with torch.no_grad():
        touching = collider.penetration(body(motion.params), collider.rest(motion.params)).amax(-1).amax(0) > 0
    touching = torch.nn.functional.max_pool1d(touching[None, None].float(), 17, 1, 8)[0, 0] > 0
    spans = [(f0, f1, 20) for f0, f1, _, _ in motion.contact_plan]
    planned = torch.zeros(T, dtype=torch.bool)
    for f0, f1, _ in spans:
        planned[max(f0 - 20, 0):f1 + 21] = True
    stray = (touching & ~planned).int()  # touching outside the contacts (a foot clipping a foot)
    bounds = torch.diff(torch.cat([torch.zeros(1, dtype=torch.int), stray, torch.zeros(1, dtype=torch.int)])).nonzero()[:, 0]
    spans += [(int(a), int(b) - 1, 10) for a, b in zip(bounds[::2], bounds[1::2])]
    bumps = torch.stack([_ramp(T, f0 - e, f0, f1, f1 + e) for f0, f1, e in spans], 1)  # [T, C]
    need = touching | (bumps > 0).any(1)  # frames that touch, plan contact or get shifted
    motion = _refine_pass(motion, body, collider, keys, need, bumps, steps)
    worst, bad = _violations(motion, body, collider)
    lr = 0.005
    for _ in range(8 if polish > 0 else 0):
        if not bad.any():
            break
        frames = torch.nn.functional.max_pool1d(bad[None, None].float(), 9, 1, 4)[0, 0] > 0
        polished = _refine_pass(motion, body, collider, sorted(set(range(0, T, 2)) | {T - 1}), frames, None, polish,
                                lr=lr, ramp=False)
        score, still = _violations(polished, body, collider)
        if score >= worst:  # kept only where it helps; else try again with smaller steps
            lr /= 2
            continue
        motion, worst, bad = polished, score, still
    return motion


def _violations(motion: Motion, body, collider, gap: float = 0.016, depth: float = 0.007) -> tuple[float, Tensor]:
    """The worst violation (max over frames of contact gap / 2 cm and depth / 1 cm) and the
    [T] bool frames where a planned contact is open by more than ``gap`` or a vertex is
    deeper than ``depth`` in the other person."""
    with torch.no_grad():
        out = body(motion.params)
        pen = collider.penetration(out, collider.rest(motion.params)).amax(-1).amax(0)
        bad, worst = pen > depth, float(pen.max()) / 0.01
        for f0, f1, a, b in motion.contact_plan:
            d = collider.contact_distance(out, a, b)[f0:f1 + 1]
            bad[f0:f1 + 1] |= d > gap
            worst = max(worst, float(d.max()) / 0.02)
    return worst, bad


def _refine_pass(motion: Motion, body, collider, keys: list[int], need: Tensor, bumps: Tensor | None,
                 steps: int, lr: float = 0.01, ramp: bool = True) -> Motion:
    """One Adam run of :func:`refine` on the keys that move the ``need`` [T] frames (and the
    per-contact x/z shifts eased by ``bumps`` [T, C], unless None)."""
    params = motion.params
    T = params.batch[1]
    if not need.any():
        return motion
    W = _interp_matrix(T, keys)
    rest = collider.rest(params)
    used = (W[need] > 0).any(0).nonzero()[:, 0]  # keys optimised
    frames = (W[:, used] > 0).any(1).nonzero()[:, 0].tolist()  # every frame those keys move
    if bumps is None:
        bumps = torch.zeros(T, 0)
    dpose = torch.zeros(2, len(used), 23, 3, requires_grad=True)
    dxz = torch.zeros(2, bumps.shape[1], 2, requires_grad=True)
    opt = torch.optim.Adam([dpose, dxz], lr=lr)
    upper = torch.ones(23, 1)
    upper[[_J[n] - 1 for n in _LEGS]] = 0
    # The first three quarters of the steps alternate between the even and the odd loss frames (every
    # frame is seen every 2 steps, at half the cost); the last quarter sees all of them at once.
    subsets = []
    for fs in ([f for f in frames if f % 2 == 0] or frames, [f for f in frames if f % 2] or frames, frames):
        plan = [(torch.tensor([f0 <= f <= f1 for f in fs]), collider.part_mask(a), collider.part_mask(b))
                for f0, f1, a, b in motion.contact_plan]
        base = params.map(lambda t: t[:, fs] if t.dim() > 2 else t)
        subsets.append((fs, W[fs][:, used], plan, base))
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - 0.8 * i / steps)
    for i in range(steps):
        fs, Wf, plan, base = subsets[i % 2 if 4 * i < 3 * steps else 2]
        pose = base.body_pose + torch.einsum("fk,pkjd->pfjd", Wf, dpose) * upper
        move = torch.einsum("tc,pcd->ptd", bumps[fs], dxz)
        shift = torch.cat([move[..., :1], torch.zeros(2, len(fs), 1), move[..., 1:]], -1)
        out = _grounded(body, replace(base, body_pose=pose, transl=base.transl + shift))
        loss = _refine_loss(out, rest, collider, plan, pose, min(1.0, 3.0 * (i + 1) / steps) if ramp else 1.0)
        loss = loss + 1.0 * dpose.square().sum() + 10.0 * dxz.square().sum()
        loss = loss + 20.0 * (dpose[:, 2:] - 2 * dpose[:, 1:-1] + dpose[:, :-2]).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        pose = clamp_to_limits(params.body_pose + torch.einsum("tk,pkjd->ptjd", W[:, used], dpose) * upper)
        move = torch.einsum("tc,pcd->ptd", bumps, dxz)
        transl = params.transl + torch.stack([move[..., 0], torch.zeros_like(move[..., 0]), move[..., 1]], -1)
    return replace(motion, params=on_floor(body, replace(params, body_pose=pose, transl=transl)))


def _refine_loss(out, rest, collider, plan, pose: Tensor, contact_weight: float = 1.0) -> Tensor:
    """Contact hinge (1.3 cm on the exact minimum distance, plus a soft minimum over part a's
    vertices that spreads the gradient), penetration hinge (2.5 mm), joint-limit hinge."""
    loss = pose.new_zeros(())
    for mask, part_a, part_b in plan:  # frames in the contact's window, vertex masks of both parts
        if mask.any():
            va = out.collision_vertices[0][mask][:, part_a]
            vb = out.collision_vertices[1][mask][:, part_b]
            near = torch.cdist(va, vb).amin(-1)  # [F, Na]: each vertex of a to the nearest of b
            d = near.amin(-1)  # exact minimum, as in collider.contact_distance
            ds = -0.001 * torch.logsumexp(-near / 0.001, dim=-1)  # soft minimum over a's vertices
            c = (d - 0.013).clamp_min(0).square().sum() + 0.3 * (ds - 0.008).clamp_min(0).square().sum()
            c = c + 1e-2 * (d - 0.013).clamp_min(0).sum()
            loss = loss + contact_weight * 1e4 * c
    depth = collider.penetration(out, rest)
    excess = (depth - 0.0025).clamp_min(0)
    loss = loss + 1e5 * excess.square().sum() + 30.0 * excess.sum()
    over = (pose.norm(dim=-1) - 0.98 * _LIMITS).clamp_min(0)
    return loss + 1e3 * over.square().sum()


def generate_motion(kind: str, rng: np.random.Generator, body, collider, refine_steps: int = 60) -> Motion:
    """A refined two-person ``kind`` interaction (see INTERACTIONS) sampled from ``rng``."""
    if kind not in SPECS:
        raise KeyError(f"unknown interaction {kind!r}; known: {INTERACTIONS}")
    motion = build_keyframed(kind, rng, body)
    return refine(motion, body, collider, steps=refine_steps)


# ---------------------------------------------------------------- measurements
def plausibility(motion: Motion, body, collider) -> dict:
    """Numbers a plausible motion keeps small (metres, m/s, ratios):

    contact_<i>_max: max distance of planned contact pair i over its frames;
    penetration_max / penetration_mean: depth over penetrating vertices (0 if none);
    foot_skating: mean horizontal speed of foot vertices within 2 cm of the floor;
    joint_limit_ratio: largest joint angle / its limit; floor_min / floor_max: range over
    frames of the lowest collision vertex height.
    """
    params = motion.params
    with torch.no_grad():
        out = body(params)
        depth = collider.penetration(out, collider.rest(params))
        result = {}
        for i, (f0, f1, a, b) in enumerate(motion.contact_plan):
            d = collider.contact_distance(replace(out, collision_vertices=out.collision_vertices[:, f0:f1 + 1]), a, b)
            result[f"contact_{i}_max"] = float(d.max())
        inside = depth[depth > 0]
        result["penetration_max"] = float(depth.max())
        result["penetration_mean"] = float(inside.mean()) if inside.numel() else 0.0
        result["foot_skating"] = _foot_skating(out.collision_vertices, body, motion.fps)
        angle = params.body_pose.norm(dim=-1) / _LIMITS
        result["joint_limit_ratio"] = float(angle.max())
        low = out.collision_vertices[..., 1].amin(-1)
        result["floor_min"], result["floor_max"] = float(low.min()), float(low.max())
    return result


def _foot_skating(verts: Tensor, body, fps: float) -> float:
    """Mean horizontal speed (m/s) of foot vertices [2, T, Vf] within 2 cm of the floor."""
    feet = torch.isin(body.collision_coarse_parts, torch.tensor(
        [skeleton.COARSE_PARTS.index(f"{s} foot") for s in ("left", "right")]))
    v = verts[:, :, feet]
    low = v[:, :-1, :, 1] < 0.02
    speed = (v[:, 1:, :, [0, 2]] - v[:, :-1, :, [0, 2]]).norm(dim=-1) * fps
    return float(speed[low].mean()) if low.any() else 0.0
