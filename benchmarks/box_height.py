"""How tall is a person detector's box in the world? For ``fitting.box_height``: the camera
height that everyone's boxes give (fitting/floor.py ``camera_from_boxes``) is in units of it.

On each validation clip (outside-made, camera pose and joints known) every box of the pair
that the default perception gives, not cut off by the image's top or bottom, is turned into
the world height it spans at the true camera pose: a box whose bottom and top lie tan(a_f)
and tan(a_t) below the horizon spans h (a_f - a_t) / a_f m of a camera h m above the floor.
Its ratio to the head joint's true height over the floor (the person nearest the box in the
image) is taken per box; the clip's median is reported, and the suite's median times the
body model's average head joint height over its soles (T-posed, the default shape) gives the
box height of an average body of the model that the fit sizes people with.

Writes benchmarks/results/box-height.json.
    .venv/bin/python benchmarks/box_height.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from interaction_recon.body import create
from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.eval import validation
from interaction_recon.eval.bench import git_commit
from interaction_recon.fitting.floor import camera_pose, height_ratios
from interaction_recon.paths import cache_dir

RESULTS = Path(__file__).parent / "results"
HEAD = SMPL_JOINTS.index("head")
MARGIN = 2.0  # px: boxes this near the image's top or bottom are cut off (as camera_from_boxes has it)


def box_ratios(scene, track) -> np.ndarray:
    """[n] each uncut box's world height over the matched person's head joint height."""
    height, pitch, _ = camera_pose(scene.gt["R"], scene.gt["C"])
    with np.load(scene.root / "gt.npz") as data:
        head = data["joints_world"][..., HEAD, 2]  # [2, T] m above the floor (world z up, floor z = 0)
    truth = scene.gt["boxes"]  # [2, T, 4] around the true 2D joints
    ratios = []
    for p, t in zip(*np.nonzero(track.present)):
        box = track.boxes[p, t]
        if box[1] <= MARGIN or box[3] >= track.image_size[0] - MARGIN:
            continue
        centre = 0.5 * (box[:2] + box[2:])
        person = int(np.argmin(np.linalg.norm(0.5 * (truth[:, t, :2] + truth[:, t, 2:]) - centre, axis=-1)))
        ratio = height_ratios(np.array([[centre[0], box[3]]]), np.array([[centre[0], box[1]]]), scene.gt["K"], pitch)
        ratios.append(height / ratio[0] / head[person, t])
    return np.array(ratios)


def model_head_height() -> float:
    """The body model's average body's head joint over its lowest vertex (m, T-posed)."""
    body = create()
    with torch.no_grad():
        out = body.rest(body.default_shape(1), full_mesh=True)
    return float(out.joints[0, 0, HEAD, 1] - out.vertices[0, 0, :, 1].min())


def main() -> None:
    clips, everything = {}, []
    for scene in validation.load_suite(None):
        ratios = box_ratios(scene, validation.perceive(scene, cache_dir()))
        everything.append(ratios)
        clips[scene.name] = {"boxes": int(len(ratios)), "median_ratio": round(float(np.median(ratios)), 3),
                             "p10_p90": [round(float(q), 3) for q in np.percentile(ratios, [10, 90])]}
        print(scene.name, clips[scene.name], flush=True)
    ratio = float(np.median(np.concatenate(everything)))
    head = model_head_height()
    out = {"commit": git_commit(), "load": os.getloadavg()[0], "clips": clips, "median_ratio": round(ratio, 3),
           "model_head_height_m": round(head, 3), "box_height_m": round(ratio * head, 3)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "box-height.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
