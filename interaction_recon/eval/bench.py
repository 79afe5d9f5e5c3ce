"""Benchmark harness: run a method over a suite of synthetic clips and score it.

    interaction-recon bench --suite smoke --method lift-height-depth

Suites are generated deterministically from their seeds and cached in
``<cache>/synth/<suite>/`` (regenerated when the suite or the generator's code changes);
results go to ``benchmarks/results/<suite>-<method>.{json,md,png}``.
A method is a function ``(scene, rng) -> prediction dict`` (keys as in
:func:`interaction_recon.eval.metrics.score_sequence`); register it in ``METHODS``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from interaction_recon.eval import metrics
from interaction_recon.eval.validation import DEV_KEYPOINT_SHIFT, REAL_FOOTAGE, UNGUARDED
from interaction_recon.fitting.camera import back_project
from interaction_recon.paths import PROJECT_ROOT, code_stamp
from interaction_recon.synth import dataset, observe
from interaction_recon.synth.specs import INTERACTIONS

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


HELDOUT_KINDS = ("handshake", "hug", "hug_from_behind", "push", "high_five", "whisper")


@dataclass(frozen=True)
class Suite:
    """Which clips a suite holds, and how they are made."""

    kinds: tuple[str, ...]
    seeds: tuple[int, ...]
    images: bool
    size: tuple[int, int] = (512, 512)
    hide_frames: int = 0  # person 1 unobserved for this many frames around the middle of the contact
    clips: str | None = None  # use the clips of this suite (same kinds and seeds)


SUITES = {
    "smoke": Suite(kinds=("handshake", "hug"), seeds=(0,), images=False, size=(256, 256)),
    "dev": Suite(kinds=INTERACTIONS, seeds=(100,), images=True),
    "full": Suite(kinds=INTERACTIONS, seeds=(200, 201, 202, 203, 204), images=True),
    # Depth-ambiguous interactions: one person largely behind the other, or side by side close.
    "ambiguous": Suite(kinds=("hug_from_behind", "side_hug", "arm_in_arm_walk", "whisper", "hug"), seeds=(300,), images=True),
    # Held out from the prior's training data (seeds 0-19, validation 10000-10001), ground truth only.
    "heldout": Suite(kinds=HELDOUT_KINDS, seeds=(500,), images=False),
    "heldout-hidden": Suite(kinds=HELDOUT_KINDS, seeds=(500,), images=False, hide_frames=40, clips="heldout"),
}

# Metrics shown in the Markdown table and plots, in this order.
HEADLINE = ("mpjpe", "pa_mpjpe", "inter", "accel_error", "penetration_mean", "penetration_max",
            "contact_distance_error", "contact_distance_median", "contact_f1", "contact_precision", "contact_recall",
            "contact_false_frames", "depth_order_accuracy", "seam_jump_mm", "live_seam_jump_mm", "reprojection_error",
            "identity_swaps", "root_position_error", "root_distance_error")


def _observed_smpl24(scene: dataset.Scene, rng: np.random.Generator, preset: str) -> observe.Observations:
    gt = scene.gt
    return observe.simulate(gt["joints2d"], gt["visible_joints"], gt["boxes"], "smpl24", observe.PRESETS[preset], rng)


def lift_fixed_depth(scene: dataset.Scene, rng: np.random.Generator, preset: str = "noisy") -> dict:
    """Trivial baseline: simulated 2D joints back-projected flat at 3 m."""
    obs = _observed_smpl24(scene, rng, preset)
    depth = np.full(obs.keypoints.shape[:2], 3.0)
    return {"joints": back_project(obs.keypoints, np.broadcast_to(depth[..., None], obs.keypoints.shape[:-1]), scene.gt["K"]).astype(np.float32)}


def lift_height_depth(scene: dataset.Scene, rng: np.random.Generator, preset: str = "noisy") -> dict:
    """Trivial baseline: simulated 2D joints back-projected flat at the depth where a 1.7 m
    person would be as tall as the 2D joints' head-to-ankle extent (x 1.15 for head top)."""
    obs = _observed_smpl24(scene, rng, preset)
    extent = 1.15 * (obs.keypoints[..., 1].max(-1) - obs.keypoints[..., 1].min(-1))
    depth = scene.gt["K"][1, 1] * 1.7 / np.clip(extent, 10.0, None)
    return {"joints": back_project(obs.keypoints, np.broadcast_to(depth[..., None], obs.keypoints.shape[:-1]), scene.gt["K"]).astype(np.float32)}


# Detector-like but identity-stable observations for the fitting methods: pixel noise, a few
# missed joints, unsure occluded joints; no flips or swaps (the tracker's job, measured apart).
FITTING_OBSERVATIONS = observe.ObservationConfig(noise=0.01, occluded_noise=0.03, miss=0.01, flip=0.0, swap=0.0)
_MODELS: dict = {}


def _models():
    """The body model and collider shared by every fitting method (built once)."""
    if not _MODELS:
        from interaction_recon.body import create
        from interaction_recon.body.collision import BodyCollider

        _MODELS["body"] = create()
        _MODELS["collider"] = BodyCollider(_MODELS["body"])
    return _MODELS["body"], _MODELS["collider"]


def _perception(overrides: dict) -> dict:
    """Validation-method overrides ({"perception.x": v}) as perception settings ({"x": v})."""
    return {k.removeprefix("perception."): v for k, v in overrides.items() if k.startswith("perception.")}


def _perceived(scene: dataset.Scene, config=None):
    """The real perception pipeline's :class:`~interaction_recon.perception.PeopleTrack` of the
    rendered frames (``config``: a PerceptionConfig, default the embedded one; without masks),
    cached next to a stored clip per perception code and config, so several methods share one
    perception pass."""
    from interaction_recon.config import PerceptionConfig
    from interaction_recon.eval.validation import perception_stamp
    from interaction_recon.perception import PeopleTrack, Perception
    from interaction_recon.synth import world

    config = config or PerceptionConfig()
    stamp = perception_stamp(config, Path(world.__file__).parent)
    cache = scene.root / f"perceived-{stamp}.npz" if scene.root is not None else None
    if cache is not None and cache.exists():
        return PeopleTrack.load(cache)
    perception = Perception(config)
    track = PeopleTrack.from_frames([perception(scene.frame(t)) for t in range(scene.num_frames)], scene.meta.get("fps", 30.0))
    track.masks = None
    if cache is not None:
        track.save(cache)
    return track


def _fit_memo(scene: dataset.Scene, *arrays: np.ndarray, key: str) -> Path | None:
    """Where the window optimiser's fit of a cached clip from these observations is kept:
    keyed by the observations, the method's ``key`` (mode, prior and its weights, settings)
    and the code of the fitting, body, prior and contact layers, the shipped contact map and
    the config (:func:`~interaction_recon.paths.code_stamp`), so a
    method that refines the motion-only fit (``two-person+appearance``) reuses the one
    ``two-person`` made. None for a clip in memory."""
    if scene.root is None:
        return None
    package = Path(__file__).resolve().parents[1]
    code = code_stamp(*(package / layer for layer in ("fitting", "body", "prior", "contact", "config.py")),
                       package / "contact" / "checkpoints" / "default.pt")
    digest = hashlib.sha256((code + key).encode())
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    return scene.root / "fits" / digest.hexdigest()[:16]


def rendered_depth(gt: dict, t: int, height: int, width: int) -> np.ndarray:
    """Camera z [H, W] (m, inf where empty) of a clip's two true bodies (``scene.gt``) at frame ``t``."""
    import torch

    from interaction_recon.body.model import BodyParams
    from interaction_recon.render.raster import rasterize

    body = _models()[0]
    params = BodyParams(*(torch.as_tensor(gt[k][:, t:t + 1], dtype=torch.float32)
                          for k in ("global_orient", "body_pose", "transl")), torch.as_tensor(gt["shape"], dtype=torch.float32))
    with torch.no_grad():
        verts = body(params, full_mesh=True, collision=False).vertices[:, 0]  # [2, V, 3]
        faces = torch.cat([body.faces, body.faces + verts.shape[1]])
        K = torch.as_tensor(gt["K"], dtype=torch.float32)
        return rasterize(verts.reshape(-1, 3), faces, K, height, width).depth.numpy()


def sensor_depths(scene: dataset.Scene, rng: np.random.Generator) -> np.ndarray:
    """Each person's distance [2, T] (m, NaN where none) as the product measures it from an
    RGB-D camera: the true bodies rendered to depth, degraded like a sensor
    (:func:`~interaction_recon.synth.observe.sensor_depth`), the median under each person's
    rendered mask (:func:`~interaction_recon.perception.depth.person_depths`)."""
    from interaction_recon.perception.depth import person_depths, to_metres

    labels = scene.load_masks()
    H, W = labels.shape[1:]
    out = np.full((2, scene.num_frames), np.nan, np.float32)
    boxes = np.zeros((2, 4))  # used only without masks
    for t in range(scene.num_frames):
        measured = to_metres(observe.sensor_depth(rendered_depth(scene.gt, t, H, W), rng), "16UC1")
        masks = np.stack([labels[t] == p + 1 for p in range(2)]).astype(np.float32)
        out[:, t] = person_depths(measured, masks, boxes)
    return out


def fit_window_method(scene: dataset.Scene, rng: np.random.Generator, two_person: bool, source: str = "simulated",
                      refine=None, prior: str = "none", settings: dict | None = None, depth: bool = False,
                      perception: dict | None = None, jitter: float = 0.0) -> dict:
    """The window optimiser over the whole clip (sliding windows, warm start) from simulated
    BlazePose-33 observations or from the perception pipeline on the rendered frames, with
    the proxemics ``prior`` mode of ``fitting.prior`` and ``settings`` ({field: value} of
    ``fitting``, ``weights.<name>`` for a weight); person 1 is unobserved over
    ``scene.meta["hidden"]`` when a suite says so; ``depth``: with each person's distance from
    a simulated RGB-D camera (:func:`sensor_depths`); ``jitter``: px of seeded Gaussian noise
    added to the perceived keypoints (how far the fit moves under a change much smaller than the
    perception's own error). ``refine(reconstruction) -> reconstruction`` (e.g. the appearance
    stage) runs on its result."""
    from interaction_recon.config import Config, override
    from interaction_recon.fitting.result import Reconstruction
    from interaction_recon.fitting.stream import WindowStream, reconstruct_track

    body, collider = _models()
    config = Config()
    config.fitting.two_person = two_person
    config.fitting.prior = prior
    override(config.fitting, settings or {}, "fitting setting")
    override(config.perception, perception or {}, "perception setting")
    gt = scene.gt
    world = everyone = None
    if source == "perception":
        track = _perceived(scene, config.perception)
        keypoints, confidence, ids, world, everyone = (track.keypoints, track.confidence, track.slot_ids, track.world,
                                                       track.everyone())
        if jitter:
            keypoints = keypoints + rng.normal(0.0, jitter, keypoints.shape).astype(keypoints.dtype)
    else:
        obs = observe.simulate(gt["blazepose33_2d"], gt["visible_blazepose33"], gt["boxes"], "blazepose33",
                               FITTING_OBSERVATIONS, rng)
        keypoints, confidence, ids = obs.keypoints, obs.confidence, np.array([0, 1])
    sensor = sensor_depths(scene, rng) if depth else None
    if sensor is not None and source != "perception":
        sensor[:, obs.swapped] = sensor[::-1, obs.swapped]  # follow the simulated identity swaps
    if "hidden" in scene.meta:
        start, stop = scene.meta["hidden"]
        confidence = confidence.copy()
        confidence[1, start:stop] = 0.0
    stream = WindowStream(config, body=body)
    key = f"{two_person} {prior} {sorted((settings or {}).items())}" + (" depth" if depth else "")
    if prior != "none":  # the prior's weights are data, not code: they key the fit too
        from interaction_recon.prior.guidance import DEFAULT_CHECKPOINT

        key += " " + code_stamp(Path(config.fitting.prior_path or DEFAULT_CHECKPOINT).resolve())
    memo = _fit_memo(scene, keypoints, confidence, gt["K"], key=key) if source == "simulated" else None
    if memo is not None and (memo / "results.npz").exists():
        result = Reconstruction.load(memo / "results.npz")
        seams = {k: v.item() for k, v in np.load(memo / "seams.npz").items()}
    else:
        result, windows = reconstruct_track(keypoints, confidence, gt["K"], config, track_ids=ids, stream=stream,
                                            world=world, depth=sensor, everyone=everyone)
        seams = _seam_jumps(result, windows, config)
        if memo is not None:
            memo.mkdir(parents=True, exist_ok=True)
            np.savez(memo / "seams.npz", **seams)
            result.save(memo)
    if refine is not None:
        result = refine(result)
    return {"joints": result.joints, "penetration": penetration_depths(result),
            "contact_parts": [(c.frame, c.part_a, c.part_b) for c in result.contacts],
            "extra": seams}


def penetration_depths(result) -> np.ndarray:
    """[2, T, Vc] m: each body's collision-vertex depths inside the other in a Reconstruction."""
    import torch

    body, collider = _models()
    with torch.no_grad():
        params = result.params()
        return collider.penetration(body(params), collider.rest(params)).numpy()


def _seam_jumps(result, windows: list, config) -> dict:
    """Seam jumps (mm) of the stitched ``result`` and of the live (published) one, and the window count."""
    from interaction_recon.fitting.stream import published, seam_jump, stitched_seams

    joints, seams = published(windows, config.fitting.stride)
    return {"seam_jump_mm": seam_jump(result.joints, stitched_seams(windows, config.fitting.refit_frames)),
            "live_seam_jump_mm": seam_jump(joints, seams), "windows": len(windows)}


def appearance_method(scene: dataset.Scene, rng: np.random.Generator) -> dict:
    """``two-person``, then the appearance stage (:func:`~interaction_recon.appearance.refine.refine_with_appearance`)
    against the clip's rendered frames and union masks; writes its picture of the frame where the
    two people overlap most to ``RESULTS_DIR/<suite clips>-appearance_<scene>.png``."""
    from interaction_recon.appearance.refine import refine_with_appearance, save_picture
    from interaction_recon.config import Config

    body, collider = _models()
    frames = np.stack([scene.frame(t) for t in range(scene.num_frames)])

    def refine(result):
        info = {}
        refined = refine_with_appearance(result, frames, scene.load_masks(), scene.gt["K"], body, Config().appearance,
                                         info=info, collider=collider)
        if "picture" in info and scene.root is not None:
            save_picture(RESULTS_DIR / f"{scene.root.parent.name}-appearance_{scene.name}.png", info["picture"], scene.name)
        return refined

    return fit_window_method(scene, rng, two_person=True, refine=refine)


def camera_height(scene: dataset.Scene) -> float:
    """The clip's camera height above its floor (m; world y is up, the floor at y = 0), the
    median over frames: what a robot knows of its camera mount (``fitting.camera_height``)."""
    centres = -np.einsum("tji,tj->ti", scene.gt["R"], scene.gt["t"])
    return float(np.median(centres[:, 1]))


NO_ITERATIONS = {"iterations_rigid": 0, "iterations_alone": 0, "iterations": 0, "iterations_warm": 0, "floor_sizing": False}
NO_PHYSICS = {"weights.penetration": 0.0, "weights.contact": 0.0, "weights.ground": 0.0, "floor_sizing": False}
METHODS = {
    "lift-fixed-depth": lift_fixed_depth,
    "lift-height-depth": lift_height_depth,
    "independent": lambda scene, rng: fit_window_method(scene, rng, two_person=False),
    "two-person": lambda scene, rng: fit_window_method(scene, rng, two_person=True),
    "independent-perception": lambda scene, rng: fit_window_method(scene, rng, False, "perception"),
    "two-person-perception": lambda scene, rng: fit_window_method(scene, rng, True, "perception"),
    "two-person+appearance": appearance_method,
    # The camera's height above the floor known (a robot's mount): both people sized absolutely.
    "two-person+camera-height": lambda scene, rng: fit_window_method(
        scene, rng, True, settings={"camera_height": round(camera_height(scene), 3)}),
    "two-person+prior": lambda scene, rng: fit_window_method(scene, rng, True, prior="regulariser"),
    "two-person+prior-closeapp": lambda scene, rng: fit_window_method(scene, rng, True, prior="closeapp"),
    # the default with each person's distance from a simulated RGB-D camera (fitting.weights.depth_sensor)
    "two-person+prior-closeapp+depth": lambda scene, rng: fit_window_method(scene, rng, True, prior="closeapp",
                                                                            depth=True),
    # the same with the shape term centred on the model's average body (before fitting.shape_prior_sized)
    "two-person+prior-closeapp+depth-no-shape-prior-sized": lambda scene, rng: fit_window_method(
        scene, rng, True, prior="closeapp", depth=True, settings={"shape_prior_sized": False}),
    # the default without the upright term (no pitch estimated from fitting.assumed_camera_height)
    "two-person+prior-closeapp-no-upright": lambda scene, rng: fit_window_method(
        scene, rng, True, prior="closeapp", settings={"weights.upright": 0.0}),
    # the default with the learned contact map (fitting.contact.source: learned), pulled or only reported
    "contact-map": lambda scene, rng: fit_window_method(scene, rng, True, prior="closeapp",
                                                        settings={"contact.source": "learned"}),
    "contact-map-no-pull": lambda scene, rng: fit_window_method(
        scene, rng, True, prior="closeapp", settings={"contact.source": "learned", "weights.contact": 0.0}),
    # the default with a hand's proximity in the image as contact evidence (fitting.contact.source: keypoints),
    # only reported
    "contact-keypoints-no-pull": lambda scene, rng: fit_window_method(
        scene, rng, True, prior="closeapp", settings={"contact.source": "keypoints", "weights.contact": 0.0}),
    # What `reconstruct` does with no options, from the real perception on the rendered frames
    "default-perception": lambda scene, rng: fit_window_method(scene, rng, True, "perception", prior="closeapp"),
    # the same with the BlazePose GHUM full / heavy landmark model (perception.blazepose_model)
    "default-perception-full": lambda scene, rng: fit_window_method(scene, rng, True, "perception", prior="closeapp",
                                                                    perception={"blazepose_model": "full"}),
    "default-perception-heavy": lambda scene, rng: fit_window_method(scene, rng, True, "perception", prior="closeapp",
                                                                     perception={"blazepose_model": "heavy"}),
    # the default with the fit's limb ends moved as the keypoint model places them (validation keypoint-shift)
    "default-perception-keypoint-shift": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"keypoint_shift": DEV_KEYPOINT_SHIFT}),
    # the pair's overall size from an adult's standing height, their size ratio from the feet along the pitch's
    # up (validation pair-stature-1.70-up-pitch)
    "default-perception-pair-stature-1.70-up-pitch": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"pair_stature": 1.70, "floor_sizing_up": "pitch"}),
    # the same with 1 px of noise on the perceived keypoints: the dev suite's own spread under a tiny change
    "default-perception-jitter-1px": lambda scene, rng: fit_window_method(scene, rng, True, "perception",
                                                                          prior="closeapp", jitter=1.0),
    "default-perception-jitter-1px-draw-2": lambda scene, rng: fit_window_method(
        scene, np.random.default_rng(rng.integers(1 << 32) + 1), True, "perception", prior="closeapp", jitter=1.0),
    # the default without the check on a pair member back in view beside the other (validation no-emerge-check)
    "default-perception-no-emerge-check": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", perception={"emerge_frames": 0}),
    # the default with two detector passes, 256 and 512 px (validation two-detector-passes)
    "default-perception-two-passes": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", perception={"detector_sizes": [256, 512]}),
    # the default with two detector passes and MoveNet/BlazePose keypoints fused (validation fused-two-passes)
    "default-perception-fused-two-passes": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp",
        perception={"detector_sizes": [256, 512], "fuse_keypoints": True, **_perception(UNGUARDED)}),
    # the same, fusion skipped for overlapping boxes and mixed detections (validation fused-two-passes-guarded)
    "default-perception-fused-two-passes-guarded": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp",
        perception=_perception(REAL_FOOTAGE)),
    # BlazePose on each crop alone, without its mirror image (the default before the flip test, which
    # dev-default-perception-flip-test.json measured as an option; validation no-flip-test)
    "default-perception-no-flip-test": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", perception={"flip_test": False}),
    # the shape term centred on the sized bodies: the run that chose fitting.shape_prior_sized (now the default)
    "default-perception-shape-prior-sized": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"shape_prior_sized": True}),
    # the camera's height from the pair's boxes at the shins' pitch, used as a known pose (validation pair-camera)
    "default-perception-pair-camera": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"pair_camera": True}),
    # the cold window's two-person stage three times as long (validation iterations-120)
    "default-perception-iterations-120": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"iterations": 120}),
    # the shape held ten times as firmly to the sized bodies (validation shape-10)
    "default-perception-shape-10": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"weights.shape": 10.0}),
    # the sized bodies (only they) held three times as firmly (validation shape-sized-3)
    "default-perception-shape-sized-3": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"weights.shape_sized": 3.0}),
    # the same with the shape held ten times as firmly to the sized bodies (validation iterations-120-shape-10)
    "default-perception-iterations-120-shape-10": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"iterations": 120, "weights.shape": 10.0}),
    # warm updates that refit only the newest stride of frames, twice as long (validation window-64-refit-32-warm-40):
    # the run that chose them (now the default); the warm path before them (validation window-64-refit-64-warm-20)
    "default-perception-refit-32-warm-40": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"refit_frames": 32, "iterations_warm": 40}),
    # 20 steps over the newest 32 frames, half the work of either (validation window-64-refit-32)
    "default-perception-refit-32-warm-20": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"refit_frames": 32, "iterations_warm": 20}),
    "default-perception-refit-64-warm-20": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"refit_frames": 64, "iterations_warm": 20}),
    # the pitch from the landmarks' shins alone and their torso turned to the floor's up (validation shin-pitch), and
    # the torso turned alone, the pitch from the assumed camera height (the run that chose the turned torso; the
    # default before the shins' pitch was mixed in)
    "default-perception-shin-pitch-level-torso": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"shin_pitch": True, "shin_pitch_share": 1.0,
                                                                    "pose3d_level": True}),
    "default-perception-no-shin-pitch": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"shin_pitch": False, "pose3d_level": True}),
    # the shins' pitch mixed half and half with the assumed camera height's (validation shin-pitch-mean): the run
    # that chose it (now the default)
    "default-perception-shin-pitch-mean": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"shin_pitch": True, "shin_pitch_share": 0.5}),
    # the hands drawn on the other person pulled within reach of them, the arm bent alone (validation reach-2)
    "default-perception-reach-2": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp", settings={"weights.reach": 2.0}),
    # guarded fusion with one detector pass (validation keypoints-fused-guarded)
    "default-perception-fused-guarded": lambda scene, rng: fit_window_method(
        scene, rng, True, "perception", prior="closeapp",
        perception={k: v for k, v in _perception(REAL_FOOTAGE).items() if k != "detector_sizes"}),
    # CloseApp's ablation: the initialisation alone, the optimiser without the prior (two-person),
    # the prior without the physical terms, and everything (two-person+prior*).
    "initial": lambda scene, rng: fit_window_method(scene, rng, True, settings=NO_ITERATIONS),
    "prior-no-physics": lambda scene, rng: fit_window_method(scene, rng, True, prior="regulariser", settings=NO_PHYSICS),
}


def suite_scenes(name: str, cache_root: Path, progress=None) -> list[dataset.Scene]:
    """The suite's clips, generated into ``cache_root/synth/<name or suite.clips>`` on first use."""
    from interaction_recon.synth import world

    suite = SUITES[name]
    name = suite.clips or name
    root = cache_root / "synth" / name
    stamp = root / "suite.json"
    code = world_stamp()  # clips are stale once the generator's code changes
    clips = {k: v for k, v in asdict(suite).items() if k not in ("hide_frames", "clips")}  # what makes the clips
    spec = json.dumps({**clips, "generator": code}, sort_keys=True)
    if stamp.exists() and stamp.read_text() == spec:
        return dataset.load_dataset(root)
    jobs = [(k, s) for k in suite.kinds for s in suite.seeds]
    scenes = world.write_dataset(root, jobs, size=suite.size, images=suite.images, progress=progress)
    stamp.write_text(spec)
    return scenes


def world_stamp() -> str:
    """Hash of the synthetic world's generator code (interaction_recon/synth and the renderer,
    interaction_recon/render): clips, and the scores measured on them, are comparable only
    under the same stamp."""
    from interaction_recon import render
    from interaction_recon.synth import world

    return code_stamp(Path(world.__file__).parent, Path(render.__file__).parent)


def git_commit() -> str | None:
    """The checkout's commit (short hash, "+" when tracked files other than the result files
    have changes), None outside git."""
    import subprocess

    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=PROJECT_ROOT, capture_output=True, text=True,  # noqa: E731
                                        timeout=10, check=True).stdout.strip()
        changed = run("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results", ":!README.md",
                      ":!docs")
        return run("rev-parse", "--short", "HEAD") + ("+" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _mean(values) -> float:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def hidden_span(scene: dataset.Scene, frames: int) -> list[int]:
    """[start, stop) of ``frames`` frames centred on the middle of the clip's contact (of the
    clip when it has none): where a suite with ``hide_frames`` leaves person 1 unobserved."""
    touching = np.unique([f for f, _, _ in scene.gt["contact_parts"]])
    centre = int(np.median(touching)) if len(touching) else scene.num_frames // 2
    start = int(np.clip(centre - frames // 2, 0, max(0, scene.num_frames - frames)))
    return [start, min(scene.num_frames, start + frames)]


def run(suite: str, method: str, cache_root: Path, out_dir: Path = RESULTS_DIR, seed: int = 0, progress=None) -> dict:
    """Score ``method`` on every clip of ``suite``; write JSON, Markdown and a plot."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {sorted(SUITES)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    scenes = suite_scenes(suite, cache_root, progress=progress)
    rng = np.random.default_rng(seed)
    rows = []
    for scene in scenes:
        if SUITES[suite].hide_frames:
            scene.meta["hidden"] = hidden_span(scene, SUITES[suite].hide_frames)
        t0 = time.perf_counter()
        pred = METHODS[method](scene, rng)
        seconds = time.perf_counter() - t0
        gt = {k: scene.gt[k] for k in ("joints", "boxes", "K", "joints2d", "contact_pairs", "contact_parts")}
        rows.append({"scene": scene.name, "kind": scene.kind, "frames": scene.num_frames,
                     "seconds": round(seconds, 3), **metrics.score_sequence(pred, gt), **pred.get("extra", {})})
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: SUITES[suite].kinds.index(k))
    per_kind = {k: {m: _mean(r.get(m) for r in rows if r["kind"] == k) for m in HEADLINE} for k in kinds}
    overall = {m: _mean(r.get(m) for r in rows) for m in HEADLINE}
    result = {"suite": suite, "method": method, "seed": seed, "world": world_stamp()[:12], "commit": git_commit(),
              "load": os.getloadavg()[0], "scenes": rows, "per_kind": per_kind, "overall": overall}
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{suite}-{method}"  # method names may hold dots: no Path.with_suffix
    (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown_table(result))
    plot(result, out_dir / f"{stem}.png")
    return result


def format_value(v) -> str:
    """A table cell: 3 decimals below 1, else 1; "-" for NaN or no number."""
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return "-"
    return f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}"


def markdown_table(result: dict) -> str:
    cols = HEADLINE
    lines = [f"# {result['suite']} / {result['method']}", "",
             "mm for 3D errors, px for reprojection, share for depth order (METRICS.md); "
             f"synthetic world {result.get('world', 'before stamps')}", "",
             "| kind | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for kind, row in {**result["per_kind"], "**all**": result["overall"]}.items():
        lines.append(f"| {kind} | " + " | ".join(format_value(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("mpjpe", "pa_mpjpe", "inter", "depth_order_accuracy")
    kinds = list(result["per_kind"])
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2 + 0.12 * len(kinds)))
    for ax, m in zip(axes, shown):
        ax.barh(kinds, [result["per_kind"][k][m] for k in kinds], color="tab:blue")
        ax.set_title(m)
        ax.invert_yaxis()
    fig.suptitle(f"{result['suite']} / {result['method']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
