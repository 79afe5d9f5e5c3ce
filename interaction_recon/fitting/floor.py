"""The floor plane in the camera frame, from the camera's pose above it (a robot's URDF / TF).

OpenCV camera frame (x right, y down, z forward). ``camera_height`` h (m) above the floor,
``pitch`` (deg, optical axis below the horizon positive), ``roll`` (deg, about the optical
axis; positive turns the world's up towards the image's +x). The floor is the set of points p
with ``up . p = -h``; a point's height above it is ``up . p + h``.

    up = up_vector(pitch, roll)                      # [3] unit, camera frame
    h, pitch, roll = camera_pose(R, C)               # from extrinsics, world z up, floor z = 0
    plane = estimate(joints, valid)                  # [4] (up, height) from the fitted people's feet
    pitch = pitch_from_height(joints, seen, 1.5)     # deg, the camera assumed 1.5 m above the floor
    pitch = pitch_from_horizon(kp, conf, K, "blazepose33", 1.5)  # deg or None: people at many distances
    height, pitch = camera_from_boxes(everyone, K, (H, W), 1.65, 3, 1.5, 6.0)  # or None
    pitch = pitch_from_shins(landmarks, conf)        # deg or None: the 3D landmarks' lower legs
    origin, quat = frame_pose(plane)                 # a floor frame for TF
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from interaction_recon.body.skeleton import BLAZEPOSE33, layout_names
from interaction_recon.fitting.losses import FOOT_JOINTS, foot_height, spine_up
from interaction_recon.fitting.scale import FOOT_ABOVE_FLOOR


def up_vector(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The world's up direction [3] in the camera frame of a camera at ``pitch`` / ``roll``."""
    p, r = np.radians(pitch_deg), np.radians(roll_deg)
    return np.array([np.cos(p) * np.sin(r), -np.cos(p) * np.cos(r), -np.sin(p)])


def camera_pose(R: np.ndarray, C: np.ndarray, up_world=(0.0, 0.0, 1.0)) -> tuple[float, float, float]:
    """(height m, pitch deg, roll deg) of a camera with world-to-camera rotation ``R`` [3, 3]
    (x_cam = R (x_world - C)) and centre ``C`` [3], the floor through the world origin with
    normal ``up_world``."""
    up_w = np.asarray(up_world, np.float64) / np.linalg.norm(up_world)
    u = np.asarray(R, np.float64) @ up_w
    pitch = np.degrees(np.arcsin(np.clip(-u[2], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(u[0], -u[1]))
    return float(np.asarray(C, np.float64) @ up_w), float(pitch), float(roll)


def estimate(joints, valid, up=None, min_frames: int = 8) -> np.ndarray | None:
    """The floor the fitted people stand on, [4] = (up [3] unit, camera height m) in the camera
    frame: up as given (torch [3]) or along the pair's mean spine, the height from the median
    of each frame's lowest foot joint (the joint's own height over the floor added). joints
    [2, T, 24, 3] torch camera frame; valid [T] frames with both people observed. None with
    fewer than ``min_frames`` such frames or a camera not above the feet."""
    if int(valid.sum()) < min_frames:
        return None
    with torch.no_grad():
        up = spine_up(joints, valid) if up is None else up.to(joints)
        lowest = foot_height(joints[:, valid], up)  # [2, n] up positive, camera at 0
    height = -float(lowest.median()) + FOOT_ABOVE_FLOOR
    up = up.cpu().numpy().astype(np.float64)
    return np.append(up / np.linalg.norm(up), height) if height > 0 else None


def pitch_from_height(joints, seen, camera_height: float, min_samples: int = 8) -> float | None:
    """The camera's pitch (deg) that puts the people's feet on a floor ``camera_height`` m below
    it (no roll): for each observed (person, frame) the lowest foot joint in the image, at
    distance R along a ray phi below the optical axis, is ``camera_height`` below the camera
    when sin(pitch + phi) = (camera_height - FOOT_ABOVE_FLOOR) / R; the median over them.
    joints [2, T, 24, 3] torch camera frame (sized people: their distance sets R); seen [2, T].
    None with fewer than ``min_samples`` samples. One camera cannot tell its own pitch: this
    turns an assumed height into one, as good as the assumption and the people's sizes."""
    with torch.no_grad():
        feet = joints[..., FOOT_JOINTS, :][seen]  # [n, 4, 3]
    if feet.shape[0] < min_samples:
        return None
    feet = feet.cpu().numpy().astype(np.float64)
    low = np.take_along_axis(feet, feet[..., 1].argmax(-1)[:, None, None], 1)[:, 0]  # [n, 3] lowest in the image
    distance, below = np.hypot(low[:, 1], low[:, 2]), np.arctan2(low[:, 1], low[:, 2])
    sin = np.clip((camera_height - FOOT_ABOVE_FLOOR) / distance, -1.0, 1.0)
    return float(np.degrees(np.median(np.arcsin(sin) - below)))


_SHINS = tuple((f"{side}_knee", f"{side}_ankle") for side in ("left", "right"))


def pitch_from_shins(landmarks: np.ndarray, confidence: np.ndarray, min_conf: float = 0.5,
                     max_lean_deg: float = 45.0, min_samples: int = 20) -> float | None:
    """The camera's pitch (deg, no roll) from the keypoint model's 3D landmarks in the camera
    frame (:func:`interaction_recon.fitting.pose3d.camera_landmarks`, [P, T, 33, 3], BlazePose-33)
    and the 2D confidence [P, T, 33]: the median lean of the lower legs (ankle to knee) in the
    camera's y-z plane, a standing person's shins being about vertical. The model draws the
    torso and thighs upright to the image whatever the pitch, but leans the shins as seen:
    this pitch is 0.0-2.9 deg off on the validation clips, 0.2-9.1 on the dev suite
    (benchmarks/results/landmark-lean.json). Shins seen with both ends at ``min_conf`` or more and leaning at most
    ``max_lean_deg`` either way count (none of a sitting or lying person's); None with fewer
    than ``min_samples``."""
    leans = []
    for knee, ankle in _SHINS:
        k, a = BLAZEPOSE33.index(knee), BLAZEPOSE33.index(ankle)
        shin = (landmarks[..., k, :] - landmarks[..., a, :]).reshape(-1, 3).astype(np.float64)
        seen = (np.minimum(confidence[..., k], confidence[..., a]).reshape(-1) >= min_conf) & np.isfinite(shin).all(-1)
        leans.append(np.degrees(np.arctan2(shin[seen, 2], -shin[seen, 1])))
    lean = np.concatenate(leans)
    lean = lean[np.abs(lean) <= max_lean_deg]
    return None if lean.size < min_samples else float(-np.median(lean))


SHARP_SPAN_DEG = 10.0  # one_height: how far to either side a sharp minimum's spread must rise
BOOTSTRAP = 32  # camera_from_boxes: draws of the people that the pitch must hold over
BOOTSTRAP_STEP = 1.0  # deg: the pitch grid of those draws (their spread is compared with degrees)
MAX_BOXES = 1000  # camera_from_boxes: more boxes are thinned to about this many (every k-th)
_SOLE = ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index")
_TOP = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def _below_horizon(u: np.ndarray, v: np.ndarray, K: np.ndarray, pitch_deg: float) -> np.ndarray:
    """tan of the angle below the horizon of the rays through pixels (u, v) [n] of a camera
    pitched ``pitch_deg`` down (no roll; an array [G, 1] gives [G, n])."""
    x, y = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    p = np.radians(pitch_deg)
    down, forward = y * np.cos(p) + np.sin(p), np.cos(p) - y * np.sin(p)
    return down / np.hypot(x, forward)


def pitch_from_horizon(keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray, layout: str,
                       min_ratio: float, min_conf: float = 0.5, max_sole_deg: float = 60.0,
                       sharpness: float = 0.5) -> float | None:
    """The camera's pitch (deg, no roll) from people of one height seen at different distances
    (:func:`one_height`), their lowest sole point and highest face point in keypoints
    [P, T, K, 2] px, confidence [P, T, K] of ``layout`` (BlazePose-33 or COCO-17: ankles and
    the face); None when unusable or undecided."""
    names = layout_names(layout)
    sole = [names.index(n) for n in _SOLE if n in names]
    top = [names.index(n) for n in _TOP if n in names]
    if min_ratio <= 0 or len(sole) < 2 or not top:
        return None
    kp, conf = np.nan_to_num(keypoints.reshape(-1, len(names), 2)), confidence.reshape(-1, len(names))
    ok = (conf[:, sole[:2]] >= min_conf).all(-1) & (conf[:, top] >= min_conf).any(-1)
    kp, conf = kp[ok], conf[ok]
    i_f = np.where(conf[:, sole] >= min_conf, kp[:, sole, 1], -np.inf).argmax(-1)
    i_t = np.where(conf[:, top] >= min_conf, kp[:, top, 1], np.inf).argmin(-1)
    feet = kp[np.arange(len(kp)), np.array(sole)[i_f]]  # [n, 2] the lowest sole point
    face = kp[np.arange(len(kp)), np.array(top)[i_t]]  # [n, 2] the highest face point
    found = one_height(feet, face, K, min_ratio, max_sole_deg, sharpness)
    return None if found is None else found[0]


def camera_from_boxes(everyone: list[tuple[np.ndarray, np.ndarray]], K: np.ndarray,
                      image_size: tuple[int, int] | None, box_height: float, min_people: int, min_ratio: float,
                      max_sd_deg: float, max_sole_deg: float = 60.0, margin: float = 2.0,
                      resamples: int = BOOTSTRAP) -> tuple[float, float] | None:
    """(camera height m, pitch deg; no roll) from everyone's person boxes: people of one
    height at different distances (:func:`one_height` on each box's bottom and top centre),
    each box spanning ``box_height`` m (an average standing adult's); the camera stands that
    many box heights above the floor. everyone: per frame (track ids [M], boxes [M, 4] x0, y0,
    x1, y1 px). Boxes within ``margin`` px of the image's top or bottom edge (``image_size``
    (H, W)) are cut off and left out. People differ in height, so the pitch is taken only where
    it holds over the people: re-estimated on ``resamples`` draws of the people with replacement
    (seeded), its standard deviation must stay within ``max_sd_deg``. None where fewer than
    ``min_people`` people are in view in a median frame (0: never) or when undecided."""
    if min_people <= 0 or not everyone or np.median([len(i) for i, _ in everyone]) < min_people:
        return None
    ids, feet, top = _uncut(everyone, image_size, margin)
    step = max(1, -(-len(ids) // MAX_BOXES))  # thinned to about MAX_BOXES
    ids, feet, top = ids[::step], feet[::step], top[::step]
    found = one_height(feet, top, K, min_ratio, max_sole_deg, sharpness=np.inf)
    if found is None:
        return None
    people = np.unique(ids)
    rows = [np.flatnonzero(ids == i) for i in people]
    rng, pitches = np.random.default_rng(0), []
    for _ in range(resamples):
        pick = np.concatenate([rows[i] for i in rng.integers(0, len(people), len(people))])
        again = one_height(feet[pick], top[pick], K, min_ratio, max_sole_deg, sharpness=np.inf, step=BOOTSTRAP_STEP)
        pitches.append(np.nan if again is None else again[0])
    if pitches and (np.isnan(pitches).mean() > 0.1 or np.nanstd(pitches) > max_sd_deg):
        return None
    return box_height * found[1], found[0]


def height_from_boxes(everyone: list[tuple[np.ndarray, np.ndarray]], K: np.ndarray,
                      image_size: tuple[int, int] | None, pitch_deg: float, box_height: float,
                      margin: float = 2.0, min_samples: int = 20) -> float | None:
    """The camera's height (m) over the floor, its pitch known: the median over everyone's
    boxes (per frame (ids [M], boxes [M, 4] px), those cut by the image's top or bottom edge
    left out) of box_height x tan(a_f) / (tan(a_f) - tan(a_t)), the box's bottom and top
    centre a_f and a_t below the horizon (:func:`one_height`). None with fewer than
    ``min_samples`` boxes standing on the floor below the horizon."""
    _, feet, top = _uncut(everyone, image_size, margin)
    ratio = height_ratios(feet, top, K, pitch_deg)
    good = np.isfinite(ratio)
    return box_height * float(np.median(ratio[good])) if good.sum() >= min_samples else None


def height_ratios(feet: np.ndarray, top: np.ndarray, K: np.ndarray, pitch_deg: float) -> np.ndarray:
    """[n] camera height over the height of each person standing with its lowest point ``feet``
    [n, 2] px and highest point ``top`` [n, 2] px, seen by a camera pitched ``pitch_deg`` (no
    roll): tan(a_f) / (tan(a_f) - tan(a_t)) (:func:`one_height`); NaN where the feet are not
    below the horizon or the top not above the feet."""
    return _ratios(_below_horizon(*feet.T, K, pitch_deg), _below_horizon(*top.T, K, pitch_deg))


def _ratios(a_f: np.ndarray, a_t: np.ndarray) -> np.ndarray:
    """tan(a_f) / (tan(a_f) - tan(a_t)) of feet and tops ``a_f``, ``a_t`` (tan below the horizon,
    any shape); NaN where the feet are not below the horizon or the top not above the feet."""
    good = (a_f > 0) & (a_f - a_t > 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(good, a_f / (a_f - a_t), np.nan)


def _uncut(everyone: list[tuple[np.ndarray, np.ndarray]], image_size: tuple[int, int] | None,
           margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids [n], bottom centres [n, 2] px, top centres [n, 2] px) of everyone's boxes (per frame
    (ids [M], boxes [M, 4])) that the image's top and bottom edges (``image_size`` (H, W), within
    ``margin`` px) do not cut."""
    ids = np.concatenate([np.asarray(i, np.int64).reshape(-1) for i, _ in everyone] + [np.zeros(0, np.int64)])
    boxes = np.concatenate([np.asarray(b, np.float64).reshape(-1, 4) for _, b in everyone] + [np.zeros((0, 4))])
    keep = np.isfinite(boxes).all(-1) & (boxes[:, 3] - boxes[:, 1] > 1.0)
    if image_size is not None:
        keep &= (boxes[:, 1] > margin) & (boxes[:, 3] < image_size[0] - margin)
    ids, boxes = ids[keep], boxes[keep]
    centre = 0.5 * (boxes[:, 0] + boxes[:, 2])
    return ids, np.stack([centre, boxes[:, 3]], -1), np.stack([centre, boxes[:, 1]], -1)


def one_height(feet: np.ndarray, top: np.ndarray, K: np.ndarray, min_ratio: float, max_sole_deg: float = 60.0,
               sharpness: float = 0.5, min_samples: int = 20, step: float = 0.25) -> tuple[float, float] | None:
    """(pitch deg, camera height over the people's height) of a camera (no roll) seeing people
    of one height at different distances, from each one's lowest point ``feet`` [n, 2] px and
    highest point ``top`` [n, 2] px (Hoiem et al., "Putting objects in perspective"): a standing
    person at horizontal distance D below a camera h high has its feet tan(a_f) = h / D and its
    top tan(a_t) = (h - H) / D below the horizon, so tan(a_f) / (tan(a_f) - tan(a_t)) = h / H is
    the same for everyone at the right pitch; the pitch (searched over -30..75 deg in ``step``
    deg) is the one whose ratios spread least (median absolute deviation of their logs), h / H
    their median there. Only when the people's image heights span ``min_ratio`` (90th over 10th
    percentile): near one distance every pitch fits. Two more checks keep a pitch the data do
    not decide out:
    - no pitch that puts the feet (90th percentile) more than ``max_sole_deg`` below the
      horizon, people standing almost beneath the camera. Towards the nadir every ratio tends
      to one and the spread to nothing, a false minimum;
    - the minimum must be sharp: its spread at most ``sharpness`` times the smaller spread
      10 deg to either side. Where the spread is about the same at every pitch, the lowest is
      noise.
    None with fewer than ``min_samples`` points, ``min_ratio`` <= 0 or when undecided."""
    if min_ratio <= 0 or len(feet) < min_samples:
        return None
    size = feet[:, 1] - top[:, 1]
    if np.percentile(size, 90) < min_ratio * max(np.percentile(size, 10), 1e-6):
        return None
    pitches = np.arange(-30.0, 75.0, step)[:, None]  # [G, 1] the candidates
    a_f = _below_horizon(*feet.T, K, pitches)  # [G, n]
    r = np.log(_ratios(a_f, _below_horizon(*top.T, K, pitches)))
    good = np.isfinite(r)
    steep = np.percentile(a_f, 90, axis=1) > np.tan(np.radians(max_sole_deg))  # [G] people beneath the camera
    valid = (good.mean(1) >= 0.9) & ~steep  # feet above the horizon (a camera below the soles) rule a pitch out too
    if not valid.any():
        return None
    spread = np.full(len(pitches), np.inf)
    centre = np.full(len(pitches), np.nan)
    centre[valid] = np.nanmedian(r[valid], 1)
    spread[valid] = np.nanmedian(np.abs(r[valid] - centre[valid, None]), 1)
    best = int(np.argmin(spread))
    step = round(SHARP_SPAN_DEG / float(pitches[1, 0] - pitches[0, 0]))
    sides = spread[[i for i in (best - step, best + step) if 0 <= i < len(pitches)]]
    if np.isfinite(sharpness) and (not np.isfinite(sides).any()
                                   or spread[best] > sharpness * sides[np.isfinite(sides)].min()):
        return None
    return float(pitches[best, 0]), float(np.exp(centre[best]))


def frame_pose(plane: np.ndarray, forward=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """(origin [3], quaternion [x, y, z, w]) in the camera frame of a frame on the floor
    ``plane`` [4] (up, height): the origin below the camera, z up, x along the camera's
    ``forward`` direction laid onto the floor."""
    up, height = np.asarray(plane[:3], np.float64), float(plane[3])
    x = np.asarray(forward, np.float64) - (np.asarray(forward, np.float64) @ up) * up
    x = x / max(np.linalg.norm(x), 1e-9)
    return -height * up, Rotation.from_matrix(np.stack([x, np.cross(up, x), up], 1)).as_quat()
