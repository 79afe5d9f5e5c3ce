"""The ROS 2 shell around the reconstruction core.

    params.py    every node parameter, declared once (description, range) <-> Config
    image.py     sensor_msgs Image / CompressedImage / CameraInfo <-> numpy (no cv_bridge)
    convert.py   Reconstruction -> interaction_recon_msgs/Humans
    markers.py   Reconstruction -> visualization_msgs/MarkerArray (skeletons, meshes, contacts, labels)
    tf.py        REP-155 body_<id> frames as geometry_msgs/TransformStamped (+ a broadcaster shim)
    node.py      the ``interaction_recon`` node: threads, bounded queues, drops, diagnostics
    replay.py    ``interaction-recon replay``: a video or synthetic clip as Image + CameraInfo
    bag.py       record topics to an MCAP bag with rosbags

Only rclpy and the standard message packages are imported eagerly (by node.py & co.);
tf2_ros, tf2_msgs, hri_msgs, diagnostic_msgs are optional and imported where used. The
conversion modules import message classes lazily too, so they stay importable without ROS.
"""
