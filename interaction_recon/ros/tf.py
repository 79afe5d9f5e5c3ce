"""REP-155 body frames as geometry_msgs/TransformStamped, built by plain functions.

``body_<id>`` sits at the hip midpoint (mean of SMPL-24 left_hip and right_hip) with x
forward (the way the person faces), y to the person's left and z up, all following the
pelvis orientation ``global_orient``. In SMPL's rest pose the body faces +z with y up and
its left at +x, so the body frame's axes in SMPL-local coordinates are x=+z, y=+x, z=+y.
Frames ``body_<id>_<joint>`` (children of ``body_<id>``, same axes) sit at the SMPL-24 joints.

:class:`TfOut` broadcasts through tf2_ros where it imports (a system ROS 2), else publishes
tf2_msgs/TFMessage on /tf where that imports, else logs once and does nothing.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from interaction_recon.body.skeleton import SMPL_JOINTS

# Columns: body-frame axes (x forward, y left, z up) in SMPL-local coordinates.
SMPL_TO_BODY = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
LEFT_HIP, RIGHT_HIP = 1, 2


def hip_midpoint(joints: np.ndarray) -> np.ndarray:
    """SMPL-24 joints [..., 24, 3] -> [..., 3] the mean of left_hip and right_hip (body_<id>'s origin)."""
    joints = np.asarray(joints, dtype=np.float64)
    return (joints[..., LEFT_HIP, :] + joints[..., RIGHT_HIP, :]) / 2.0


def body_pose(global_orient: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(translation [3], quaternion [x, y, z, w] unit) of body_<id> in the camera frame."""
    R = Rotation.from_rotvec(np.asarray(global_orient, dtype=np.float64)).as_matrix() @ SMPL_TO_BODY
    q = Rotation.from_matrix(R).as_quat()
    q /= np.linalg.norm(q)
    return hip_midpoint(joints), q


def transform_stamped(parent: str, child: str, stamp, translation, quaternion):
    from geometry_msgs.msg import TransformStamped

    msg = TransformStamped()
    msg.header.frame_id = parent
    msg.header.stamp = stamp
    msg.child_frame_id = child
    t, q = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = (float(v) for v in translation)
    q.x, q.y, q.z, q.w = (float(v) for v in quaternion)
    return msg


def body_transforms(result, sel, parent: str, stamp, prefix: str = "body_", joints: bool = True) -> list:
    """TransformStamped parent -> ``prefix + id`` for every published person of ``sel`` and,
    with ``joints``, ``prefix + id`` -> ``prefix + id + "_" + joint`` for each SMPL-24 joint
    (placed at the joint, axes those of the body frame)."""
    out = []
    for p in sel.slots:
        t, q = body_pose(result.global_orient[p, sel.pos], result.joints[p, sel.pos])
        body = prefix + sel.ids[p]
        out.append(transform_stamped(parent, body, stamp, t, q))
        if joints:
            local = (np.asarray(result.joints[p, sel.pos], np.float64) - t) @ Rotation.from_quat(q).as_matrix()
            identity = (0.0, 0.0, 0.0, 1.0)
            out.extend(transform_stamped(body, f"{body}_{name}", stamp, x, identity) for name, x in zip(SMPL_JOINTS, local))
    return out


class TfOut:
    """tf2_ros.TransformBroadcaster, else a /tf publisher of tf2_msgs/TFMessage, else nothing."""

    def __init__(self, node):
        self.backend = "none"
        self._send = None
        try:
            from tf2_ros import TransformBroadcaster

            broadcaster = TransformBroadcaster(node)
            self._send = broadcaster.sendTransform
            self.backend = "tf2_ros"
        except ImportError:
            try:
                from rclpy.qos import QoSProfile
                from tf2_msgs.msg import TFMessage

                pub = node.create_publisher(TFMessage, "/tf", QoSProfile(depth=100))
                self._send = lambda transforms: pub.publish(TFMessage(transforms=list(transforms)))
                self.backend = "tf2_msgs"
            except ImportError:
                node.get_logger().info("TF off: neither tf2_ros nor tf2_msgs imports here "
                                       "(body_<id> frames are still on /humans/bodies/<id>/position)")

    def send(self, transforms: list) -> None:
        if self._send is not None and transforms:
            self._send(transforms)
