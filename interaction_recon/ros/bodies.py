"""REP-155 (ROS4HRI) per-body outputs beside the aggregate /humans message.

    /humans/bodies/tracked            hri_msgs/IdsList           ids of the bodies in this image: the
                                                                 pair, then everyone else seen
    /humans/bodies/<id>/roi           hri_msgs/NormalizedRegionOfInterest2D   the detection box
                                                                 (everyone: the pair and the others)
    /humans/bodies/<id>/skeleton2d    hri_msgs/Skeleton2D        18 OpenPose-order keypoints
    /humans/bodies/<id>/position      geometry_msgs/PointStamped the hip midpoint (body_<id>'s origin)
    /humans/bodies/<id>/velocity      geometry_msgs/TwistStamped its linear velocity, m/s

Image coordinates are normalised to [0, 1] of the image ((0, 0) top left); a keypoint that is
missing or outside the image has confidence 0 (and its position clipped into the image).
Message builders are plain functions; :class:`BodyTopics` keeps one publisher set per body
(the least recently seen destroyed beyond ``max_bodies``).
"""
from __future__ import annotations

import collections

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33
from interaction_recon.ros.tf import hip_midpoint

# hri_msgs/Skeleton2D order (OpenPose COCO-18) -> BlazePose-33 keypoints averaged for it.
SKELETON2D = (("nose",), ("left_shoulder", "right_shoulder"), ("right_shoulder",), ("right_elbow",), ("right_wrist",),
              ("left_shoulder",), ("left_elbow",), ("left_wrist",), ("right_hip",), ("right_knee",), ("right_ankle",),
              ("left_hip",), ("left_knee",), ("left_ankle",), ("left_eye",), ("right_eye",), ("left_ear",),
              ("right_ear",))
_SKELETON2D_INDEX = [[BLAZEPOSE33.index(n) for n in names] for names in SKELETON2D]


def normalised_skeleton(keypoints: np.ndarray, confidence: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """BlazePose-33 keypoints [33, 2] px with confidence [33], image (H, W) -> [18, 3] (x, y, c)
    normalised, in Skeleton2D order; a point averaged from several takes their lowest confidence."""
    h, w = image_size
    out = np.zeros((len(SKELETON2D), 3), np.float32)
    for i, idx in enumerate(_SKELETON2D_INDEX):
        pts, conf = np.asarray(keypoints, np.float64)[idx], np.nan_to_num(np.asarray(confidence, np.float64)[idx])
        if not np.isfinite(pts).all():
            continue
        x, y = pts.mean(0) / (w, h)
        inside = 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0
        out[i] = (np.clip(x, 0.0, 1.0), np.clip(y, 0.0, 1.0), float(conf.min()) if inside else 0.0)
    return out


def normalised_box(box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray | None:
    """Box (x0, y0, x1, y1) px -> (xmin, ymin, xmax, ymax) in [0, 1], or None when not finite."""
    h, w = image_size
    box = np.asarray(box, np.float64)
    if not np.isfinite(box).all() or min(h, w) <= 0:
        return None
    return np.clip(box / (w, h, w, h), 0.0, 1.0)


class BodyTopics:
    """The per-body publishers of a node (position, velocity, and roi / skeleton2d where
    hri_msgs imports) and /humans/bodies/tracked."""

    def __init__(self, node, qos, max_bodies: int):
        self.node, self.qos, self.max_bodies = node, qos, max_bodies
        self.pubs: collections.OrderedDict = collections.OrderedDict()  # id -> {topic: publisher}, oldest first
        try:
            from hri_msgs.msg import IdsList
        except ImportError:
            self.hri, self.tracked = False, None
            node.get_logger().info("hri_msgs not importable: /humans/bodies/tracked, roi and skeleton2d are off "
                                   "(scripts/build_msgs.py builds it)")
        else:
            self.hri, self.tracked = True, node.create_publisher(IdsList, "/humans/bodies/tracked", qos)

    def _publishers(self, body: str) -> dict:
        from geometry_msgs.msg import PointStamped, TwistStamped

        pubs = self.pubs.get(body)
        if pubs is not None:
            self.pubs.move_to_end(body)  # most recently seen last
            return pubs
        topic = f"/humans/bodies/{body}/"
        pubs = {"position": self.node.create_publisher(PointStamped, topic + "position", self.qos),
                "velocity": self.node.create_publisher(TwistStamped, topic + "velocity", self.qos)}
        if self.hri:
            from hri_msgs.msg import NormalizedRegionOfInterest2D, Skeleton2D

            pubs["roi"] = self.node.create_publisher(NormalizedRegionOfInterest2D, topic + "roi", self.qos)
            pubs["skeleton2d"] = self.node.create_publisher(Skeleton2D, topic + "skeleton2d", self.qos)
        self.pubs[body] = pubs
        while len(self.pubs) > self.max_bodies:
            _, old = self.pubs.popitem(last=False)
            for pub in old.values():
                self.node.destroy_publisher(pub)
        return pubs

    def publish(self, msg, slots: dict[str, int], people, header, ids=None) -> None:
        """The bodies of one /humans message ``msg`` (interaction_recon_msgs/Humans); slots: body
        id -> perception slot of ``people`` (a PeopleFrame, or None: no roi / skeleton2d);
        header: the message's std_msgs/Header (stamp and frame); ids: tracker id -> body id
        (:class:`~interaction_recon.ros.convert.BodyIds`): everyone else in ``people`` is
        then tracked too, with their roi (no 3D)."""
        from geometry_msgs.msg import PointStamped, TwistStamped

        image_known = people is not None and min(getattr(people, "image_size", (0, 0))) > 0
        for h in msg.humans:
            pubs = self._publishers(h.track_id)
            point = PointStamped(header=header)
            point.point.x, point.point.y, point.point.z = (float(v) for v in hip_midpoint(
                np.array([[j.x, j.y, j.z] for j in h.joints])))
            pubs["position"].publish(point)
            twist = TwistStamped(header=header)
            twist.twist.linear = h.velocity
            pubs["velocity"].publish(twist)
            if self.hri and image_known and h.track_id in slots:
                self._publish_image_evidence(pubs, people, slots[h.track_id], h.confidence, header)
        others = []
        if self.hri and image_known and ids is not None:
            for tid, box in zip(people.other_ids, people.other_boxes):
                others.append(ids(tid))
                self._publish_roi(self._publishers(others[-1]), box, people.image_size, 1.0, header)
        if self.tracked is not None:
            from hri_msgs.msg import IdsList

            self.tracked.publish(IdsList(header=header, ids=[h.track_id for h in msg.humans] + others))

    def _publish_image_evidence(self, pubs, people, slot: int, confidence: float, header) -> None:
        from hri_msgs.msg import NormalizedPointOfInterest2D, Skeleton2D

        self._publish_roi(pubs, people.boxes[slot], people.image_size, confidence, header)
        points = normalised_skeleton(people.keypoints[slot], people.confidence[slot], people.image_size)
        pubs["skeleton2d"].publish(Skeleton2D(header=header, skeleton=[
            NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(c)) for x, y, c in points]))

    @staticmethod
    def _publish_roi(pubs, box, image_size, confidence: float, header) -> None:
        from hri_msgs.msg import NormalizedRegionOfInterest2D

        box = normalised_box(box, image_size)
        if box is not None:
            pubs["roi"].publish(NormalizedRegionOfInterest2D(
                header=header, xmin=float(box[0]), ymin=float(box[1]), xmax=float(box[2]), ymax=float(box[3]),
                c=float(confidence)))
