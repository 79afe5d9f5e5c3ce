"""Reconstruction (interaction_recon.fitting.result) -> interaction_recon_msgs/Humans.

One Humans message stands for one frame of a result (a window's, or the causal filter's
one frame); ``window_start``/``window_end`` are the result's first and last stamps. Contacts
are those of the newest ``contact_frames`` frames, one per part pair (the most confident).
People whose slot has no track (-1), NaN joints or a confidence under ``min_confidence`` at
that frame are left out, and so are their contacts. Body ids come from :class:`BodyIds`
(REP-155: random, never reused); velocities from :class:`Velocities`.
"""
from __future__ import annotations

import collections
import math
import secrets
import string
import threading
from dataclasses import dataclass

import numpy as np

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.ros.tf import hip_midpoint

SHAPE_SPACES = {"anny": "anny_phenotype", "smpl": "smpl_betas"}  # body model -> Human.shape_space


def to_time(seconds: float):
    """float seconds -> builtin_interfaces/Time (non-negative, nanoseconds rounded)."""
    from builtin_interfaces.msg import Time

    ns = max(0, round(float(seconds) * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def to_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class BodyIds:
    """Tracker id -> REP-155 body id: 5 random lowercase letters drawn at the id's first use and
    never handed out again by this object (so a new node start gives new ids). Thread-safe."""

    def __init__(self, length: int = 5):
        self.length, self.ids, self.used = length, {}, set()
        self._lock = threading.Lock()

    def __call__(self, track_id: int) -> str:
        with self._lock:
            tid = int(track_id)
            while tid not in self.ids:
                new = "".join(secrets.choice(string.ascii_lowercase) for _ in range(self.length))
                if new not in self.used:
                    self.ids[tid] = new
                    self.used.add(new)
            return self.ids[tid]


class Velocities:
    """Pelvis velocity (m/s) of each body id from its previous published position: a finite
    difference over at most ``max_gap`` s (zero for a first sighting or after a longer gap).
    Keeps the ``keep`` most recently seen bodies."""

    def __init__(self, max_gap: float = 0.5, keep: int = 64):
        self.max_gap, self.keep, self.last = max_gap, keep, collections.OrderedDict()

    def __call__(self, body: str, stamp: float, position: np.ndarray) -> np.ndarray:
        previous = self.last.pop(body, None)
        self.last[body] = (stamp, np.asarray(position, np.float64))
        while len(self.last) > self.keep:
            self.last.popitem(last=False)
        if previous is None or not 0 < stamp - previous[0] <= self.max_gap:
            return np.zeros(3)
        return (self.last[body][1] - previous[1]) / (stamp - previous[0])


@dataclass
class Selection:
    """Who is published for one frame of a result."""

    pos: int  # position along T
    slots: list[int]  # person slots that are published
    ids: dict[int, str]  # slot -> body id


def select(result, pos: int = -1, min_confidence: float = 0.1, ids=None) -> Selection:
    """Who of ``result`` is published at ``pos``; ids: tracker id -> body id (a :class:`BodyIds`)."""
    ids = ids or BodyIds()
    pos = pos % result.num_frames
    slots = []
    for p in range(2):
        tid = int(result.track_ids[p])
        conf = float(result.confidence[p, pos])
        joints = result.joints[p, pos]
        if tid < 0 or not math.isfinite(conf) or conf < min_confidence or not np.all(np.isfinite(joints)):
            continue
        slots.append(p)
    return Selection(pos=pos, slots=slots, ids={p: ids(result.track_ids[p]) for p in slots})


def window_contacts(result, sel: Selection, contact_frames: int, min_probability: float = 0.0) -> list:
    """The contacts of the newest ``contact_frames`` frames up to ``sel.pos`` between published
    people with a probability of at least ``min_probability``, one per (part_a, part_b) pair:
    the most confident, ties to the newest."""
    if len(sel.slots) < 2:
        return []
    first = max(0, sel.pos - max(1, contact_frames) + 1)
    frames = set(result.frames[first:sel.pos + 1].tolist())
    best = {}
    for c in result.contacts:
        if c.frame not in frames or c.confidence < min_probability:
            continue
        key = (c.part_a, c.part_b)
        old = best.get(key)
        if old is None or (c.confidence, c.frame) > (old.confidence, old.frame):
            best[key] = c
    return sorted(best.values(), key=lambda c: -c.confidence)


def humans_message(result, frame_id: str, pos: int = -1, min_confidence: float = 0.1,
                   ids=None, contact_frames: int = 32, contact_min_probability: float = 0.0,
                   refined: bool = True, stamp=None, velocities: Velocities | None = None):
    """Build the Humans message of frame ``pos`` of ``result``; returns (msg, Selection).
    ids: a :class:`BodyIds` (default: a fresh one); refined: a window's reconstruction (else
    the causal per-frame estimate); stamp: the image's own header stamp
    (builtin_interfaces/Time) to copy, else the result's float stamp; velocities: where each
    body's previous position is kept (default: none, velocity 0)."""
    from geometry_msgs.msg import Point, Vector3
    from interaction_recon_msgs.msg import Contact, Human, Humans

    sel = select(result, pos, min_confidence, ids)
    msg = Humans()
    msg.header.frame_id = frame_id
    msg.estimate = Humans.ESTIMATE_REFINED if refined else Humans.ESTIMATE_CAUSAL
    msg.header.stamp = stamp if stamp is not None else to_time(result.stamps[sel.pos])
    msg.window_start = to_time(result.stamps[0])
    msg.window_end = to_time(result.stamps[-1])
    msg.contact_evidence = bool(result.contact_evidence[sel.pos])
    seconds = float(result.stamps[sel.pos])
    near_first = sorted(sel.slots, key=lambda p: float(result.joints[p, sel.pos, 0, 2]))
    for p in sel.slots:
        h = Human()
        h.track_id = sel.ids[p]
        h.body_model = str(result.body_model)
        h.global_orient = np.asarray(result.global_orient[p, sel.pos], dtype=np.float64).reshape(3)
        h.body_pose = np.asarray(result.body_pose[p, sel.pos], dtype=np.float64).reshape(69)
        h.shape_space = SHAPE_SPACES.get(str(result.body_model), str(result.body_model))
        h.shape = np.asarray(result.shape[p], dtype=np.float64).reshape(-1)
        h.transl = np.asarray(result.transl[p, sel.pos], dtype=np.float64).reshape(3)
        joints = np.asarray(result.joints[p, sel.pos], dtype=np.float64)
        h.joint_names = list(SMPL_JOINTS)
        h.joints = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in joints]
        h.joint_confidence = np.clip(result.joint_confidence[p, sel.pos], 0.0, 1.0).astype(np.float32)
        h.confidence = float(np.clip(result.confidence[p, sel.pos], 0.0, 1.0))
        h.position_error = float(result.position_error[p, sel.pos])
        v = velocities(sel.ids[p], seconds, hip_midpoint(joints)) if velocities is not None else np.zeros(3)
        h.velocity = Vector3(x=float(v[0]), y=float(v[1]), z=float(v[2]))
        h.depth_rank = near_first.index(p)
        msg.humans.append(h)
    for c in window_contacts(result, sel, contact_frames, contact_min_probability):
        x, y, z = (float(v) for v in c.point)
        msg.contacts.append(Contact(part_a=c.part_a, part_b=c.part_b, track_id_a=sel.ids[0], track_id_b=sel.ids[1],
                                    point=Point(x=x, y=y, z=z), distance=float(c.distance),
                                    confidence=float(np.clip(c.confidence, 0.0, 1.0))))
    return msg, sel
