"""Reconstruction (interaction_recon.fitting.result) -> interaction_recon_msgs/Humans.

One Humans message stands for one frame of a window (the newest by default: the live
output); ``window_start``/``window_end`` are the window's first and last stamps. Contacts are
those of the newest ``contact_frames`` frames, one per part pair (the most confident).
People whose slot has no track (-1), NaN joints or a confidence under ``min_confidence`` at
that frame are left out, and so are their contacts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def to_time(seconds: float):
    """float seconds -> builtin_interfaces/Time (non-negative, nanoseconds rounded)."""
    from builtin_interfaces.msg import Time

    ns = max(0, round(float(seconds) * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def to_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def body_id(track_id: int, prefix: str = "p") -> str:
    """REP-155 style string id of a tracker id (a valid ROS name token: never starts with a digit)."""
    return f"{prefix}{int(track_id)}"


@dataclass
class Selection:
    """Who is published for one frame of a result."""

    pos: int  # position along T
    slots: list[int]  # person slots that are published
    ids: dict[int, str]  # slot -> body id


def select(result, pos: int = -1, min_confidence: float = 0.1, id_prefix: str = "p") -> Selection:
    pos = pos % result.num_frames
    slots = []
    for p in range(2):
        tid = int(result.track_ids[p])
        conf = float(result.confidence[p, pos])
        joints = result.joints[p, pos]
        if tid < 0 or not math.isfinite(conf) or conf < min_confidence or not np.all(np.isfinite(joints)):
            continue
        slots.append(p)
    return Selection(pos=pos, slots=slots, ids={p: body_id(result.track_ids[p], id_prefix) for p in slots})


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
                   id_prefix: str = "p", contact_frames: int = 32, contact_min_probability: float = 0.0,
                   refined: bool = True, stamp=None):
    """Build the Humans message of frame ``pos`` of ``result``; returns (msg, Selection).
    refined: a window's reconstruction (else the causal per-frame estimate); stamp: the
    image's own header stamp (builtin_interfaces/Time) to copy, else the result's float stamp."""
    from geometry_msgs.msg import Point
    from interaction_recon_msgs.msg import Contact, Human, Humans

    sel = select(result, pos, min_confidence, id_prefix)
    msg = Humans()
    msg.header.frame_id = frame_id
    msg.estimate = Humans.ESTIMATE_REFINED if refined else Humans.ESTIMATE_CAUSAL
    msg.header.stamp = stamp if stamp is not None else to_time(result.stamps[sel.pos])
    msg.window_start = to_time(result.stamps[0])
    msg.window_end = to_time(result.stamps[-1])
    msg.contact_evidence = bool(result.contact_evidence[sel.pos])
    for p in sel.slots:
        h = Human()
        h.track_id = sel.ids[p]
        h.body_model = str(result.body_model)
        h.global_orient = np.asarray(result.global_orient[p, sel.pos], dtype=np.float64).reshape(3)
        h.body_pose = np.asarray(result.body_pose[p, sel.pos], dtype=np.float64).reshape(69)
        h.shape = np.asarray(result.shape[p], dtype=np.float64).reshape(-1)
        h.transl = np.asarray(result.transl[p, sel.pos], dtype=np.float64).reshape(3)
        joints = np.asarray(result.joints[p, sel.pos], dtype=np.float64)
        h.joints = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in joints]
        conf = float(np.clip(result.confidence[p, sel.pos], 0.0, 1.0))
        # The result carries one confidence per person and frame; every joint gets it.
        h.joint_confidence = np.full(len(joints), conf, dtype=np.float32)
        h.confidence = conf
        msg.humans.append(h)
    for c in window_contacts(result, sel, contact_frames, contact_min_probability):
        x, y, z = (float(v) for v in c.point)
        msg.contacts.append(Contact(part_a=c.part_a, part_b=c.part_b, track_id_a=sel.ids[0], track_id_b=sel.ids[1],
                                    point=Point(x=x, y=y, z=z), distance=float(c.distance),
                                    confidence=float(np.clip(c.confidence, 0.0, 1.0))))
    return msg, sel
