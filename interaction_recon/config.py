"""Typed configuration, loaded from YAML; every tunable lives here, not in module constants."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class BodyConfig:
    """Body model. backend: "anny" (embedded default) or "smpl" (user's SMPL files)."""

    backend: str = "anny"
    model_path: str | None = None  # smpl: SMPL_NEUTRAL.pkl or the folder holding it
    gender: str = "neutral"  # smpl only
    collision_spacing: float = 0.02  # metres between candidate collision-sphere centres
    device: str = "cpu"


@dataclass
class LossWeights:
    """Weights of the window optimiser's terms (0 switches a term off)."""

    reprojection: float = 1.0  # robust, confidence-weighted 2D keypoint error (fraction of box height)
    penetration: float = 0.5  # depth (m) of each body's vertices inside the other, summed (2 cost accuracy)
    contact: float = 20.0  # squared soft-min distance (m) of part pairs judged in contact
    smoothness: float = 10.0  # squared 3D joint acceleration (m/frame^2) and rotation change
    ground: float = 0.0  # squared height difference (m) of the two people's lowest foot joints (10 did not pay)
    # with fitting.camera_height: squared height (m) of each person's lowest foot joint above the known floor.
    # Chosen among 0, 2 and 10 on the validation clips with their camera pose given: 2 improved every metric
    # over sizing alone, 10 worsened Inter and placement (validation-camera-pose*.json); no effect without a height
    floor: float = 2.0
    # 1 - cos of each person's pelvis-to-neck angle to the floor's up (fitting.camera_height / camera_pitch, or the
    # pitch estimated with fitting.assumed_camera_height). Chosen among 0, 2, 10 and 50 on the validation clips with
    # their camera pose given: 2 improved every metric, 10 and 50 cost PA-MPJPE and Inter (validation-camera-pose*.json)
    upright: float = 2.0
    pose_prior: float = 0.002  # squared joint angles (rad), light
    joint_limits: float = 1.0  # squared excess over per-joint angle limits (rad)
    # squared distance of each person's anny phenotypes (6, in [0, 1]) to the model's average. Chosen between
    # 0.05, 1 and 10 on the validation clips: 1 gives MPJPE 111.8 -> 109.9 mm, PA-MPJPE 80.2 -> 79.6, Inter
    # 99.1 -> 97.8 (validation-default-before-flip-test.json against validation-shape-0.05.json); 10 cost Inter
    # then (107.0, validation-shape-10-before-shape-prior-sized.json). Dev suite within 4 % on every metric
    # (dev-two-person+prior-closeapp-before-shape-prior-sized.json against its -shape-0.05 twin)
    shape: float = 1.0
    # the same towards the bodies the floor sizing left (fitting.shape_prior_sized). 3 on the validation clips:
    # 92.2 / 71.1 / 92.1 mm against 93.5 / 71.1 / 92.6 (validation-shape-sized-3.json); on the dev suite with real
    # perception MPJPE, PA-MPJPE and Inter within 0.5 %, but 4 identity swaps on pat_on_back against 2 and
    # penetration 0.150 against 0.101 mm (dev-default-perception-shape-sized-3.json against
    # dev-default-perception-shape-prior-sized.json): 1. weights.shape 10 (both pulls): validation 90.3 / 71.1 /
    # 92.1, dev contact distance +8.3 %, reprojection +5.5 % (validation-shape-10.json,
    # dev-default-perception-shape-10.json)
    shape_sized: float = 1.0
    previous: float = 50.0  # squared joint distance (m) to the previous window in the overlap
    depth: float = 0.5  # squared log-depth distance to the body-size depth estimate (soft)
    prior: float = 1.0  # fitting.prior = "regulariser": squared distance to the prior's denoised motion
    evidence: float = 0.0  # two-person stage: squared 2D distance (box heights) of keypoints to each person's own fit
    depth_sensor: float = 100.0  # robust squared distance (m^2) of each pelvis to its depth-sensor measurement
    pose3d: float = 0.5  # squared distance of unit bone directions to the keypoint model's 3D landmarks (fitting/pose3d.py)
    # squared excess (m) over fitting.reach_margin of a hand held out and drawn on the other person (fitting/reach.py).
    # Off. At 20 (when it still turned the spine too) the overhead high-five's arms bent off their keypoints
    # (validation-reach-20.json). Bending the arm alone, at 2: validation 91.0 / 69.8 / 85.5 mm, 7.2 px, contact
    # distance 341 mm against the default's 91.6 / 70.1 / 91.1, 6.9, 507 (validation-reach-2.json; 5: 91.2 / 71.3 /
    # 85.3, -reach-5.json), but on the dev suite with real perception acceleration error +7.6 % and mean penetration
    # 0.089 -> 0.148 mm, MPJPE equal (dev-default-perception-reach-2.json against -no-shin-pitch.json): the arm
    # flips in depth where a reach starts and ends
    reach: float = 0.0
    # squared height difference (m) of each planted ankle (fitting/stance.py) from the median planted ankle: one
    # floor for both people in the two-person stage, each person's own otherwise; with fitting.camera_height, of
    # each planted foot's lower joint from the known floor. Off: at 10 validation MPJPE
    # 109.9 -> 107.9 mm but PA-MPJPE 79.6 -> 80.5 and Inter 97.8 -> 100.7 (validation-planted-10.json; each person
    # alone 118.2 -> 116.6, validation-independent-planted-10.json); at 50 PA-MPJPE 81.2, Inter 105.8. With the
    # camera's pose given, MPJPE 97.8 -> 93.0 and PA-MPJPE 79.8 -> 79.3, but Inter 83.6 -> 96.4 and the pelvis
    # position error 88 -> 137 mm (validation-camera-pose-planted-10.json against the camera-pose run at its commit, 1fa8c32)
    planted: float = 0.0


@dataclass
class LanguageConfig:
    """An optional vision-language model asked which body parts touch (contact/language.py):
    an OpenAI-compatible chat-completions endpoint that takes images (a user's vLLM or Ollama)."""

    url: str = ""  # e.g. http://localhost:11434/v1/chat/completions ("" = off)
    model: str = ""  # the served model's name
    api_key: str = ""  # sent as a bearer token when set
    timeout: float = 10.0  # s per request; a late answer is dropped and counted
    frames_per_window: int = 2  # key frames asked per window (where the people are closest in the image)
    probability: float = 0.8  # probability given to a pair the model names
    max_pending: int = 2  # requests in flight at most; more are skipped and counted


@dataclass
class CausalConfig:
    """The live per-frame estimate in front of the windows (interaction_recon/fitting/causal.py)."""

    iterations: int = 4  # Adam steps per frame, warm-started from the previous frame (about 11 ms each on one core)
    cold_iterations: int = 30  # steps on a frame where a person is new to its slot
    learning_rate: float = 0.03  # rad (orientation, pose) and m (translation) per step
    temporal: float = 20.0  # weight of the squared joint distance (m) to the constant-velocity prediction
    velocity_gain: float = 0.5  # share of the newest pelvis displacement in the velocity estimate (0..1)
    max_gap: float = 0.5  # s: a person unseen longer starts again from its own frame; longer time steps are clipped
    history: int = 512  # frames whose published pelvis is kept to re-anchor on refined windows
    # the proxemics prior, plug-and-play: its denoised output on the newest frames becomes a target
    # (no gradient through the network). none | onnx (onnxruntime, CUDA provider first when
    # body.device is cuda) | tensorrt (an engine from `export-prior --engine`) | torch
    # none by default: on the validation clips it raised MPJPE 128.0 -> 130.5 mm while the depth
    # order improved 0.55 -> 0.64, and at weight 10 a person drifted off (benchmarks/results/causal-prior.json)
    prior: str = "none"
    prior_path: str | None = None  # onnx: the export (None: fitting.prior_path's checkpoint exported to the cache); tensorrt: the engine
    prior_frames: int = 16  # frames of context the denoiser sees (the newest last; TensorRT profiles start at 16)
    prior_level: float = 0.1  # noise level the current motion is diffused to, fraction of the diffusion steps
    prior_weight: float = 1.0  # weight of the squared joint distance (m) to the prior's newest frame


@dataclass
class ContactConfig:
    """Contact evidence (interaction_recon/contact): the learned contact map or the hands' proximity
    in the image, from both people's 2D keypoints and the current fit, fused with the language
    source, cleaned and given a start and an end."""

    # learned (the shipped contact map) | keypoints (a hand on the other body in the image, checked against
    # the fit: interaction_recon/contact/proximity.py) | none (only external sources such as the language
    # model count). The map is off: on the validation clips it reported contacts in 65 % of the no-contact
    # frames and its pull raised MPJPE 126 -> 172 mm (benchmarks/results/validation-contact-map*.json).
    # keypoints is off too: only reported, contact F1 0.29 but contacts in 29 % of the no-contact frames
    # (validation-contact-keypoints-no-pull.json); pulled, the contact-joint distance falls 520 -> 242 mm
    # (weights.contact 20) or 220 mm (2), but MPJPE rises 95.9 -> 123.5 or 99.6 (validation-contact-keypoints.json,
    # -weak-before-flip-test.json). Its reach was set looking at the validation clips' keypoints: their numbers are not independent.
    source: str = "none"
    reach: float = 0.15  # torso heights: 2D anchor distance at which a hand pair's probability is 0.5 (keypoints)
    anchor_confidence: float = 0.5  # one part of a pair must be seen this surely (its landmarks' confidence mix; keypoints)
    max_apart: float = 1.0  # m, about an arm's length: a pair the current fit places further apart is no contact (keypoints)
    model_path: str | None = None  # contact-map checkpoint (None: the shipped interaction_recon/contact/checkpoints/default.pt)
    runtime: str = "torch"  # torch | onnx (onnxruntime; CUDA provider first where installed)
    onnx_path: str | None = None  # where the ONNX export is kept (None: the cache folder, named by the weights' hash)
    enter: float = 0.5  # probability at which a contact starts
    leave: float = 0.3  # probability below which it ends
    min_frames: int = 4  # frames a contact must last to count
    smooth_frames: int = 5  # frames of the moving average over the probabilities
    spread_frames: int = 8  # frames either side an external (language) answer holds for
    chirality_ratio: float = 0.6  # the other side's anchors this much nearer in 2D move a pair to that side
    language: LanguageConfig = field(default_factory=LanguageConfig)


@dataclass
class FittingConfig:
    """The window optimiser (interaction_recon/fitting)."""

    window: int = 128  # frames per window
    stride: int = 32  # frames between window starts (new frames per update)
    iterations_rigid: int = 20  # cold start: global orientation + translation only
    iterations_alone: int = 15  # cold start, two people: all parameters, each person alone (before the relational terms)
    iterations_pose3d: int = 0  # cold start: orientation and pose towards the 3D landmarks' bone directions alone (0: off)
    learning_rate_pose3d: float = 0.1  # rad per step of that initial stage
    # the 3D landmarks' depth is stretched by this before their bone directions are targets (weights.pose3d).
    # They carry 0.66 of the true root-relative depth against 0.81 in the image axes on the dev suite's renders
    # through the real perception (benchmarks/landmark_depth.py -> landmark-depth.json; 0.66 against 0.85 on the
    # dev clips before their regeneration, where 1.3 was chosen), but 1.3 made validation worse (PA-MPJPE
    # 79.3 -> 82.1, validation-pose3d-depth-gain-1.3.json): off
    pose3d_depth_gain: float = 1.0
    # the frame weights.pose3d compares bone directions in: "camera" (as seen), or "body" (each skeleton's own
    # hips-and-spine frame: the landmarks then shape the limbs but leave the body's orientation, which they have
    # turned by 4-26 deg on the validation clips (landmark-depth.json), to the keypoints and the other terms).
    # "body" made validation worse: MPJPE 113.8, PA-MPJPE 82.8, Inter 136.6 (validation-pose3d-body-frame.json): the
    # landmarks' orientation, biased as it is, is better than what the keypoints tell without it. "depth-sign": only
    # which way each bone points in depth (camera frame) is held to the landmarks, not how far (they flatten it).
    # Worse on validation: MPJPE 103.1, PA-MPJPE 81.2, Inter 145.4 (validation-pose3d-depth-sign.json), and the limbs
    # stay as flat (reach in depth 0.68 of the truth, the default 0.68-0.72: validation-errors-pose3d-depth-sign.json,
    # validation-errors-default-before-{rerun,flip-test}.json)
    pose3d_frame: str = "camera"
    # turn the landmarks' torso (shoulder and hip lines, flanks) to stand along the floor's up (fitting/pose3d.py
    # level_upright): the keypoint model draws the trunk upright to the image whatever the camera's pitch (and the
    # thighs; the shins it leans as seen): on the validation clips the torso bones are 10.1 deg off the truth as given,
    # 7.6 turned by the true pitch (landmark-lean.json). Validation: validation-no-shin-pitch.json against
    # validation-no-level-torso.json (the default before); dev with real perception: dev-default-perception-no-shin-pitch
    # .json against dev-default-perception-refit-32-warm-40.json, every measure within 2.5 % (docs/results.md, Session 27).
    # The thighs turned too (at 7386b88) cost dev's pelvis distance error 5.9 % (dev-default-perception-level-thighs.json)
    pose3d_level: bool = True
    # frames (Gaussian sigma) the 3D landmarks' bone directions are averaged over: their depth flickers from frame
    # to frame (handshake_tall's far upper arm changes sign every 10-20 frames; probe) and the fit follows. Off: 3 and 8
    # leave validation within its noise, 94.4 / 71.1 / 93.8 and 94.2 / 71.1 / 96.0 mm against 93.9 / 71.0 / 95.3
    # (validation-pose3d-smoothing-*.json against validation-default-before-shape-prior-sized.json)
    pose3d_smoothing: float = 0.0
    # share of each bone the keypoint model puts the elbows, wrists, knees and ankles beyond the body model's own
    # keypoints (along the bone from its parent): the fit's keypoints are moved so before they meet the image's.
    # Measured on the dev renders (keypoint-offsets.json): 0.045, 0.094, 0.002, 0.039. With those, validation 96.1 /
    # PA 72.3 / Inter 107.4 against 95.9 / 73.3 / 108.8 (validation-keypoint-shift.json): not better on MPJPE, off.
    # 0s: as the model has them
    keypoint_shift: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    # cold start: all parameters, all terms. 40 leaves raised arms short of their keypoints (highfive_left's
    # left wrists 18 px on average, up to 75; probe). 120 is better on the validation clips (92.6 / 69.7 / 90.8 mm,
    # 6.7 px against 93.5 / 71.1 / 92.6, 7.0; validation-iterations-120.json against
    # validation-default-before-level-torso.json) but
    # not on the dev suite with real perception: Inter 215.3 against 202.7 mm (+6.2 %), pelvis distance error +9.4 %
    # (dev-default-perception-iterations-120.json against dev-default-perception-shape-prior-sized.json); a 60-step
    # alone stage is worse on validation (validation-alone-60*.json against -default-before-shape-prior-sized.json)
    iterations: int = 40
    # cold start, two people: the steps of that stage where the camera's pose over the floor is known or estimated
    # from everyone's boxes. The absolute sizing then moves each person along their ray by up to tens of cm, and 40
    # steps leave them short of where they settle (highfive_left's reprojection error 7.7 px, 6.6 after 80 steps, 6.8
    # with the pair's size from the average body). Validation with each clip's pose given: 78.2 / 70.8 / 63.7 mm,
    # 6.7 px, pelvis position error 79.5 mm against 81.1 / 73.0 / 75.0, 7.1, 93.5 at 40
    # (validation-camera-pose-iterations-80.json against validation-camera-pose-before-known-floor-steps.json); about 40 % more fitting time
    # there. Without a camera pose, 80 steps change little (88.4 / 69.1 / 90.4 against 88.4 / 69.4 / 91.1,
    # validation-iterations-80.json against validation-default.json), so the plain stage keeps 40
    iterations_known_floor: int = 80
    # warm start: steps per update, over the newest refit_frames frames (the older ones are kept). 40 over the newest
    # stride (32) costs what 20 over 64 did on one thread, as the node's fits run
    # (window-prior-closeapp-refit-64-warm-20.json), and is better where warm updates run: validation with 64-frame windows
    # 93.9 / 70.4 / 100.3 mm, 7.0 px, acceleration error 5.4 against 98.2 / 72.3 / 106.9, 7.6, 6.8
    # (validation-window-64-refit-32-warm-40.json against validation-window-64-refit-64-warm-20.json; 40 over 64
    # frames: 94.5 / 70.1 / 101.3, validation-window-64-warm-40.json); dev suite with real perception within 1 % on
    # MPJPE, PA-MPJPE and Inter, reprojection 9.25 against 9.72 px, depth order 0.91 against 0.88
    # (dev-default-perception-refit-32-warm-40.json against dev-default-perception-shape-prior-sized.json). The
    # default validation clips are shorter than one window: cold fits only, unchanged
    iterations_warm: int = 40
    # a window whose slots hold a tracker id the previous window did not (a new person, or one re-found under a new
    # id) is fitted cold, sized anew, instead of warm-started: the warm path keeps each slot's shape for good.
    # Only the live node's stream sees per-frame ids: offline (reconstruct, the benches) the slots keep the ids
    # they ended with, so no bench can measure it yet: off
    cold_on_new_person: bool = False
    refit_frames: int = 32  # warm start: only the newest frames are optimised; older ones are kept
    learning_rate: float = 0.03
    # box heights: the 2D residual beyond which weights.reprojection stops pulling (Geman-McClure scale; the
    # cost near zero stays (r / 0.05)^2 whatever it is: fitting/losses.py). Chosen among 0.03, 0.05, 0.1 and 0.2
    # on the validation clips: wider lets wrong keypoints pull (0.1: MPJPE 99.2, PA-MPJPE 75.8; 0.2: 106.3 / 80.8
    # against 93.9 / 71.0), 0.03 cuts Inter 95.3 -> 88.9 but raises MPJPE to 97.9
    # (validation-reprojection-sigma-*.json against validation-default-before-shape-prior-sized.json)
    reprojection_sigma: float = 0.05
    motion_basis: float = 0.25  # cosine components per frame of the smooth motion correction (1 = per frame)
    contact_from_fit: bool = False  # also pull together parts the fit itself puts close (contact_threshold), not
    # only contacts with evidence (WindowJob.contacts): off, it made every validation metric worse
    contact_threshold: float = 0.06  # metres: with contact_from_fit, parts this close (and overlapping in 2D) are pulled
    contact_every: int = 10  # iterations between contact re-estimates
    reach_radius: float = 0.1  # share of the other person's image height: a wrist this near one of their keypoints is on them
    reach_margin: float = 0.3  # m: how far such a wrist may be from the other's point under it (weights.reach), about a forearm
    reach_held_out: float = 0.15  # share of a person's image height a wrist must be from their hip to count as reaching
    min_confidence: float = 0.2  # keypoints below this confidence are ignored
    ignored_keypoints: list[str] = field(default_factory=list)  # keypoint names (of the layout) the fit ignores
    # the initial depth of a person in a frame is the smallest its body segments imply that a segment sharing no
    # keypoint confirms, within this share. inf (the default): the smallest alone, and one wrong keypoint, which
    # lengthens the segments it ends, can pull the person near (tests/test_fitting.py, a knee 80 px off; the depth
    # term then holds the person there and the body shrinks to fit). A robust start (the third-smallest) improved
    # validation MPJPE 109.9 -> 106.1 but cost PA-MPJPE (79.6 -> 80.7; validation-depth-rank-3.json) and broke the
    # known-floor test; 0.15 is measured in validation-depth-witness.json, the dev suite not yet
    depth_witness_tolerance: float = float("inf")
    planted_span: float = 0.2  # s: a foot is planted when its ankle keypoint stays within planted_motion over this
    planted_motion: float = 0.05  # person heights (image): the most a planted ankle keypoint moves over planted_span
    max_unseen: float = 0.5  # s: a person unobserved longer than this is not published there (NaN, confidence 0);
    # shorter gaps, filled by the motion terms and the prior, carry confidence lowered linearly with the gap
    swap_ratio: float = 0.7  # warm start: the previous window's people are taken as swapped when the other slot order reprojects with below this share of the error
    unseen_joint_share: float = 0.3  # share of the person's confidence a joint keeps when no keypoint saw it (fitting/visibility.py)
    fov_deg: float = 60.0  # horizontal field of view when no intrinsics are given
    compile: bool = False  # torch.compile the loss (opt-in)
    two_person: bool = True  # False: each person alone (no penetration, contact, or relative terms)
    floor_sizing: bool = True  # cold start: size both people so their feet share one floor (fitting/scale.py)
    # after the floor sizing, weights.shape pulls towards the sized bodies instead of the model's average, which
    # otherwise undoes part of the sizing in the two-person stage (crossing_close's taller walker shrank
    # 1.556 -> 1.477 m ankle to head, handshake_tall's 1.647 -> 1.632; probe). Validation 93.5 / 71.1 / 92.6 mm,
    # 7.0 px, pelvis distance error 84.0 mm against 93.9 / 71.0 / 95.3, 7.0, 88.2 (validation-shape-prior-sized.json
    # against validation-default-before-shape-prior-sized.json); dev with real perception within 1 % on every
    # headline metric (dev-default-perception-shape-prior-sized.json against -flip-test.json): on. Not after the
    # depth-sensor sizing: centred there, the dev suite with the simulated RGB-D camera lost 12 % of MPJPE
    # (107.8 against 96.3 mm, dev-two-person+prior-closeapp+depth-sized-centre.json against
    # dev-two-person+prior-closeapp+depth-no-shape-prior-sized.json)
    shape_prior_sized: bool = True
    # deg the pair's up direction (mean spine) may be off about the camera's x axis when their feet set their
    # size ratio without a known camera height: the ratio nearest 1 over that tilt is used (fitting/scale.py).
    # Off: 5 fixes vtest.avi's 0.9 m walker (real-video-3d-floor-tolerance-5.json) but costs the validation
    # clips MPJPE 95.9 -> 99.9, Inter 108.8 -> 136.4 (validation-floor-tolerance-5.json)
    floor_sizing_tolerance: float = 0.0
    # the up direction along which the people's foot heights are compared for their size ratio, without a known
    # camera height: "spine" (the pair's mean spine as fitted alone: near the camera's vertical, 8-14 deg off the
    # validation floors, since the 3D landmarks see no camera pitch) or "pitch" (the floor's up of the pitch the
    # upright term uses: fitting.assumed_camera_height or the horizon). "pitch" on the validation clips: pelvis
    # distance error 81.3 against 84.0 mm, contact distance 434 against 511, but MPJPE 95.0 against 93.5, PA-MPJPE
    # 72.1 against 71.1, Inter 98.3 against 92.6 (validation-floor-sizing-up-pitch-before-level-torso.json against
    # validation-default-before-level-torso.json): off
    floor_sizing_up: str = "spine"
    # m, standing height (crown to soles) that the floor sizing gives the pair's geometric-mean person where
    # nothing measures the pair's overall scale (no camera height, depth image or passers-by' boxes); 0: the body
    # model's average body (anny: 1.63 m, smaller than most adults). 1.70 m (about the mean of adult men and women in
    # Europe and North America, not fitted to any clip): validation MPJPE 84.6, Inter 114.9 mm against 88.4 / 91.1
    # (the pair spreads apart); with floor_sizing_up "pitch" 85.4 / 71.6 / 78.5 mm, pelvis position error 134 against
    # 202 mm, but PA-MPJPE 69.4 -> 71.6, and on dev Inter +10.4 %, pelvis distance +20.7 % (three pairs with a child)
    # (validation-pair-stature-1.70*.json, dev-default-perception-pair-stature-1.70-up-pitch.json): off
    pair_stature: float = 0.0
    camera_height: float = 0.0  # m, the camera above the floor when known (a robot's mount): absolute sizes; 0: unknown
    camera_pitch: float = 0.0  # deg, with camera_height: optical axis below the horizon (fitting/floor.py)
    camera_roll: float = 0.0  # deg, with camera_height: rotation about the optical axis (fitting/floor.py)
    # m: the pelvis lies this far behind the median depth of a person's visible surface (dev suite with the
    # simulated RGB-D camera: median 0.105, p10-p90 0.04-0.19; benchmarks/depth_offset.py -> depth-offset.json)
    depth_surface_offset: float = 0.1
    # m: the typical pelvis position error reported with each estimate (Human.position_error), by what fixed the
    # distance, from the benchmarks' mean errors: a depth sensor (dev suite, simulated RGB-D camera:
    # dev-two-person+prior-closeapp+depth.json), the camera's pose over the floor (validation camera-pose.json),
    # one camera alone (validation-default-before-flip-test.json)
    position_error_depth: float = 0.067
    position_error_floor: float = 0.088
    position_error_monocular: float = 0.203
    # m: without camera_height, the camera is taken to be this high above the floor (about a standing adult's eye
    # height or a robot's head; set a priori, the only value tried) to estimate its pitch from the people's feet
    # (fitting/floor.py pitch_from_height), for weights.upright only: sizes stay unknown. 0: no pitch, no upright
    # term. On the validation clips MPJPE 126.5 -> 113.9 mm, PA-MPJPE 85.0 -> 82.4, Inter 91.1 -> 92.6
    # (validation-default-before-flip-test.json against validation-no-upright.json)
    assumed_camera_height: float = 1.5
    # without camera_height, when the people's image heights (sole to face, 90th over 10th percentile) span at
    # least this ratio in a window (people at distances that differ by half or more, e.g. walkers across a
    # square), the pitch is the one under which they all have one height (fitting/floor.py pitch_from_horizon)
    # instead of the assumed camera height's. Set a priori: statures differ by about 10 %, so a ratio of 1.5 is
    # mostly distance. 0: never
    horizon_min_ratio: float = 1.5
    # without camera_height: where at least this many people (the pair and everyone else) are in view in a window's
    # median frame, at distances whose box heights span fitting.horizon_min_ratio, the camera's pitch and height
    # come from their boxes (fitting/floor.py camera_from_boxes: people of one height at different distances) and
    # are used as a known camera pose is (the pair sized to stand on that floor, feet on it, upright to it). Three or
    # more: an average over people, not one person's posture; the validation and dev clips show two people and
    # keep their fits. 0: never
    horizon_min_people: int = 3
    # m: the height a person detector's box spans on an average standing adult, for that camera height: the
    # default perception's boxes span 1.12 x the head joint's height over the floor on the validation clips' adults
    # (clip medians 1.09-1.13), times the body model's average body's head joint height, 1.476 m
    # (benchmarks/box_height.py -> box-height.json)
    box_height: float = 1.65
    # deg: people differ in height, so that pitch is taken only where it holds over the people: its standard
    # deviation over 32 draws of the people with replacement stays within this. Set a priori from the fallbacks: the
    # 3D landmarks' shins give pitches 0.2-9.1 deg off on dev (landmark-lean.json)
    horizon_max_sd: float = 6.0
    # s: everyone's boxes are kept this long for that estimate (a camera standing still; one that moves should be
    # given by fitting.camera_height / camera_pitch). 0: none kept, no such estimate
    horizon_memory: float = 30.0
    # without camera_height, where everyone's boxes give no pose (fewer than horizon_min_people): the pitch from the 3D
    # landmarks' shins and, at it, the camera's height from the boxes (fitting/floor.py height_from_boxes), used as a
    # known pose. On the validation clips the heights come out 7 % off at most (1.65 / 1.69 / 1.34 / 2.14 m for true
    # 1.78 / 1.58 / 1.32 / 2.31; probe) against the assumed 1.5 m's 35 %, but the fit is mixed: 86.7 / 71.8 / 84.2 mm,
    # 7.1 px against 89.0 / 70.2 / 89.5, 6.9 (validation-pair-camera-before-known-floor-steps.json against the default then); the
    # clips' true pose does the same to PA-MPJPE (80.4 / 72.6 / 76.6, 7.2 px, validation-camera-pose-rerun.json).
    # Without the feet-on-floor term 88.0 / 70.8 / 95.2 (validation-pair-camera-no-floor-term.json). With
    # iterations_known_floor (session 33) validation is better on all but PA-MPJPE: 84.3 / 70.5 / 79.2 mm, 6.7 px,
    # pelvis position 170 mm against 88.4 / 69.4 / 91.1, 6.7, 202 (validation-pair-camera.json against
    # validation-default.json), but on dev Inter +23.7 %, pelvis distance error +36 %, penetration x2
    # (dev-default-perception-pair-camera.json against dev-default-perception-known-floor-steps.json): a child's box is
    # not an adult's, and dev has three pairs with a child. Off
    pair_camera: bool = False
    # without camera_height, where the horizon gives no pitch: the camera's pitch from the keypoint model's 3D
    # landmarks' shins (fitting/floor.py pitch_from_shins), mixed with fitting.assumed_camera_height's (which alone is
    # the fallback when too few shins are seen). The shins' pitch is 0.0-2.9 deg off on the validation clips, 0.2-9.1
    # on dev (landmark-lean.json). Alone (shin_pitch_share 1) it is the best on validation (86.0 / 69.8 / 88.9 mm,
    # validation-shin-pitch.json) but raised dev's pelvis distance error 5.3 %, all from one clip (hug-0100: its shins'
    # pitch 5.7 deg off where the assumed height's was within 0.4; dev-default-perception-shin-pitch-level-torso.json)
    shin_pitch: bool = True
    # the shins' share of that pitch where the assumed camera height gives one too (the rest is that one's): 1 takes
    # the shins' alone; 0.5 trusts the two alike, set a priori. Validation 88.3 / 69.8 / 90.4 mm, 6.85 px, the floor's
    # up 3.1 deg off, against 91.6 / 70.1 / 91.1, 6.9, 4.7 with the assumed height's alone (validation-shin-pitch-mean
    # .json against validation-default-before-shin-pitch-mean.json); dev with real perception MPJPE 124.6 against
    # 126.5, depth order 0.93 against 0.90, no accuracy measure worse by over 0.3 %; the mean penetration 0.121 against
    # 0.089 mm, inside the dev suite's own spread for that measure (0.241 and 0.299 between two 1 px noise draws,
    # dev-default-perception-jitter-1px*.json) (dev-default-perception-shin-pitch-mean.json against -no-shin-pitch.json)
    shin_pitch_share: float = 0.5
    # deg: pitches that put the people's soles (90th percentile) further below the horizon are no candidates: people
    # almost beneath the camera, where every ratio tends to one and a false minimum appears. Without this and the next
    # check, dev pat_on_back, push, side_hug and help_stand_up gave 46-75 deg for true -7 to 8 deg (horizon-pitch.json).
    # Set a priori, not tuned: the horizon estimate fires on no validation clip
    horizon_max_sole_deg: float = 60.0
    # the pitch is taken only when its spread is at most this share of the spread 10 deg to either side (the
    # smaller); where every pitch fits about as well there is no estimate. Set a priori, as above
    horizon_sharpness: float = 0.5
    # "none" | "regulariser" (diffuse-and-denoise term) | "closeapp" (motion = the prior's output, its weights fine-tuned)
    prior: str = "closeapp"
    prior_path: str | None = None  # prior checkpoint (None: the shipped interaction_recon/prior/checkpoints/default.pt)
    prior_lr: float = 2.0e-5  # closeapp: learning rate of the fine-tuned network
    # m: the prior joins a window only when the two pelvises (each person's own fit, sized) are within this of
    # each other for at least a quarter of its frames: within reach, as its training pairs are (per-clip median
    # distance 0.63 m, 95 % of clips under 1.10 m: benchmarks/results/prior-distance.json). Two walkers passing
    # each other are not: with the prior their poses were worse than fitted alone (validation crossing_close
    # PA-MPJPE 81.2 with it, 68.8 without). A median-distance rule (1.25 m) also cut the prior from approach
    # windows it is needed in (dev hug_from_behind, pat_on_back)
    prior_max_distance: float = 1.0
    weights: LossWeights = field(default_factory=LossWeights)
    contact: ContactConfig = field(default_factory=ContactConfig)
    causal: CausalConfig = field(default_factory=CausalConfig)


@dataclass
class RosConfig:
    """The live ROS 2 node (interaction_recon/ros/): topics, QoS, rates, frames, queues.
    Mirrored as ROS parameters ``ros.<name>`` (interaction_recon/ros/params.py, config/live.yaml)."""

    image_topic: str = "/camera/image_raw"  # sensor_msgs/Image input
    compressed_topic: str = ""  # sensor_msgs/CompressedImage input ("" = none)
    camera_info_topic: str = "/camera/camera_info"
    # sensor_msgs/Image depth registered to the colour image (16UC1 mm or 32FC1 m; e.g. a RealSense's
    # /camera/aligned_depth_to_color/image_raw): each person's distance for the fit ("" = none)
    depth_topic: str = ""
    depth_max_offset: float = 0.02  # s: a depth image pairs with the colour image whose stamp is within this
    humans_topic: str = "/humans"  # the causal per-frame estimate, one message per image
    humans_refined_topic: str = "/humans/refined"  # window reconstructions, one message per newly covered frame
    floor_frame: str = "humans_floor"  # TF frame of the floor each refined window found or was given, z up ("" = none)
    torch_threads: int = 1  # torch CPU threads of the node's process: the per-frame estimate is too small to share, more only contend with perception
    markers_topic: str = "/humans/markers"
    diagnostics_topic: str = "/diagnostics"
    input_reliability: str = "reliable"  # image / camera-info subscriptions: reliable | best_effort
    input_qos_depth: int = 5  # history depth of the image / camera-info subscriptions (messages)
    output_qos_depth: int = 10  # reliable history depth of the outputs
    frame_id: str = ""  # frame of the outputs ("" = the image header's frame_id)
    default_frame_id: str = "camera_optical_frame"  # when the image header has none
    body_frame_prefix: str = "body_"  # REP-155 TF frames body_<id>
    camera_info_timeout: float = 2.0  # seconds without CameraInfo before default intrinsics
    default_fov_deg: float = 60.0  # horizontal FOV of the default intrinsics
    intake_queue: int = 8  # frames waiting for perception; the oldest is dropped when full
    estimate_queue: int = 4  # perceived frames waiting for the per-frame estimate; the oldest is dropped when full
    refine_process: bool = True  # window fits in a child process (no interpreter lock shared with the live path)
    refine_nice: int = 10  # that process's CPU priority below the node's (0-19: higher yields more)
    fit_queue: int = 4  # windows waiting for reconstruction (the newest warm-startable is fitted, older skipped)
    mesh_every: int = 4  # mesh markers every N published windows (0 = never)
    mesh_resolution: str = "collision"  # collision (decimated, ~1.2k vertices) | full
    publish_frames: str = "new"  # /humans/refined per window: new (each newly covered frame) | last (the newest only)
    contact_frames: int = 0  # contacts from the newest N frames up to a message's frame (0 = new: 1, last: stride)
    contact_min_probability: float = 0.5  # contacts below this probability are not published
    min_confidence: float = 0.1  # people below this confidence are not published
    publish_tf: bool = True  # TF body_<id> (tf2_ros, else /tf via tf2_msgs, else off)
    publish_bodies: bool = True  # REP-155 /humans/bodies/<id>/position and /humans/bodies/tracked
    max_bodies: int = 16  # per-body publishers kept (least recently seen are destroyed)
    diagnostics_period: float = 1.0  # seconds between /diagnostics messages
    diagnostics_window: float = 5.0  # s over which /diagnostics rates and drops are counted
    diagnostics_no_input: float = 5.0  # s without an image before /diagnostics says ERROR
    diagnostics_min_output_ratio: float = 0.5  # published / received frames in the window below this: ERROR
    diagnostics_warn_drop_share: float = 0.02  # dropped / received frames in the window above this: WARN
    marker_lifetime: float = 0.0  # seconds RViz keeps a marker (0 = until replaced or deleted)


@dataclass
class PerceptionConfig:
    """The perception front end (interaction_recon/perception): detector, keypoints, masks, tracker."""

    detector: str = "movenet"  # movenet (packaged tflite) | onnx (detector_model; e.g. a user-exported YOLO-pose)
    detector_model: str | None = None  # onnx: path of the user's model
    detector_format: str = "yolo-pose"  # onnx output: yolo-pose ([1,56,N]) | boxes ([N,5+] x0,y0,x1,y1,score)
    # movenet: the longer input side (px, multiple of 32) of each pass run on every frame, merged: 256 finds large,
    # close people; [256, 512] (config/real-footage.yaml) also the man cut off at bus.jpg's edge, at about 80 ms more
    # per frame on one CPU core. Not the default: on the dev suite with real perception identity swaps 4 against 2,
    # pat_on_back's MPJPE 111 against 102 mm, mean penetration 0.19 against 0.14 mm; validation 89.7 / 70.6 / 93.0
    # mm against 89.0 / 70.2 / 89.5, within its chance spread (dev-default-perception-two-passes.json against
    # -emerge-check.json, validation-two-detector-passes-emerge-check.json against validation-default.json); the
    # 512-px pass runs by default only where small people are in view (detector_small_sizes); onnx: from the model
    detector_sizes: list[int] = field(default_factory=lambda: [256])
    # movenet: sizes (px) of further passes, run only on a cold start (the first frame, a still image, or where nobody
    # was seen in the last detector_small_memory frames) and in frames where the passes above find nobody, or someone,
    # or the tracker saw someone in the last detector_small_memory frames, whose box's longer side is under
    # detector_small_share of the image's longer side: small, far people (vtest.avi's walkers), at about 80 ms more
    # per frame on one core where they run (perception.json). The cold start finds bus.jpg's man cut off at the edge
    # (9 of 9 reference people, PCK@0.05 0.883 against 8, 0.876: perception.json against -before-cold-start.json);
    # validation 88.4 / 69.4 / 91.1 mm, 6.7 px against 89.0 / 70.2 / 89.5, 6.9 (validation-default.json against
    # -before-cold-start.json); dev with real perception better on every headline measure but depth order (0.89
    # against 0.90) and identity swaps (whisper 4 against 2; the suite's jitter runs give 0.33-0.5 a clip), within
    # its spread (dev-default-perception-cold-start.json against -camera-from-boxes.json). [] = never
    detector_small_sizes: list[int] = field(default_factory=lambda: [512])
    detector_small_share: float = 0.2  # share of the image's longer side (0: never; config/live.yaml)
    detector_small_memory: int = 30  # frames
    detector_threshold: float = 0.25  # person score
    keypoints: str = "blazepose"  # blazepose (packaged GHUM tflite, top-down per person) | onnx
    # blazepose: full (pip mediapipe wheel; faster: the live node's, config/live.yaml) | heavy (npm @mediapipe/pose;
    # timing in perception.json against perception-full.json). Heavy: validation MPJPE 109.9 -> 95.9 mm, PA-MPJPE
    # 79.6 -> 73.3, reprojection 8.6 -> 7.2 px, better on every clip, but Inter 97.8 -> 108.8 (validation-default-before-flip-test.json against
    # validation-full-landmarks.json); dev with real perception MPJPE 143.3 -> 131.6, Inter 219.9 -> 198.1 but depth
    # order 0.94 -> 0.86 (dev-default-perception-heavy-before-horizon-checks.json against -full.json, both before
    # fitting.horizon_sharpness and horizon_max_sole_deg); real images PCK@0.05 0.71 -> 0.84
    blazepose_model: str = "heavy"
    # blazepose: also run each crop mirrored and average the two (twice the keypoint time; config/live.yaml keeps it
    # off). Validation MPJPE 95.9 -> 93.9 mm, PA-MPJPE 73.3 -> 71.0, Inter 108.8 -> 95.3, reprojection 7.2 -> 7.0 px
    # (validation-default-before-shape-prior-sized.json against -before-flip-test.json); dev with real perception within 1-3 % (MPJPE +1.1 %,
    # Inter +2.6 %, depth order 0.82 -> 0.88; dev-default-perception-flip-test.json against -heavy.json)
    flip_test: bool = True
    keypoint_model: str | None = None  # onnx: path of the user's top-down model
    keypoint_format: str = "heatmap"  # onnx output: heatmap ([1,K,h,w]) | simcc ([1,K,Wx],[1,K,Hy]) | direct ([1,K,3])
    keypoint_layout: str = "coco17"  # onnx: coco17 | blazepose33
    roi_scale: float = 1.25  # crop side / person size
    masks: bool = True  # per-person masks (blazepose only; onnx keypoints give box masks)
    max_side: int = 1920  # larger images are downscaled for processing (outputs stay in input pixels)
    num_threads: int = 1  # tflite/onnxruntime CPU threads
    onnx_providers: list[str] = field(default_factory=lambda: ["CPUExecutionProvider"])
    appearance_weight: float = 1.0  # tracker: colour-histogram term against the motion term
    max_lost: int = 150  # tracker: frames an unseen identity is kept for re-identification
    pair_memory: int = 25  # pair choice: frames a pair's evidence is averaged over (and looked ahead)
    pair_switch_frames: int = 15  # pair choice: frames another pair must be better in a row to take over
    pair_switch_margin: float = 0.3  # pair choice: by how much (box gaps in body heights)
    # pair choice: frames a pair member may be unseen (neither detected nor followed by its keypoints) before a
    # person seen now, outside the pair, may take their slot (with their own id): someone whose colours changed
    # too much to be re-identified (Sports2D's man, backlit on a roof, then lit on the lawn) comes back
    pair_absent_frames: int = 30
    reid_threshold: float = 0.45  # tracker: histogram distance under which a re-appearing person keeps its id
    min_presence: float = 0.5  # blazepose: pose-presence score below which a person is dropped
    # frames a pair member the detector misses may be followed by its own keypoints (the next crop from the last
    # keypoints, kept while the pose-presence score holds: MediaPipe's tracking mode)
    coast_frames: int = 90
    # per COCO-17 joint, the detector's keypoint with the top-down model's (perception/fusion.py). Off by default:
    # better 2D on real images (perception-fused.json) but worse 3D on the validation clips: MPJPE 127.0 against
    # 109.9 (validation-keypoints-fused.json; shoulder_pat_far's pelvis distance off by 0.70 m, a wrong fused knee
    # starting one person far too near). With a start robust to it (the third-shortest segment depth) 107.2 /
    # PA 82.1 against that start's 106.1 / 80.7 (validation-keypoints-fused-depth-rank-3.json,
    # validation-depth-rank-3.json). With the heavy landmark model and two detector passes: 94.8 / PA 71.9 / Inter
    # 98.7 against the default's 95.9 / 73.3 / 108.8 (validation-fused-two-passes.json), but on the dev suite with
    # real perception MPJPE 147.9 / PA 81.4 / Inter 217.2 against 131.6 / 76.7 / 198.1 and 1.7 identity swaps a clip
    # against 0.5 (dev-default-perception-fused-two-passes.json against -heavy-before-horizon-checks.json): off by
    # the rule. Guarded
    # (keypoint_fuse_overlap 0.3, keypoint_min_agreement 0.25; config/real-footage.yaml): validation 95.0 / PA 71.9 /
    # Inter 100.6, real images PCK@0.05 0.89; dev (with the horizon checks) MPJPE 126.5 against 123.8 (+2.2 %), PA
    # 75.6 against 74.2, but Inter 207.3 against 196.6 (+5.5 %) and 1.1 identity swaps a clip against 0.3
    # (validation-fused-two-passes-guarded.json, perception-fused-guarded.json,
    # dev-default-perception-fused-two-passes-guarded.json against -heavy.json): still off by the rule
    fuse_keypoints: bool = False
    # fuse as fuse_keypoints does, but only for a person whose box meets the image border (cut off by the frame:
    # the top-down model squeezes the whole skeleton into what is visible; perception/fusion.py). Real images
    # PCK@0.05 0.825 -> 0.876 (perception-uncut.json against perception.json); the validation clips have nobody at
    # the border: unchanged (validation-default-cut-off.json); dev with real perception MPJPE +0.4 %, Inter -0.8 %,
    # identity swaps 0.33 -> 0.17 a clip, mean penetration 0.108 -> 0.135 mm (dev-default-perception-cut-off.json
    # against -rerun.json): on
    fuse_cut_off: bool = True
    cut_off_margin: float = 0.005  # share of the image's longer side within which a box meets its border
    keypoint_agreement: float = 0.05  # the two agree within this share of the box diagonal
    keypoint_min_conf: float = 0.2  # a joint they disagree on, the detector under this: missing
    keypoint_agreed: str = "mean"  # where they agree: the mean of the two | top-down | detector
    # IoU of a person's box with another person's (or the other identity's predicted box) above which the
    # detector's keypoints are not fused: two overlapping bodies, one detection may mix both (dev pat_on_back,
    # whisper); 1.0: always fused
    keypoint_fuse_overlap: float = 0.3
    # share of the 17 joints that must agree for the detector's keypoints to be fused at all; fewer: the
    # detection mixes two overlapping people (dev high_five), the top-down estimate is kept; 0: always fused
    keypoint_min_agreement: float = 0.25
    # frames after a pair member comes back into view beside the other (unseen the frame before while the other was
    # seen: probably hidden behind them) during which its joints that lie on the other's are marked missing
    # (perception/pipeline.py hidden_joints); 0: never. Validation 89.0 / 70.2 / 89.5 mm, 6.9 px against 89.1 / 70.3 /
    # 90.1, 6.9 (crossing_close's Inter 112.5 against 114.9; the other clips have no such frame); with two detector
    # passes crossing_close's Inter 123.0 against 143.4, depth order 1.0 against 0.87; dev with real perception
    # MPJPE 123.9 both, Inter 192.7 against 191.1, depth order 0.90 against 0.88, mean penetration 0.142 against
    # 0.152 mm (validation-default.json against -no-emerge-check.json, validation-two-detector-passes-emerge-check.json
    # against -rerun.json, dev-default-perception-emerge-check.json against -no-emerge-check.json): on
    emerge_frames: int = 5
    emerge_radius: float = 0.05  # share of the person's keypoint height within which a joint lies on the other's
    depth_erode: int = 3  # px a person's mask is eroded by before the median of an aligned depth image under it
    depth_min_pixels: int = 30  # valid depth pixels a person needs for a depth (fewer: none this frame)


@dataclass
class AppearanceConfig:
    """The appearance branch (interaction_recon/appearance)."""

    resolution: int = 64  # UV Gaussian map is R x R (anny: ~62% of texels carry a Gaussian, 2558 at 64)
    latent_channels: int = 8
    unet_width: int = 16  # channels of the U-Net's first level (doubling per level)
    unet_levels: int = 3
    shared_decoder: bool = True  # one U-Net for both people (False: one each)
    max_offset: float = 0.03  # metres a Gaussian may leave the surface, in its local frame
    opacity_init: float = 0.9
    scale_init: float = 0.6  # tangential std-dev as a fraction of the texel's footprint on the surface
    thickness: float = 0.3  # std-dev along the normal / tangential std-dev
    ssim_weight: float = 0.2  # loss = (1 - w) L1 + w (1 - SSIM)
    mask_margin: int = 2  # pixels the union mask is dilated by to form the loss region
    backend: str = "auto"  # rasterizer: "auto" | "torch" | "gsplat"
    downscale: int = 4  # frames are rendered at 1/downscale of the input size
    every: int = 8  # joint stage and depth-order check: every k-th frame is rendered
    appearance_frames: int = 8  # first stage: the frames with the least contact
    appearance_steps: int = 60
    joint_steps: int = 20
    appearance_lr: float = 1e-2  # CloseApp: 3e-3 over many more steps than a CPU affords
    motion_lr: float = 3e-3  # joint stage: Adam step of the motion corrections (rad, m)
    motion_prior: float = 1.0  # joint stage: weight of the squared motion corrections (per frame mean)
    weight: float = 1.0  # weight of the appearance loss in the joint stage
    penetration: float = 20.0  # joint stage and depth-order check: weight of body-body penetration (m^2)
    order_margin: float = 0.01  # depth order: the image must prefer one order by this share of the loss, else none is flipped
    seed: int = 0  # latent initialisation


@dataclass
class Config:
    body: BodyConfig = field(default_factory=BodyConfig)
    perception: PerceptionConfig = field(default_factory=PerceptionConfig)
    ros: RosConfig = field(default_factory=RosConfig)
    fitting: FittingConfig = field(default_factory=FittingConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)


def _build(cls, data: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    defaults = cls()
    kwargs = {}
    for name, value in data.items():
        default = getattr(defaults, name)
        kwargs[name] = _build(type(default), value or {}, f"{where}.{name}") if dataclasses.is_dataclass(default) else value
    return cls(**kwargs)


def field_at(config, path: str):
    """(owner dataclass, field name) of a dotted path below ``config`` (``fitting.weights.prior``
    below a Config, ``weights.prior`` below a FittingConfig), or None where there is no such field."""
    *parents, leaf = path.split(".")
    obj = config
    for name in parents:
        if not dataclasses.is_dataclass(obj) or not hasattr(obj, name):
            return None
        obj = getattr(obj, name)
    if not dataclasses.is_dataclass(obj) or leaf not in {f.name for f in dataclasses.fields(obj)}:
        return None
    return obj, leaf


def override(config, settings: dict, what: str = "setting"):
    """Set each dotted path of ``settings`` ({path: value}, paths as :func:`field_at` takes
    them) below ``config``; ValueError naming ``what`` for a path that is no field. Returns it."""
    for path, value in settings.items():
        found = field_at(config, path)
        if found is None:
            raise ValueError(f"unknown {what} {path!r}")
        setattr(*found, value)
    return config


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by a YAML file whose layout mirrors :class:`Config`."""
    if path is None:
        return Config()
    data = yaml.safe_load(Path(path).read_text()) or {}
    return _build(Config, data, str(path))
