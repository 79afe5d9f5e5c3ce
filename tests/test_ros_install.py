"""The bootstrap's ROS 2 wheels work: an Image round trip through rclpy in one process."""
import time

import numpy as np

import rclpy


def test_image_round_trip_through_rclpy():
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from sensor_msgs.msg import Image

    rclpy.init()
    try:
        node = rclpy.create_node("interaction_recon_install_check")
        received = []
        node.create_subscription(Image, "install_check/image", received.append, qos_profile_sensor_data)
        pub = node.create_publisher(Image, "install_check/image", QoSProfile(depth=5))
        msg = Image(height=2, width=3, encoding="rgb8", step=9, data=np.arange(18, dtype=np.uint8).tobytes())
        deadline = time.monotonic() + 10.0
        while not received and time.monotonic() < deadline:
            pub.publish(msg)
            rclpy.spin_once(node, timeout_sec=0.1)
        assert received, "no Image came back within 10 s"
        assert bytes(received[0].data) == bytes(msg.data) and received[0].encoding == "rgb8"
        node.destroy_node()
    finally:
        rclpy.shutdown()
