"""Record topics into a rosbag2 (MCAP) with ``rosbags`` (pure Python; no rosbag2_py needed).

Subscriptions are raw (CDR bytes straight from the middleware); rosbags writes them with the
message definitions, so ``ros2 bag info/play`` and Foxglove read the bag. interaction_recon_msgs
definitions are registered from ros_ws/src/interaction_recon_msgs/msg, and hri_msgs / tf2_msgs
ones from ros_ws/upstream/<pkg>/msg where rosbags' own store lacks them (or from the installed
shares).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

_ROS_WS = Path(__file__).resolve().parents[2] / "ros_ws"
# package -> folders of its .msg files, tried in order (then the installed share).
MSG_DIRS = {
    "interaction_recon_msgs": (_ROS_WS / "src" / "interaction_recon_msgs" / "msg",),
    "hri_msgs": (_ROS_WS / "upstream" / "hri_msgs" / "msg",),
    "tf2_msgs": (_ROS_WS / "upstream" / "tf2_msgs" / "msg",),
}


def _msg_dir(pkg: str, dirs) -> Path | None:
    for d in dirs:
        if d.is_dir():
            return d
    try:
        from ament_index_python.packages import get_package_share_directory

        d = Path(get_package_share_directory(pkg)) / "msg"
        return d if d.is_dir() else None
    except (ImportError, LookupError, ValueError, OSError):
        return None


def typestore():
    """rosbags' Jazzy typestore plus interaction_recon_msgs, hri_msgs and tf2_msgs."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    for pkg, dirs in MSG_DIRS.items():
        d = _msg_dir(pkg, dirs)
        if d is None:
            continue
        types = {}
        for f in sorted(d.glob("*.msg")):
            name = f"{pkg}/msg/{f.stem}"
            if name not in store.fielddefs:  # never re-register what rosbags has (tf2_msgs)
                types.update(get_types_from_msg(f.read_text(), name))
        if types:
            store.register(types)
    return store


def type_name(msg_class) -> str:
    """rclpy message class -> 'pkg/msg/Name'."""
    module = msg_class.__module__.split(".")
    return f"{module[0]}/msg/{msg_class.__name__}"


class BagRecorder:
    """Subscribe (raw) to ``topics`` {name: message class} on ``node`` and write an MCAP bag."""

    def __init__(self, node, path: str | Path, topics: dict, depth: int = 100):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = Path(path)
        if self.path.exists():
            import shutil

            shutil.rmtree(self.path)
        store = typestore()
        self.writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.closed = False
        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)
        for topic, cls in topics.items():
            conn = self.writer.add_connection(topic, type_name(cls), typestore=store)
            self.counts[topic] = 0
            node.create_subscription(cls, topic, lambda data, c=conn, t=topic: self._write(c, t, data), qos, raw=True)

    def _write(self, conn, topic: str, data: bytes) -> None:
        with self.lock:
            if not self.closed:
                self.writer.write(conn, time.time_ns(), data)
                self.counts[topic] += 1

    def close(self) -> dict:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.writer.close()
        return dict(self.counts)


def read_bag(path: str | Path) -> dict:
    """{topic: [deserialised rosbags messages]} of a bag written by :class:`BagRecorder`."""
    from rosbags.rosbag2 import Reader

    store = typestore()
    out: dict = {}
    with Reader(path) as reader:
        for conn, _, raw in reader.messages():
            out.setdefault(conn.topic, []).append(store.deserialize_cdr(raw, conn.msgtype))
    return out
