"""Live two-person reconstruction: the interaction_recon node with its parameters.

    ros2 launch interaction_recon live.launch.py
    ros2 launch interaction_recon live.launch.py image_topic:=/camera/color/image_raw \
        camera_info_topic:=/camera/color/camera_info device:=cuda
    ros2 launch interaction_recon live.launch.py params_file:=/path/to/my_live.yaml

Parameters come from config/live.yaml (installed to share/interaction_recon/config); each
launch argument below overrides one of them when given (an empty value keeps the file's).
The parameters themselves (descriptions, ranges) are declared in interaction_recon/ros/params.py.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

# launch argument -> node parameter
ARGUMENTS = {
    "window": "fitting.window",
    "stride": "fitting.stride",
    "body_model": "body.backend",
    "body_model_path": "body.model_path",
    "device": "body.device",
    "detector": "perception.detector",
    "keypoints": "perception.keypoints",
    "blazepose_model": "perception.blazepose_model",
    "prior": "fitting.prior",
    "contact_source": "fitting.contact.source",
    "camera_height": "fitting.camera_height",
    "camera_pitch": "fitting.camera_pitch",
    "causal_iterations": "fitting.causal.iterations",
    "causal_prior": "fitting.causal.prior",
    "causal_prior_path": "fitting.causal.prior_path",
    "image_topic": "ros.image_topic",
    "compressed_topic": "ros.compressed_topic",
    "input_reliability": "ros.input_reliability",
    "camera_info_topic": "ros.camera_info_topic",
    "depth_topic": "ros.depth_topic",
    "humans_topic": "ros.humans_topic",
    "frame_id": "ros.frame_id",
    "default_fov_deg": "ros.default_fov_deg",
    "mesh_every": "ros.mesh_every",
    "publish_tf": "ros.publish_tf",
}


def _node(context, *args, **kwargs):
    from interaction_recon.ros.params import BY_NAME, coerce

    overrides = {}
    for arg, param in ARGUMENTS.items():
        value = LaunchConfiguration(arg).perform(context)
        if value != "":
            overrides[param] = coerce(BY_NAME[param], value)
    return [Node(
        package="interaction_recon",
        executable="interaction-recon",
        arguments=["live"],
        name=LaunchConfiguration("node_name").perform(context),
        parameters=[LaunchConfiguration("params_file").perform(context), overrides],
        output="screen",
        emulate_tty=True,
    )]


def generate_launch_description():
    share = get_package_share_directory("interaction_recon")
    declared = [
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "live.yaml"),
                              description="ROS params file of the node"),
        DeclareLaunchArgument("node_name", default_value="interaction_recon", description="node name"),
    ]
    declared += [DeclareLaunchArgument(arg, default_value="",
                                       description=f"overrides parameter {param} ('' keeps the params file's value)")
                 for arg, param in ARGUMENTS.items()]
    return LaunchDescription(declared + [OpaqueFunction(function=_node)])
