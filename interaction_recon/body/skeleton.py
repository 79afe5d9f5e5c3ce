"""Joint, keypoint and part vocabularies shared by every body-model backend.

Everything here is plain data: SMPL-24 joint order and kinematic tree, the COCO-17 and
BlazePose-33 keypoint layouts (as lists of landmark names that each backend knows how to
place), and the two part vocabularies (SMPL-24 parts, Ask-Pose-Unite coarse parts).
"""

import math

SMPL_JOINTS = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = len(SMPL_JOINTS)
NUM_BODY_JOINTS = NUM_JOINTS - 1  # rotations in body_pose (all but the pelvis)

# Largest rotation (rad) of each joint away from the T-pose; the pelvis (global) is free.
JOINT_LIMITS = {
    "pelvis": math.pi, "left_hip": 2.2, "right_hip": 2.2, "spine1": 0.6, "left_knee": 2.6,
    "right_knee": 2.6, "spine2": 0.6, "left_ankle": 0.9, "right_ankle": 0.9, "spine3": 0.6,
    "left_foot": 0.6, "right_foot": 0.6, "neck": 1.0, "left_collar": 0.5, "right_collar": 0.5,
    "head": 1.0, "left_shoulder": 2.5, "right_shoulder": 2.5, "left_elbow": 2.6,
    "right_elbow": 2.6, "left_wrist": 1.2, "right_wrist": 1.2, "left_hand": 0.8, "right_hand": 0.8,
}
BODY_POSE_LIMITS = tuple(JOINT_LIMITS[n] for n in SMPL_JOINTS[1:])  # [23], body_pose order


def flip_permutation(names) -> list[int]:
    """Index permutation that swaps every left name (``left_*``, ``*_left``) with its right twin."""
    index = {n: i for i, n in enumerate(names)}

    def twin(n):
        if n.startswith("left_"):
            return "right_" + n[5:]
        if n.startswith("right_"):
            return "left_" + n[6:]
        if n.endswith("_left"):
            return n[:-5] + "_right"
        if n.endswith("_right"):
            return n[:-6] + "_left"
        return n

    return [index[twin(n)] for n in names]


COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)

# The 2D keypoint layouts the fit accepts, by name.
KEYPOINT_LAYOUTS = {"coco17": COCO17, "blazepose33": BLAZEPOSE33, "smpl24": SMPL_JOINTS}


def layout_names(layout: str) -> tuple[str, ...]:
    """The keypoint names of ``layout`` in order; ValueError for an unknown layout."""
    if layout not in KEYPOINT_LAYOUTS:
        raise ValueError(f"unknown keypoint layout {layout!r}; choose from {sorted(KEYPOINT_LAYOUTS)}")
    return KEYPOINT_LAYOUTS[layout]


# Every landmark a backend must place (the union of both layouts).
LANDMARKS = tuple(dict.fromkeys(COCO17 + BLAZEPOSE33))

# The 24 SMPL parts: a vertex belongs to the joint whose rotation moves it most.
SMPL_PARTS = SMPL_JOINTS

# Ask-Pose-Unite's coarse parts (paper, Sec. 3), each with a side where the body has two.
# "arm" and "leg" are groups: "arm" = upper arm + elbow + forearm; "leg" is the lower leg
# (APU lists thigh and knee separately), so a "leg" contact is a shin/calf contact.
SIDED_PARTS = ("hand", "forearm", "upper arm", "elbow", "shoulder", "thigh", "knee", "leg", "foot")
CENTRAL_PARTS = ("chest", "stomach", "back", "waist", "neck", "head", "face")
COARSE_PARTS = tuple(
    [f"{side} {p}" for p in SIDED_PARTS for side in ("left", "right")] + list(CENTRAL_PARTS)
)
COARSE_GROUPS = {
    f"{side} arm": (f"{side} upper arm", f"{side} elbow", f"{side} forearm")
    for side in ("left", "right")
}


def coarse_part_members(name: str) -> tuple[str, ...]:
    """The coarse part labels a contact-annotation name covers.

    ``"left arm"`` -> its three arm parts; ``"hand"`` (no side, or ``"both hand"``) -> both
    hands; a plain label -> itself. Raises ``KeyError`` for unknown names.
    """
    name = name.strip().lower()
    if name in COARSE_GROUPS:
        return COARSE_GROUPS[name]
    if name in COARSE_PARTS:
        return (name,)
    bare = name.removeprefix("both ")
    if bare in SIDED_PARTS or bare == "arm":
        return coarse_part_members(f"left {bare}") + coarse_part_members(f"right {bare}")
    raise KeyError(f"unknown body part {name!r}; known: {COARSE_PARTS + tuple(COARSE_GROUPS)}")


def mirror_part(name: str) -> str:
    """The coarse part's left/right twin ("left hand" -> "right hand"; central parts unchanged)."""
    return name.replace("left", "@").replace("right", "left").replace("@", "right")
