"""Reconstruction -> visualization_msgs/MarkerArray that RViz accepts.

Namespaces (marker id = person slot, so a person's markers replace themselves):
    skeleton  LINE_LIST of SMPL-24 bones          joints  SPHERE_LIST of SMPL-24 joints
    label     TEXT_VIEW_FACING above the head      mesh    TRIANGLE_LIST (decimated), lower rate
    contacts  SPHERE_LIST, one colour per point from confidence (blue 0 -> red 1), id 0
Slots not published in a frame get DELETE markers in every per-frame namespace.
"""
from __future__ import annotations

import numpy as np

from interaction_recon.body.skeleton import SMPL_JOINTS, SMPL_PARENTS

PERSON_RGB = ((0.15, 0.55, 0.95), (0.95, 0.45, 0.1))
BONES = [(SMPL_PARENTS[j], j) for j in range(1, len(SMPL_JOINTS))]
HEAD = SMPL_JOINTS.index("head")
PER_FRAME_NS = ("skeleton", "joints", "label")


def _color(rgb, a: float = 1.0):
    from std_msgs.msg import ColorRGBA

    return ColorRGBA(r=float(rgb[0]), g=float(rgb[1]), b=float(rgb[2]), a=float(a))


def _points(xyz: np.ndarray) -> list:
    from geometry_msgs.msg import Point

    return [Point(x=x, y=y, z=z) for x, y, z in np.asarray(xyz, dtype=np.float64).tolist()]


def _marker(ns: str, mid: int, mtype: int, frame_id: str, stamp, lifetime: float = 0.0):
    from builtin_interfaces.msg import Duration
    from visualization_msgs.msg import Marker

    m = Marker(ns=ns, id=int(mid), type=mtype, action=Marker.ADD)
    m.header.frame_id = frame_id
    m.header.stamp = stamp
    m.pose.orientation.w = 1.0  # identity: points are in the header frame
    m.scale.x = m.scale.y = m.scale.z = 1.0
    ns_ = round(lifetime * 1e9)
    m.lifetime = Duration(sec=ns_ // 1_000_000_000, nanosec=ns_ % 1_000_000_000)
    m.frame_locked = False
    return m


def _delete(ns: str, mid: int, frame_id: str, stamp):
    from visualization_msgs.msg import Marker

    m = _marker(ns, mid, Marker.SPHERE, frame_id, stamp)
    m.action = Marker.DELETE
    return m


def confidence_color(c: float) -> tuple[float, float, float]:
    """Blue (0) -> red (1) through magenta."""
    c = float(np.clip(c, 0.0, 1.0))
    return (c, 0.1, 1.0 - c)


def frame_markers(result, sel, frame_id: str, stamp, contacts=(), lifetime: float = 0.0, people: bool = True):
    """Skeletons, joints, labels (``people``) and contact points of one frame: a MarkerArray.
    contacts None: the contact marker is left as it is (no contact evidence at this frame)."""
    from visualization_msgs.msg import Marker, MarkerArray

    out = MarkerArray()
    for p in range(2 if people else 0):
        if p not in sel.slots:
            out.markers.extend(_delete(ns, p, frame_id, stamp) for ns in PER_FRAME_NS)
            continue
        joints = np.asarray(result.joints[p, sel.pos], dtype=np.float64)
        rgb, conf = PERSON_RGB[p], float(result.confidence[p, sel.pos])
        bones = _marker("skeleton", p, Marker.LINE_LIST, frame_id, stamp, lifetime)
        bones.scale.x = 0.03  # line width (m)
        bones.color = _color(rgb)
        bones.points = _points(joints[np.array(BONES).reshape(-1)])
        dots = _marker("joints", p, Marker.SPHERE_LIST, frame_id, stamp, lifetime)
        dots.scale.x = dots.scale.y = dots.scale.z = 0.05
        dots.color = _color(rgb)
        dots.points = _points(joints)
        label = _marker("label", p, Marker.TEXT_VIEW_FACING, frame_id, stamp, lifetime)
        label.scale.z = 0.12  # text height (m)
        label.color = _color((1.0, 1.0, 1.0))
        head = joints[HEAD]
        up = joints[HEAD] - joints[0]
        up = up / (np.linalg.norm(up) + 1e-9)
        pos = head + 0.25 * up
        label.pose.position.x, label.pose.position.y, label.pose.position.z = (float(v) for v in pos)
        label.text = f"{sel.ids[p]} ({conf:.2f})"
        out.markers.extend([bones, dots, label])
    if contacts is None:
        return out
    contacts = list(contacts)
    if contacts:
        m = _marker("contacts", 0, Marker.SPHERE_LIST, frame_id, stamp, lifetime)
        m.scale.x = m.scale.y = m.scale.z = 0.06
        m.color = _color((1.0, 0.0, 0.0))
        m.points = _points(np.array([[c.point.x, c.point.y, c.point.z] if hasattr(c.point, "x") else c.point
                                     for c in contacts], dtype=np.float64))
        m.colors = [_color(confidence_color(c.confidence)) for c in contacts]
        out.markers.append(m)
    else:
        out.markers.append(_delete("contacts", 0, frame_id, stamp))
    return out


def floor_marker(plane: np.ndarray, centre: np.ndarray, frame_id: str, stamp, lifetime: float = 0.0,
                 size: float = 4.0):
    """The floor ``plane`` [4] (up, camera height; fitting/floor.py) as a thin translucent square
    ``size`` m wide under ``centre`` [3] (e.g. the people's mean pelvis), in a MarkerArray."""
    from visualization_msgs.msg import Marker, MarkerArray

    from interaction_recon.fitting.floor import frame_pose

    origin, q = frame_pose(plane)
    up = np.asarray(plane[:3], np.float64)
    below = centre - (centre @ up + plane[3]) * up  # centre dropped onto the floor
    m = _marker("floor", 0, Marker.CUBE, frame_id, stamp, lifetime)
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in below)
    m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w = (float(v) for v in q)
    m.scale.x = m.scale.y = size
    m.scale.z = 0.005
    m.color = _color((0.6, 0.6, 0.6), 0.35)
    return MarkerArray(markers=[m])


def mesh_markers(vertices: np.ndarray, faces: np.ndarray, sel, frame_id: str, stamp, lifetime: float = 0.0):
    """TRIANGLE_LIST per published person. vertices [2, V, 3] (this frame), faces [F, 3]."""
    from visualization_msgs.msg import Marker, MarkerArray

    out = MarkerArray()
    faces = np.asarray(faces, dtype=np.int64).reshape(-1)
    for p in range(2):
        if p not in sel.slots:
            out.markers.append(_delete("mesh", p, frame_id, stamp))
            continue
        m = _marker("mesh", p, Marker.TRIANGLE_LIST, frame_id, stamp, lifetime)
        m.color = _color(PERSON_RGB[p], 0.85)
        m.points = _points(np.asarray(vertices[p], dtype=np.float64)[faces])
        out.markers.append(m)
    return out


def validate(array) -> list[str]:
    """What RViz would reject or draw wrongly in a MarkerArray (empty list = fine)."""
    from visualization_msgs.msg import Marker

    problems = []
    for m in array.markers:
        name = f"{m.ns}/{m.id}"
        if not m.header.frame_id:
            problems.append(f"{name}: no frame_id")
        if m.action != Marker.ADD:
            continue
        q = m.pose.orientation
        if abs(q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2 - 1.0) > 1e-3:
            problems.append(f"{name}: orientation not normalised")
        if m.type == Marker.TRIANGLE_LIST and len(m.points) % 3:
            problems.append(f"{name}: TRIANGLE_LIST with {len(m.points)} points")
        if m.type == Marker.LINE_LIST and len(m.points) % 2:
            problems.append(f"{name}: LINE_LIST with {len(m.points)} points")
        if m.colors and len(m.colors) != len(m.points):
            problems.append(f"{name}: {len(m.colors)} colors for {len(m.points)} points")
        if m.type in (Marker.LINE_LIST, Marker.LINE_STRIP) and m.scale.x <= 0:
            problems.append(f"{name}: zero line width")
        if m.type in (Marker.SPHERE_LIST, Marker.CUBE_LIST, Marker.SPHERE) and min(m.scale.x, m.scale.y, m.scale.z) <= 0:
            problems.append(f"{name}: zero scale")
        if m.type == Marker.TEXT_VIEW_FACING and (m.scale.z <= 0 or not m.text):
            problems.append(f"{name}: empty text")
        if m.color.a <= 0 and not m.colors:
            problems.append(f"{name}: invisible (alpha 0)")
        pts = [(p.x, p.y, p.z) for p in m.points]
        if pts and not np.all(np.isfinite(pts)):
            problems.append(f"{name}: non-finite points")
    return problems
