"""Every parameter of the ``interaction_recon`` node, declared in this one place.

A ROS parameter's name is the dotted path of the :class:`interaction_recon.config.Config`
field it sets (``fitting.window``, ``ros.image_topic``); defaults come from ``Config`` so the
YAML config and the ROS parameters cannot disagree. ``config/live.yaml`` holds them in
ROS params-file form; ``launch/live.launch.py`` exposes the ``LAUNCH`` ones as arguments.
A config object that lacks a section (a build that leaves one out) still gets every
parameter declared, with ``Config()``'s default; those are reported once and ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interaction_recon.config import field_at


@dataclass(frozen=True)
class Param:
    name: str  # = config path (its default, type and unit: interaction_recon/config.py)
    description: str
    range: tuple | None = None  # (min, max) for int / float parameters
    choices: tuple | None = None  # allowed string values
    launch: str | None = None  # launch argument name, when exposed by live.launch.py


PARAMS: tuple[Param, ...] = (
    # reconstruction core
    Param("fitting.window", "frames per reconstruction window", (8, 1024), launch="window"),
    Param("fitting.stride", "new frames between reconstructions (one /humans message each)", (1, 1024),
          launch="stride"),
    Param("fitting.causal.iterations", "optimisation steps of the per-frame estimate on /humans", (1, 200),
          launch="causal_iterations"),
    Param("fitting.causal.prior", "the prior as a per-frame target on /humans: none | onnx | tensorrt | torch",
          choices=("none", "onnx", "tensorrt", "torch"), launch="causal_prior"),
    Param("fitting.causal.prior_path", "onnx: the export ('' = exported to the cache); tensorrt: the engine",
          launch="causal_prior_path"),
    Param("fitting.two_person", "fit both people jointly (contact, penetration terms)"),
    Param("fitting.prior", "proxemics prior: none | regulariser | closeapp",
          choices=("none", "regulariser", "closeapp"), launch="prior"),
    Param("fitting.prior_path", "prior checkpoint ('' = the shipped one)"),
    Param("fitting.contact.source", "contact evidence: none | keypoints (a hand on the other body in the image) | "
          "learned (the contact map); both off by default (too many false contacts on validation)",
          choices=("none", "keypoints", "learned"), launch="contact_source"),
    Param("fitting.weights.contact", "pull of the evidence's contact pairs (0 = only reported)", (0.0, 1000.0)),
    Param("fitting.camera_height", "camera height above the floor in m, e.g. from the URDF (0 = unknown)",
          (0.0, 10.0), launch="camera_height"),
    Param("fitting.camera_pitch", "with camera_height: deg the optical axis points below the horizon",
          (-90.0, 90.0), launch="camera_pitch"),
    Param("fitting.camera_roll", "with camera_height: deg about the optical axis", (-180.0, 180.0)),
    Param("body.backend", "body model: anny (embedded) | smpl (your files)", choices=("anny", "smpl"),
          launch="body_model"),
    Param("body.model_path", "smpl: SMPL_NEUTRAL.pkl or its folder ('' = none)", launch="body_model_path"),
    Param("body.device", "torch device of the body model and optimiser: cpu | cuda | cuda:N",
          launch="device"),
    Param("perception.detector", "person detector: movenet (packaged) | onnx (perception.detector_model)",
          choices=("movenet", "onnx"), launch="detector"),
    Param("perception.detector_model", "onnx detector model path ('' = none)"),
    Param("perception.keypoints", "2D keypoints: blazepose (packaged) | onnx",
          choices=("blazepose", "onnx"), launch="keypoints"),
    Param("perception.blazepose_model", "blazepose landmark model: full (faster; the live default) | heavy (better "
          "keypoints and 3D, slower; the offline default)", choices=("full", "heavy"), launch="blazepose_model"),
    Param("perception.flip_test", "blazepose: also run each crop mirrored and average the two (better keypoints, "
          "twice the keypoint time)"),
    Param("perception.detector_small_share", "movenet: the 512-px pass for small, far people runs where someone "
          "is under this share of the image's longer side (0 = never; about 80 ms more a frame where it runs)",
          (0.0, 1.0)),
    Param("perception.keypoint_model", "onnx keypoint model path ('' = none)"),
    Param("perception.masks", "per-person masks"),
    Param("perception.num_threads", "tflite/onnxruntime CPU threads", (1, 64)),
    # topics and frames
    Param("ros.image_topic", "sensor_msgs/Image input (SensorDataQoS)", launch="image_topic"),
    Param("ros.compressed_topic", "sensor_msgs/CompressedImage input ('' = none)", launch="compressed_topic"),
    Param("ros.camera_info_topic", "sensor_msgs/CameraInfo input",
          launch="camera_info_topic"),
    Param("ros.depth_topic", "sensor_msgs/Image depth registered to the colour image, 16UC1 mm or 32FC1 m "
          "('' = none)", launch="depth_topic"),
    Param("ros.depth_max_offset", "s: a depth image pairs with the colour image whose stamp is within this",
          (0.0, 1.0)),
    Param("ros.humans_topic", "interaction_recon_msgs/Humans output: the causal estimate of every image",
          launch="humans_topic"),
    Param("ros.humans_refined_topic", "interaction_recon_msgs/Humans output: window reconstructions"),
    Param("ros.markers_topic", "visualization_msgs/MarkerArray output"),
    Param("ros.diagnostics_topic", "diagnostic_msgs/DiagnosticArray output"),
    Param("ros.frame_id", "frame of the outputs ('' = the image header's frame_id)", launch="frame_id"),
    Param("ros.default_frame_id", "frame used when the image header has none"),
    Param("ros.floor_frame", "TF frame of the floor each refined window found or was given, z up ('' = none)"),
    Param("ros.body_frame_prefix", "REP-155 TF frame prefix (body_<id>)"),
    # QoS, queues, rates
    Param("ros.input_reliability", "QoS reliability of the image and camera-info subscriptions",
          choices=("reliable", "best_effort"), launch="input_reliability"),
    Param("ros.input_qos_depth", "history depth of the image and camera-info subscriptions", (1, 100)),
    Param("ros.output_qos_depth", "history depth of the reliable output publishers", (1, 1000)),
    Param("ros.camera_info_timeout", "seconds without CameraInfo before default intrinsics", (0.0, 60.0)),
    Param("ros.default_fov_deg", "horizontal field of view of the default intrinsics (deg)", (10.0, 170.0),
          launch="default_fov_deg"),
    Param("ros.intake_queue", "frames waiting for perception (oldest dropped when full)", (1, 1024)),
    Param("ros.estimate_queue", "perceived frames waiting for the per-frame estimate (oldest dropped when full)",
          (1, 64)),
    Param("ros.torch_threads", "torch CPU threads of the node's process (the window fits set their own)", (1, 64)),
    Param("ros.refine_process", "window fits in a child process (keeps the live path responsive)"),
    Param("ros.refine_nice", "CPU priority of that process below the node's (0 = same)", (0, 19)),
    Param("ros.fit_queue", "windows waiting for reconstruction (the newest warm-startable is fitted, older skipped)",
          (1, 16)),
    Param("ros.mesh_every", "mesh markers every N published windows (0 = never)", (0, 1000),
          launch="mesh_every"),
    Param("ros.mesh_resolution", "mesh markers: collision (decimated) | full",
          choices=("collision", "full")),
    Param("ros.publish_frames", "/humans/refined per window: new (one message per newly covered frame, "
          "oldest first) | last (the newest frame only)", choices=("new", "last")),
    Param("ros.contact_frames", "contacts from the newest N frames up to a message's frame "
          "(0 = 1 for publish_frames new, stride for last)", (0, 1024)),
    Param("ros.contact_min_probability", "contacts below this probability are not published", (0.0, 1.0)),
    Param("ros.min_confidence", "people below this confidence are not published", (0.0, 1.0)),
    Param("ros.publish_tf", "broadcast TF body_<id> frames", launch="publish_tf"),
    Param("ros.publish_bodies", "REP-155 per-body topics under /humans/bodies/"),
    Param("ros.max_bodies", "per-body publishers kept (least recently seen destroyed)", (1, 1000)),
    Param("ros.diagnostics_period", "seconds between /diagnostics messages", (0.05, 60.0)),
    Param("ros.diagnostics_window", "seconds over which /diagnostics counts rates and drops", (0.5, 600.0)),
    Param("ros.diagnostics_no_input", "seconds without an image before /diagnostics says ERROR", (0.1, 3600.0)),
    Param("ros.diagnostics_min_output_ratio", "published / received frames below this: ERROR", (0.0, 1.0)),
    Param("ros.diagnostics_warn_drop_share", "dropped / received frames above this: WARN", (0.0, 1.0)),
    Param("ros.marker_lifetime", "seconds RViz keeps a marker (0 = until replaced)", (0.0, 3600.0)),
)
BY_NAME = {p.name: p for p in PARAMS}
LAUNCH = {p.launch: p.name for p in PARAMS if p.launch}


def default(param: Param, config) -> Any:
    """The parameter's default: ``config``'s value, else ``Config()``'s (None -> ''), as the
    field's declared type (a float field written as an int is declared as a float)."""
    import dataclasses

    from interaction_recon.config import Config

    found = field_at(config, param.name) or field_at(Config(), param.name)
    if found is None:
        raise KeyError(f"parameter {param.name} is no field of interaction_recon.config.Config")
    obj, leaf = found
    value = getattr(obj, leaf)
    if value is None:
        return ""
    declared = next(f.type for f in dataclasses.fields(obj) if f.name == leaf)
    if str(declared) in ("float", "<class 'float'>") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def check(param: Param, value: Any) -> Any:
    """Validate one value against its declaration; returns the value for the config."""
    if param.choices and value not in param.choices:
        raise ValueError(f"parameter {param.name}: {value!r} is not one of {param.choices}")
    if param.range and not (param.range[0] <= value <= param.range[1]):
        raise ValueError(f"parameter {param.name}: {value} outside [{param.range[0]}, {param.range[1]}]")
    return value


def set_value(config, name: str, value: Any) -> bool:
    """Set config field ``name`` ('' -> None where the field is optional); False if absent here."""
    param = BY_NAME[name]
    check(param, value)
    found = field_at(config, name)
    if found is None:
        return False
    obj, leaf = found
    if value == "" and getattr(type(obj)(), leaf, "") is None:  # optional field: '' means None
        value = None
    setattr(obj, leaf, value)
    return True


def declare(node, config) -> None:
    """Declare every parameter on ``node`` with description, range and the config's default."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    for p in PARAMS:
        value = default(p, config)
        desc = ParameterDescriptor(description=p.description + (f" (one of {', '.join(p.choices)})"
                                                                   if p.choices else ""))
        if p.range is not None and isinstance(value, float):
            desc.floating_point_range = [FloatingPointRange(from_value=float(p.range[0]),
                                                            to_value=float(p.range[1]), step=0.0)]
        elif p.range is not None and isinstance(value, int) and not isinstance(value, bool):
            desc.integer_range = [IntegerRange(from_value=int(p.range[0]), to_value=int(p.range[1]), step=1)]
        node.declare_parameter(p.name, value, desc)


def apply(node, config) -> list[str]:
    """Copy the node's parameter values into ``config``; returns names this build ignores."""
    ignored = []
    for p in PARAMS:
        value = node.get_parameter(p.name).value
        if not set_value(config, p.name, value):
            ignored.append(p.name)
    return ignored


def flatten(tree: dict, prefix: str = "") -> dict:
    """Nested params-file dict -> {dotted name: value}."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def load_params_file(path, config, node_name: str = "interaction_recon") -> list[str]:
    """Apply a ROS params file (``config/live.yaml``) to ``config`` without a node (the CLI and
    tests); returns names this build ignores. Unknown names are an error."""
    from pathlib import Path

    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    section = data.get(node_name) or data.get("/**") or {}
    values = flatten(section.get("ros__parameters", {}))
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise ValueError(f"{path}: unknown parameter(s) {unknown}; known: see interaction_recon/ros/params.py")
    return [name for name, value in values.items() if not set_value(config, name, value)]


def coerce(param: Param, text: str) -> Any:
    """A launch-argument string -> the parameter's type (bool, int, float or str)."""
    from interaction_recon.config import Config

    kind = type(default(param, Config()))
    if kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError(f"parameter {param.name}: {text!r} is not a boolean")
        return lowered in ("true", "1")
    if kind in (int, float):
        return kind(text)
    return text


def default_params_file():
    """config/live.yaml of this checkout, else of the installed share folder, else None."""
    from pathlib import Path

    here = Path(__file__).resolve().parents[2] / "config" / "live.yaml"
    if here.exists():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory

        shared = Path(get_package_share_directory("interaction_recon")) / "config" / "live.yaml"
        return shared if shared.exists() else None
    except (ImportError, LookupError, ValueError, OSError):
        return None


DOC_BEGIN, DOC_END = "<!-- params: generated by interaction_recon/ros/params.py -->", "<!-- /params -->"


def markdown_table(config) -> str:
    """Every parameter as a Markdown table: name, default, meaning (with range or choices)."""
    rows = ["| parameter | default | meaning |", "|---|---|---|"]
    for p in PARAMS:
        value = default(p, config)
        limits = f" [{p.range[0]}, {p.range[1]}]" if p.range else ""
        launch = f"; launch argument `{p.launch}`" if p.launch else ""
        rows.append(f"| `{p.name}` | `{value!r}` | {p.description.replace('|', '/')}{limits}{launch} |")
    return "\n".join(rows) + "\n"


def names_by_section() -> str:
    """Every parameter name, grouped by config section, one line per section (for the README)."""
    sections: dict[str, list[str]] = {}
    for p in PARAMS:
        head, rest = p.name.split(".", 1)
        sections.setdefault(head, []).append(rest)
    return "\n".join(f"- `{head}.`: " + ", ".join(f"`{n}`" for n in names) for head, names in sections.items()) + "\n"


def write_docs(root) -> None:
    """Replace the generated parameter blocks of README.md (names) and docs/ros.md (the table)."""
    from pathlib import Path

    from interaction_recon.config import Config

    for path, text in ((Path(root) / "README.md", names_by_section()), (Path(root) / "docs" / "ros.md",
                                                                        markdown_table(Config()))):
        body = path.read_text()
        if DOC_BEGIN not in body or DOC_END not in body:
            raise ValueError(f"{path} has no block {DOC_BEGIN} ... {DOC_END}")
        head, rest = body.split(DOC_BEGIN, 1)
        path.write_text(head + DOC_BEGIN + "\n" + text + DOC_END + rest.split(DOC_END, 1)[1])


if __name__ == "__main__":  # python -m interaction_recon.ros.params: rewrite the parameter docs
    from pathlib import Path

    write_docs(Path(__file__).resolve().parents[2])
