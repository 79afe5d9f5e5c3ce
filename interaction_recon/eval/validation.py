"""The validation suite: two-person clips made by other code than ``interaction_recon/synth``
(``../shared/validation``, or ``$INTERACTION_RECON_VALIDATION``), run as a user runs them.

    interaction-recon bench --suite validation --method default

Each clip's ``video.mp4`` goes through the real perception pipeline (cached per clip under
``<cache>/validation/``), then through the sliding-window reconstruction with the method's
configuration (``default`` is exactly what ``interaction-recon reconstruct`` does with no
options), and is scored against ``gt.npz`` by :func:`interaction_recon.eval.metrics.score_sequence`.
Results: ``benchmarks/results/validation-<method>.{json,md}``. Defaults are chosen here; the
method is developed on the dev suite. Nothing here is ever used for training.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.eval import metrics
from interaction_recon.fitting.floor import camera_pose
from interaction_recon.paths import PROJECT_ROOT

BOX_MARGIN = 0.1  # ground-truth boxes: the 2D joints' extent widened by this share of its height each side

# config/real-footage.yaml as overrides (a test keeps the two equal): two detector passes, the detector's
# keypoints fused, not where two people's boxes overlap or the two models agree on under a quarter of the joints
REAL_FOOTAGE = {"perception.detector_sizes": [256, 512], "perception.fuse_keypoints": True,
                "perception.keypoint_fuse_overlap": 0.3, "perception.keypoint_min_agreement": 0.25}
# the fusion without those guards (the experiments before them)
UNGUARDED = {"perception.keypoint_fuse_overlap": 1.0, "perception.keypoint_min_agreement": 0.0}
# fitting.keypoint_shift as measured on the dev renders (benchmarks/keypoint_offsets.py -> keypoint-offsets.json): how
# far along the limb the keypoint model puts the elbows, wrists, knees and ankles beyond the body model's own
DEV_KEYPOINT_SHIFT = [0.045, 0.094, 0.002, 0.039]

# Method -> overrides of the default Config (dotted paths below it). ``default`` is the
# embedded defaults; each ``no-*`` switches one term or stage of the default off, the others
# switch on one that was left off because it did not pay here.
METHODS: dict[str, dict] = {
    "default": {},
    "independent": {"fitting.two_person": False, "fitting.prior": "none"},
    "contact-from-fit": {"fitting.contact_from_fit": True},
    "no-penetration": {"fitting.weights.penetration": 0.0},
    "reprojection-sigma-0.1": {"fitting.reprojection_sigma": 0.1},
    "reprojection-sigma-0.2": {"fitting.reprojection_sigma": 0.2},
    "reprojection-sigma-0.03": {"fitting.reprojection_sigma": 0.03},
    "pose3d-smoothing-3": {"fitting.pose3d_smoothing": 3.0},
    "pose3d-smoothing-8": {"fitting.pose3d_smoothing": 8.0},
    "penetration-2": {"fitting.weights.penetration": 2.0},
    "ground": {"fitting.weights.ground": 10.0},
    "no-floor-sizing": {"fitting.floor_sizing": False},
    "no-prior": {"fitting.prior": "none"},
    "prior-any-distance": {"fitting.prior_max_distance": float("inf")},
    "no-pose3d": {"fitting.weights.pose3d": 0.0},
    "depth-witness": {"fitting.depth_witness_tolerance": 0.15},
    "reach-20": {"fitting.weights.reach": 20.0},
    # the hands drawn on the other person pulled within reach of them, the arm bent alone (fitting/reach.py)
    "reach-2": {"fitting.weights.reach": 2.0},
    "reach-5": {"fitting.weights.reach": 5.0},
    "planted-10": {"fitting.weights.planted": 10.0},
    "pose3d-body-frame": {"fitting.pose3d_frame": "body"},
    "planted-50": {"fitting.weights.planted": 50.0},
    "independent-planted-10": {"fitting.two_person": False, "fitting.prior": "none", "fitting.weights.planted": 10.0},
    "evidence": {"fitting.weights.evidence": 100.0},
    "evidence-long-alone": {"fitting.weights.evidence": 100.0, "fitting.iterations_alone": 40},
    "long-alone": {"fitting.iterations_alone": 40},
    "alone-60": {"fitting.iterations_alone": 60},
    "alone-60-iterations-80": {"fitting.iterations_alone": 60, "fitting.iterations": 80},
    "iterations-80": {"fitting.iterations": 80},  # the cold window's two-person stage twice as long, no pose
    "iterations-120": {"fitting.iterations": 120},
    # 64-frame windows (stride 32): the clips then run warm-started updates too, as a live stream does
    "window-64": {"fitting.window": 64},
    # the same with the warm updates' steps and refitted frames set: 20 over 64 (the default before 40 over 32),
    # 40 over 64, 20 over 32, 40 over 32 (the default's)
    "window-64-refit-64-warm-20": {"fitting.window": 64, "fitting.refit_frames": 64, "fitting.iterations_warm": 20},
    "window-64-warm-40": {"fitting.window": 64, "fitting.refit_frames": 64, "fitting.iterations_warm": 40},
    "window-64-refit-32": {"fitting.window": 64, "fitting.refit_frames": 32, "fitting.iterations_warm": 20},
    "window-64-refit-32-warm-40": {"fitting.window": 64, "fitting.refit_frames": 32, "fitting.iterations_warm": 40},
    "iterations-120-shape-10": {"fitting.iterations": 120, "fitting.weights.shape": 10.0},
    "pose3d-init": {"fitting.iterations_pose3d": 30},
    # the camera's pitch from the 3D landmarks' shins alone (fitting/floor.py pitch_from_shins; not mixed with the
    # assumed camera height's; the default mixes the two half and half, chosen by validation-shin-pitch-mean.json),
    # the assumed height's alone (the default before), and the default without the landmarks' torso turned to stand
    # along the floor's up (fitting/pose3d.py level_upright; run before the shins' pitch was on)
    "shin-pitch": {"fitting.shin_pitch": True, "fitting.shin_pitch_share": 1.0},
    "no-shin-pitch": {"fitting.shin_pitch": False},
    "no-level-torso": {"fitting.pose3d_level": False},
    "pose3d-depth-gain-1.3": {"fitting.pose3d_depth_gain": 1.3},
    "independent-no-pose3d": {"fitting.two_person": False, "fitting.prior": "none", "fitting.weights.pose3d": 0.0},
    "contact-map": {"fitting.contact.source": "learned"},
    "contact-map-no-pull": {"fitting.contact.source": "learned", "fitting.weights.contact": 0.0},
    "contact-map-strict": {"fitting.contact.source": "learned", "fitting.contact.enter": 0.7, "fitting.contact.leave": 0.5},
    # a hand on the other body in the image, checked against the fit (contact/proximity.py); pulled or only reported
    "contact-keypoints": {"fitting.contact.source": "keypoints"},
    "contact-keypoints-no-pull": {"fitting.contact.source": "keypoints", "fitting.weights.contact": 0.0},
    "contact-keypoints-held": {"fitting.contact.source": "keypoints", "fitting.weights.evidence": 100.0},
    "contact-keypoints-weak": {"fitting.contact.source": "keypoints", "fitting.weights.contact": 2.0},
    "contact-keypoints-weak-iterations-120": {"fitting.contact.source": "keypoints", "fitting.weights.contact": 2.0,
                                              "fitting.iterations": 120},
    # the camera's true height, pitch and roll over the floor given, as a robot knows them (KNOWN_CAMERA)
    "camera-pose": {},
    "camera-pose-sizing-only": {"fitting.weights.floor": 0.0},
    "camera-pose-floor-10": {"fitting.weights.floor": 10.0},
    # the run that chose fitting.iterations_known_floor, made before that knob (fitting.iterations then set the
    # two-person stage's steps with the pose given too; since, it scores as camera-pose)
    "camera-pose-iterations-80": {"fitting.iterations": 80},
    "camera-pose-planted-10": {"fitting.weights.planted": 10.0},
    "no-upright": {"fitting.weights.upright": 0.0},
    "two-detector-passes": {"perception.detector_sizes": [256, 512]},
    # a pair member back in view beside the other keeps the joints lying on the other's (the default before
    # perception.emerge_frames)
    "no-emerge-check": {"perception.emerge_frames": 0},
    "pair-camera": {"fitting.pair_camera": True},
    "independent-pair-camera": {"fitting.two_person": False, "fitting.prior": "none", "fitting.pair_camera": True},
    "pair-camera-no-floor-term": {"fitting.pair_camera": True, "fitting.weights.floor": 0.0},
    "keypoints-agreed-mean": {"perception.detector_sizes": [256, 512], "perception.fuse_keypoints": True,
                              "perception.keypoint_agreed": "mean", **UNGUARDED},
    "keypoints-agreed-detector": {"perception.detector_sizes": [256, 512], "perception.fuse_keypoints": True,
                                  "perception.keypoint_agreed": "detector", **UNGUARDED},
    "keypoints-agreed-top-down": {"perception.detector_sizes": [256, 512], "perception.fuse_keypoints": True,
                                  "perception.keypoint_agreed": "top-down", **UNGUARDED},
    "keypoints-fused": {"perception.fuse_keypoints": True, **UNGUARDED},
    # BlazePose on each crop alone, without its mirror image (the default before the flip test; validation-flip-test.json
    # and validation-independent-flip-test.json are the runs that chose the flip test, when it was not yet the default)
    "no-flip-test": {"perception.flip_test": False},
    # the perceived hand points (and foot points) left out of the fit: can they belong to the other person?
    "no-hand-points": {"fitting.ignored_keypoints": [f"{s}_{p}" for s in ("left", "right") for p in ("pinky", "index", "thumb")]},
    "no-hand-foot-points": {"fitting.ignored_keypoints": [f"{s}_{p}" for s in ("left", "right")
                                                          for p in ("pinky", "index", "thumb", "heel", "foot_index")]},
    # the same, guarded where two people overlap (real-footage.yaml's fusion, one detector pass)
    "keypoints-fused-guarded": {k: v for k, v in REAL_FOOTAGE.items() if k != "perception.detector_sizes"},
    "floor-tolerance-5": {"fitting.floor_sizing_tolerance": 5.0},
    "floor-sizing-up-pitch": {"fitting.floor_sizing_up": "pitch"},
    # the pair's overall size from an adult's standing height (m) instead of the body model's average body
    "pair-stature-1.65": {"fitting.pair_stature": 1.65},
    "pair-stature-1.70": {"fitting.pair_stature": 1.70},
    "pair-stature-1.70-up-pitch": {"fitting.pair_stature": 1.70, "fitting.floor_sizing_up": "pitch"},
    "pair-stature-1.70-up-pitch-iterations-80": {"fitting.pair_stature": 1.70, "fitting.floor_sizing_up": "pitch",
                                                 "fitting.iterations": 80},
    "pose3d-1": {"fitting.weights.pose3d": 1.0},
    "pose3d-2": {"fitting.weights.pose3d": 2.0},
    "pose-prior-0": {"fitting.weights.pose_prior": 0.0},  # no pull towards the rest pose (does it flatten the limbs?)
    "pose3d-depth-sign": {"fitting.pose3d_frame": "depth-sign"},  # the landmarks' depth sign only, not their flat depth
    "keypoint-shift": {"fitting.keypoint_shift": DEV_KEYPOINT_SHIFT},
    "reprojection-3": {"fitting.weights.reprojection": 3.0},  # the 2D evidence against every prior (flat limbs?)
    "shape-0.05": {"fitting.weights.shape": 0.05},
    "shape-10": {"fitting.weights.shape": 10.0},
    "shape-sized-3": {"fitting.weights.shape_sized": 3.0},  # only towards the sized bodies
    # the shape term centred on the model's average body (the default before fitting.shape_prior_sized;
    # validation-shape-prior-sized.json is the run that chose it, when it was not yet the default)
    "no-shape-prior-sized": {"fitting.shape_prior_sized": False},
    "upright-5": {"fitting.weights.upright": 5.0},
    "upright-10": {"fitting.weights.upright": 10.0},
    "independent-no-upright": {"fitting.two_person": False, "fitting.prior": "none", "fitting.weights.upright": 0.0},
    "camera-pose-no-upright": {"fitting.weights.upright": 0.0},
    "camera-pose-no-sizing": {"fitting.floor_sizing": False},
    "camera-pose-upright-10": {"fitting.weights.upright": 10.0},
    "camera-pose-upright-50": {"fitting.weights.upright": 50.0},
    # the BlazePose GHUM full landmark model (the default before the heavy one; the live node's)
    "full-landmarks": {"perception.blazepose_model": "full"},
    "independent-full-landmarks": {"fitting.two_person": False, "fitting.prior": "none",
                                   "perception.blazepose_model": "full"},
    # every reference person on the real images found and PCK@0.05 0.89 there (benchmarks/perception.py)
    "fused-two-passes": {"perception.detector_sizes": [256, 512], "perception.fuse_keypoints": True, **UNGUARDED},
    # the same, guarded where two people overlap (config/real-footage.yaml)
    "fused-two-passes-guarded": REAL_FOOTAGE,
    "independent-fused-two-passes-guarded": {"fitting.two_person": False, "fitting.prior": "none", **REAL_FOOTAGE},
    "independent-fused-two-passes": {"fitting.two_person": False, "fitting.prior": "none",
                                     "perception.detector_sizes": [256, 512], "perception.fuse_keypoints": True,
                                     **UNGUARDED},
    # the default with seeded Gaussian noise of 1 px on the perceived keypoints (JITTER): how far the suite's
    # numbers move under a change far below perception's own error, the spread any default change must beat
    "jitter-1px": {},
    "jitter-1px-draw-2": {},
}
JITTER = {"jitter-1px": (1.0, 1), "jitter-1px-draw-2": (1.0, 2)}  # method -> (px, noise draw)
KNOWN_CAMERA = tuple(m for m in METHODS if m.startswith("camera-pose"))  # methods given each clip's camera pose (gt R, C)


LANDMARKS = "landmarks"  # not a fit: the keypoint model's own 3D landmarks, scored as they come
# SMPL-24 joints the scorer uses, from BlazePose-33 landmarks (neck: mid-shoulder; head: nose)
_FROM_BLAZEPOSE = {"left_hip": ("left_hip",), "right_hip": ("right_hip",), "left_knee": ("left_knee",),
                   "right_knee": ("right_knee",), "left_ankle": ("left_ankle",), "right_ankle": ("right_ankle",),
                   "left_shoulder": ("left_shoulder",), "right_shoulder": ("right_shoulder",),
                   "left_elbow": ("left_elbow",), "right_elbow": ("right_elbow",), "left_wrist": ("left_wrist",),
                   "right_wrist": ("right_wrist",), "neck": ("left_shoulder", "right_shoulder"), "head": ("nose",),
                   "pelvis": ("left_hip", "right_hip")}


# the coarse part (body.skeleton.COARSE_PARTS, without side) a scripted contact joint touches with
_JOINT_PART = {"wrist": "hand", "hand": "hand", "elbow": "elbow", "shoulder": "shoulder", "collar": "shoulder",
               "knee": "knee", "ankle": "foot", "foot": "foot", "hip": "thigh"}
_CENTRAL_PART = {"head": "head", "neck": "neck", "spine3": "chest", "spine2": "chest", "spine1": "stomach", "pelvis": "waist"}


def joint_part(joint: str) -> str:
    """The coarse part of a scripted contact joint ("right_wrist" -> "right hand")."""
    if joint in _CENTRAL_PART:
        return _CENTRAL_PART[joint]
    side, _, name = joint.partition("_")
    if side not in ("left", "right") or name not in _JOINT_PART:
        raise ValueError(f"no coarse part for contact joint {joint!r}")
    return f"{side} {_JOINT_PART[name]}"


@dataclass
class ValidationScene:
    """One clip: its folder, ground truth in the scorer's keys (joints [2, T, 24, 3] camera
    frame m, joints2d [2, T, 24, 2] px, boxes [2, T, 4] px, K [3, 3], contact_pairs [N, 3])."""

    name: str
    root: Path
    gt: dict
    meta: dict

    @property
    def video(self) -> Path:
        return self.root / "video.mp4"


def default_root() -> Path:
    """``$INTERACTION_RECON_VALIDATION``, else ``../shared/validation`` beside the checkout."""
    return Path(os.environ.get("INTERACTION_RECON_VALIDATION", PROJECT_ROOT.parent / "shared" / "validation"))


def load_scene(root: Path) -> ValidationScene:
    """Read one clip folder (``gt.npz`` + ``meta.json``; see the suite's README)."""
    meta = json.loads((root / "meta.json").read_text())
    with np.load(root / "gt.npz") as data:
        raw = {k: data[k] for k in data.files}
    names = [str(n) for n in raw.get("joint_names", SMPL_JOINTS)]
    if names != list(SMPL_JOINTS):
        raise ValueError(f"{root}: joints are not in SMPL-24 order: {names}")
    j2d = raw["joints_2d"].astype(np.float64)
    lo, hi = j2d.min(2), j2d.max(2)  # [2, T, 2]
    pad = BOX_MARGIN * (hi[..., 1:] - lo[..., 1:])
    boxes = np.concatenate([lo - pad, hi + pad], -1)
    frames = np.flatnonzero(raw["contact"])
    scripted = meta.get("contact_parts", [])
    pairs = [(t, SMPL_JOINTS.index(a), SMPL_JOINTS.index(b)) for a, b in scripted for t in frames]
    parts = [(int(t), joint_part(a), joint_part(b)) for a, b in scripted for t in frames]
    gt = {"joints": raw["joints_cam"].astype(np.float64), "joints2d": j2d, "boxes": boxes, "K": raw["K"],
          "contact_pairs": np.array(pairs, np.int64).reshape(-1, 3), "contact_parts": parts, "R": raw["R"], "C": raw["C"]}
    return ValidationScene(root.name, root, gt, meta)


def load_suite(root: Path | None = None) -> list[ValidationScene]:
    root = Path(root) if root is not None else default_root()
    folders = sorted(p for p in root.iterdir() if (p / "gt.npz").exists()) if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(f"no validation clips (folders with gt.npz) under {root}")
    return [load_scene(p) for p in folders]


def perception_stamp(config, *code: Path) -> str:
    """16 hex digits naming a perceived track: the perception code (and the ``code`` folders,
    e.g. a generator's) and every field of ``config`` (a PerceptionConfig)."""
    import dataclasses
    import hashlib

    from interaction_recon import perception as package
    from interaction_recon.paths import code_stamp

    settings = json.dumps(dataclasses.asdict(config), sort_keys=True).encode()
    return hashlib.sha256(code_stamp(Path(package.__file__).parent, *code).encode() + settings).hexdigest()[:16]


def perceive(scene: ValidationScene, cache: Path, config=None):
    """The perception pipeline's :class:`PeopleTrack` of the clip (``config``: a
    PerceptionConfig, default the embedded one), cached under ``cache`` and keyed by the
    perception code and the config (a change in either re-runs it)."""
    from interaction_recon.config import PerceptionConfig
    from interaction_recon.perception.types import PeopleTrack
    from interaction_recon.perception.video import run_video

    config = config or PerceptionConfig()
    path = cache / "validation" / scene.name / f"perceived-{perception_stamp(config)}.npz"
    if path.exists():
        return PeopleTrack.load(path)
    track = run_video(scene.video, config, progress=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    track.save(path)
    return track


def configure(method: str):
    """The Config of ``method`` (the embedded defaults with its overrides)."""
    from interaction_recon.config import Config, override

    if method not in METHODS:
        raise ValueError(f"unknown validation method {method!r}; choose from {sorted(METHODS)}")
    return override(Config(), METHODS[method], f"config field (method {method})")


def landmark_joints(track, K: np.ndarray, min_confidence: float = 0.2) -> np.ndarray:
    """[2, T, 24, 3] camera-frame joints from the keypoint model's 3D landmarks alone (the 15
    joints of ``_FROM_BLAZEPOSE``, the rest NaN), each person's hip centre placed on its 2D hip
    centre at the body-size depth of :func:`interaction_recon.fitting.init.initial_params`
    (so only the root-relative metrics say much about them)."""
    from interaction_recon.body.skeleton import BLAZEPOSE33
    from interaction_recon.eval.bench import _models
    from interaction_recon.fitting import pose3d
    from interaction_recon.fitting.camera import back_project
    from interaction_recon.fitting.init import initial_params

    cam = pose3d.camera_landmarks(track.world, track.keypoints, track.confidence, K, min_confidence)
    _, depth = initial_params(_models()[0], track.keypoints, track.confidence, "blazepose33", K, min_confidence)
    hips = [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]
    centre = back_project(track.keypoints[:, :, hips].mean(2), depth, K)  # [2, T, 3]
    joints = np.full(cam.shape[:2] + (24, 3), np.nan)
    for name, sources in _FROM_BLAZEPOSE.items():
        joints[:, :, SMPL_JOINTS.index(name)] = cam[:, :, [BLAZEPOSE33.index(n) for n in sources]].mean(2)
    return (joints + centre[:, :, None]).astype(np.float32)


def evaluate(scene: ValidationScene, track, config, keep: Path | None = None) -> dict:
    """Reconstruct the perceived clip with ``config`` and score it (a flat metrics dict);
    the reconstruction is saved into the folder ``keep`` when given."""
    from interaction_recon.eval.bench import _models, penetration_depths
    from interaction_recon.fitting.stream import WindowStream, reconstruct_track

    stream = WindowStream(config, body=_models()[0])
    T = track.num_frames
    result, _ = reconstruct_track(track.keypoints, track.confidence, scene.gt["K"], config,
                                  stamps=np.arange(T) / track.fps, track_ids=track.slot_ids, stream=stream,
                                  world=track.world, everyone=track.everyone())
    if keep is not None:
        result.save(keep)
    pred = {"joints": result.joints, "penetration": penetration_depths(result), "K": result.K,
            "contact_parts": [(c.frame, c.part_a, c.part_b) for c in result.contacts]}
    gt = {k: scene.gt[k] for k in ("joints", "joints2d", "boxes", "K", "contact_pairs", "contact_parts")}
    row = metrics.score_sequence(pred, gt)
    known = np.isfinite(result.joints).all((-1, -2))
    row["published_share"] = float(known.mean())
    row["floor_error"] = floor_error(result.floor, scene.gt["R"])
    return row


def floor_error(plane: np.ndarray | None, R: np.ndarray) -> float:
    """Angle (deg) between a reconstruction's floor up (``plane`` [4] = up [3], height, camera
    frame; None: no floor) and the true one, the world's z [3] in the camera (``R`` [3, 3]
    world to camera); NaN without a floor."""
    if plane is None or not np.isfinite(plane[:3]).all():
        return float("nan")
    up = np.asarray(plane[:3], np.float64) / np.linalg.norm(plane[:3])
    return float(np.degrees(np.arccos(np.clip(up @ np.asarray(R, np.float64)[:, 2], -1.0, 1.0))))


HEADLINE = ("mpjpe", "pa_mpjpe", "inter", "reprojection_error", "contact_distance_error", "contact_distance_median",
            "contact_f1", "contact_precision", "contact_recall", "contact_false_frames", "depth_order_accuracy",
            "identity_swaps", "accel_error", "penetration_mean", "published_share", "root_position_error",
            "root_distance_error", "floor_error")


def run(method: str, cache: Path, out_dir: Path, root: Path | None = None, progress=None) -> dict:
    """Score ``method`` (or ``landmarks``) on every validation clip; write ``validation-<method>.{json,md}``."""
    config = None if method == LANDMARKS else configure(method)
    rows = []
    for scene in load_suite(root):
        t0 = time.perf_counter()
        track = perceive(scene, cache, None if config is None else config.perception)
        if method in JITTER:
            track = jittered(track, *JITTER[method], scene.name)
        t1 = time.perf_counter()
        if config is None:
            gt = {k: scene.gt[k] for k in ("joints", "joints2d", "boxes", "K", "contact_pairs")}
            row = metrics.score_sequence({"joints": landmark_joints(track, scene.gt["K"]), "K": scene.gt["K"]}, gt)
        else:
            if method in KNOWN_CAMERA:
                fc = config.fitting
                fc.camera_height, fc.camera_pitch, fc.camera_roll = camera_pose(scene.gt["R"], scene.gt["C"])
            row = evaluate(scene, track, config, keep=cache / "validation" / scene.name / method)
        rows.append({"scene": scene.name, "frames": track.num_frames, "seconds_perception": round(t1 - t0, 1),
                     "seconds_fit": round(time.perf_counter() - t1, 1), **row})
        if progress:
            progress(1)
    from interaction_recon.eval.bench import _mean

    overall = {m: _mean(r.get(m) for r in rows) for m in HEADLINE}
    from interaction_recon.eval.bench import git_commit

    result = {"suite": "validation", "method": method, "overrides": METHODS.get(method, "the 3D landmarks, no fit"),
              "commit": git_commit(),
              "scenes": rows,
              "overall": overall, "load": os.getloadavg()[0]}
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"validation-{method}"  # method names may hold dots: no Path.with_suffix
    (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown_table(result))
    return result


def jittered(track, px: float, draw: int, name: str):
    """A copy of ``track`` with seeded Gaussian noise of ``px`` (sigma, image px) on its keypoints
    [2, T, 33, 2]; the seed is the draw and the clip's name, so a re-run repeats it."""
    from dataclasses import replace

    rng = np.random.default_rng([draw, *name.encode()])
    noise = rng.normal(0.0, px, track.keypoints.shape).astype(track.keypoints.dtype)
    return replace(track, keypoints=track.keypoints + noise)


def markdown_table(result: dict) -> str:
    from interaction_recon.eval.bench import format_value

    lines = [f"# validation / {result['method']}", "",
             f"overrides of the defaults: {result['overrides'] or 'none'}; mm for 3D errors, px for reprojection, "
             "contact distance at true contact frames, share for depth order (METRICS.md)", "",
             "| scene | " + " | ".join(HEADLINE) + " |", "|---" * (len(HEADLINE) + 1) + "|"]
    for row in result["scenes"] + [{"scene": "**mean**", **result["overall"]}]:
        lines.append(f"| {row['scene']} | " + " | ".join(format_value(row.get(m)) for m in HEADLINE) + " |")
    return "\n".join(lines) + "\n"


def comparison_table(results: list[dict]) -> str:
    """One row per method (means over the clips), for the README and the closing note."""
    from interaction_recon.eval.bench import format_value

    lines = ["| method | code | " + " | ".join(HEADLINE) + " |", "|---" * (len(HEADLINE) + 2) + "|"]
    for r in results:
        code = r.get("commit") or "before 453b9fc (no contact evidence)"
        lines.append(f"| {r['method']} | {code} | " + " | ".join(format_value(r["overall"].get(m)) for m in HEADLINE) + " |")
    return "\n".join(lines) + "\n"
