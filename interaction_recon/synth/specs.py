"""The interaction table of the motion generator: which interactions exist, where each person
stands, what their hands reach for and which contacts they make.

Interaction frame (before the random world yaw): person 0 stands at the origin facing +z
(left side at +x) at contact time; person 1 faces them ("face"), stands at their right
("side") or in front facing away ("behind"). Offsets in the tables are (left, up, forward)
metres in the frame of the person they refer to. Tables describe right-handed versions;
handedness mirrors the finished motion through the x = 0 plane.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from interaction_recon.body.model import BodyParams

FPS = 30.0

INTERACTIONS = (
    "handshake", "hug", "side_hug", "hug_from_behind", "high_five", "pat_on_back", "whisper",
    "push", "punch_block", "dance_holding_hands", "help_stand_up", "arm_in_arm_walk",
)


@dataclass
class Motion:
    """One generated interaction: parameters [2, T] in the world frame (y up, floor y = 0)."""

    kind: str
    params: BodyParams
    contact_plan: list[tuple[int, int, str, str]]
    fps: float = FPS
    variation: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    """Table row of one interaction (right-handed, interaction frame).

    targets: per person, {"left"/"right": (who, joints, offset, pole)}: the wrist goes to the
      mean of ``joints`` of ``who`` ("self", "other"; "mid" = self's joints[0] and other's
      joints[1]) plus ``offset`` in that person's frame (mid: self's frame); ``pole`` (self
      frame) is where the elbow points.
    torso: per person, {joint: rotvec} reached at contact.
    during: contact-phase modulation: "hold", "pump", "rub", "sway", "walk", "stand_up".
    retreat: (person, metres) stepped backwards after release.
    child: the people who may be drawn as a child (where the contacts stay reachable).
    as_child: {person: (targets, contacts)} replacing that person's targets and the contacts
      when they are drawn as a child (a child hugs an adult around the waist, not the back).
    """

    layout: str
    gap: tuple[float, float]
    hold: int
    contacts: tuple[tuple[str, str], ...]
    targets: tuple[dict, dict]
    torso: tuple[dict, dict] = ({}, {})
    walkers: tuple[int, ...] = (0, 1)
    during: str = "hold"
    retreat: tuple[int, float] | None = None
    child: tuple[int, ...] = ()
    as_child: dict = field(default_factory=dict)


_STRADDLE = {"left_hip": (0, 0, 0.17), "right_hip": (0, 0, -0.17)}  # feet wide, around the other's
_OUT_R, _OUT_L = (-1.0, -0.6, -0.2), (1.0, -0.6, -0.2)  # elbows out and down
_LEAN = lambda a: {"spine1": (a / 3, 0, 0), "spine2": (a / 3, 0, 0), "spine3": (a / 3, 0, 0)}

SPECS = {
    "handshake": Spec("face", (0.62, 0.75), 60, (("right hand", "right hand"),),
                       ({"right": ("mid", ("right_shoulder", "right_shoulder"), (0.0, -0.32, -0.03), _OUT_R)},) * 2,
                       (_LEAN(0.1),) * 2, during="pump", child=(0, 1)),
    "hug": Spec("face", (0.3, 0.36), 75, (("right hand", "back"), ("back", "right hand")),
                 ({"right": ("other", ("spine3",), (0.15, 0.05, -0.06), (-1.0, 0.0, -0.3)),
                   "left": ("other", ("spine3",), (-0.15, 0.05, -0.06), (1.0, 0.0, -0.3))},
                  {"right": ("other", ("spine1",), (0.14, 0.0, -0.06), (-1.0, -0.3, -0.3)),
                   "left": ("other", ("spine1",), (-0.14, 0.0, -0.06), (1.0, -0.3, -0.3))}),
                 ({**_LEAN(0.12), "neck": (0, -0.4, 0.2)}, {**_LEAN(0.12), "neck": (0, -0.4, 0.2), **_STRADDLE}),
                 retreat=(1, 0.4), child=(1,),
                 as_child={1: ({"right": ("other", ("pelvis",), (0.17, 0.06, 0.0), (-1.0, -0.3, 0.0)),
                                "left": ("other", ("pelvis",), (-0.17, 0.06, 0.0), (1.0, -0.3, 0.0))},
                               (("right hand", "back"), ("waist", "right hand")))}),
    "side_hug": Spec("side", (0.4, 0.46), 60, (("right hand", "right shoulder"), ("back", "left hand")),
                      ({"right": ("other", ("right_shoulder",), (0.0, 0.08, -0.03), (0.0, 0.3, -1.0))},
                       {"left": ("other", ("spine1",), (-0.04, 0.0, -0.16), (1.0, -0.5, -1.0))}),
                      ({"spine3": (0, 0, 0.1), "neck": (0, -0.2, 0.1)}, {"spine3": (0, 0, -0.1)}),
                      walkers=(1,), child=(1,)),
    "hug_from_behind": Spec("behind", (0.27, 0.32), 70, (("right hand", "stomach"), ("left hand", "stomach")),
                             ({"right": ("other", ("spine1",), (-0.05, 0.0, 0.19), _OUT_R),
                               "left": ("other", ("spine1",), (0.05, 0.0, 0.19), _OUT_L)},
                              {"right": ("self", ("spine3",), (-0.07, 0.0, 0.22), _OUT_R),
                               "left": ("self", ("spine3",), (0.07, 0.0, 0.22), _OUT_L)}),
                             ({"spine3": (0.05, 0, 0), "neck": (0, -0.3, -0.35), **_STRADDLE}, {}), walkers=(0,),
                             retreat=(0, 0.4)),
    "high_five": Spec("face", (0.6, 0.75), 8, (("right hand", "right hand"),),
                       ({"right": ("mid", ("right_shoulder", "right_shoulder"), (0.0, 0.3, -0.08), (-1.0, -1.0, 0.0))},) * 2, child=(0, 1)),
    "pat_on_back": Spec("side", (0.42, 0.5), 45, (("right hand", "back"),),
                         ({"right": ("other", ("spine3",), (0.06, 0.0, -0.12), (-0.3, -0.2, -1.0))}, {}),
                         ({"spine3": (0, 0, 0.08)}, {"neck": (0, 0.4, 0)}), walkers=(1,), during="rub", child=(1,)),
    "whisper": Spec("side", (0.42, 0.5), 60, (("right hand", "left shoulder"),),
                     ({"right": ("other", ("left_shoulder",), (0.0, 0.08, 0.0), (-0.3, -1.0, -0.5)),
                       "left": ("self", ("head",), (-0.07, -0.08, 0.13), _OUT_L)}, {}),
                     ({"spine2": (0, 0, 0.12), "spine3": (0, 0, 0.12), "neck": (0, -0.5, 0.2)}, {"neck": (0, 0.3, 0)}),
                     walkers=(0,), child=(1,)),
    "push": Spec("face", (0.55, 0.62), 10, (("right hand", "chest"), ("left hand", "chest")),
                  ({"right": ("other", ("spine3",), (0.1, 0.02, 0.24), _OUT_R),
                    "left": ("other", ("spine3",), (-0.1, 0.02, 0.24), _OUT_L)}, {}),
                  (_LEAN(0.2), _LEAN(-0.15)), walkers=(0,), retreat=(1, 0.5)),
    "punch_block": Spec("face", (0.68, 0.78), 10, (("right hand", "left forearm"),),
                         ({"right": ("other", ("left_elbow", "left_wrist"), (0.0, 0.0, 0.14), _OUT_R),
                           "left": ("self", ("head",), (0.08, -0.16, 0.2), _OUT_L)},
                          {"left": ("self", ("head",), (-0.04, 0.0, 0.24), (1.0, -0.6, 0.0)),
                           "right": ("self", ("head",), (-0.1, -0.16, 0.2), _OUT_R)}),
                         (_LEAN(0.12), _LEAN(-0.05)), walkers=(0,), retreat=(0, 0.3)),
    "dance_holding_hands": Spec("face", (0.55, 0.68), 90, (("right hand", "left hand"), ("left hand", "right hand")),
                                 ({"right": ("mid", ("right_shoulder", "left_shoulder"), (0.0, -0.35, -0.03), _OUT_R),
                                   "left": ("mid", ("left_shoulder", "right_shoulder"), (0.0, -0.35, -0.03), _OUT_L)},) * 2,
                                 during="sway", child=(0, 1)),
    "help_stand_up": Spec("face", (0.95, 1.05), 75, (("right hand", "right hand"),),
                           ({"right": ("mid", ("right_shoulder", "right_shoulder"), (0.0, -0.12, -0.03), _OUT_R)},) * 2,
                           (_LEAN(0.35), {}), walkers=(0,), during="stand_up", child=(1,)),
    "arm_in_arm_walk": Spec("side", (0.4, 0.46), 90, (("right hand", "left forearm"),),
                             ({"right": ("other", ("left_elbow", "left_wrist"), (0.0, 0.08, 0.0), (-1.0, -0.5, -0.4))},
                              {"left": ("self", ("spine1",), (0.19, 0.06, 0.3), (0.4, -1.0, -0.4))}),
                             walkers=(0, 1), during="walk"),
}

# Seated person of help_stand_up: sitting on the floor, knees up -> crouch -> standing.
SIT = {"left_hip": (-1.45, 0, 0), "right_hip": (-1.45, 0, 0), "left_knee": (1.5, 0, 0),
        "right_knee": (1.5, 0, 0), **_LEAN(0.3)}
CROUCH = {"left_hip": (-1.7, 0, 0), "right_hip": (-1.7, 0, 0), "left_knee": (2.2, 0, 0),
           "right_knee": (2.2, 0, 0), **_LEAN(0.5)}
