"""Body-model layer timings for one [2 people, 128 frames] window on this CPU.

Prints and writes benchmarks/results/body.json: forward+backward of the collision mesh and
of the full mesh, and the penetration term alone, each the median of a few repeats.
Targets (2-core CPU): collision mesh fwd+bwd <= 0.5 s, penetration <= 0.5 s per window.
    .venv/bin/python benchmarks/body.py [--frames 128] [--threads 2] [--repeats 5]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import resource
from pathlib import Path

import torch

from interaction_recon.body import create
from interaction_recon.body.collision import BodyCollider
from timing import median_seconds

TARGETS_S = {"collision_mesh_fwd_bwd": 0.5, "penetration_fwd_bwd": 0.5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "body.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    body = create()
    collider = BodyCollider(body)

    params = body.neutral_params(2, args.frames)
    params.body_pose.normal_(0.0, 0.15)
    params.global_orient[1, :, 1] = math.pi  # face to face, chests overlapping a few cm
    params.transl[1, :, 2] = 0.22
    leaf = lambda: params.map(lambda t: t.clone().requires_grad_(True))  # noqa: E731

    def collision_mesh():
        out = body(leaf())
        (out.collision_vertices.square().sum() + out.joints.sum() + out.blazepose33.sum()).backward()

    def full_mesh():
        out = body(leaf(), full_mesh=True)
        out.vertices.square().sum().backward()

    with torch.no_grad():
        rest = collider.rest(params)
        posed = body(params)

    def penetration():  # the term alone, on posed bodies that are leaves of the graph
        out = dataclasses.replace(posed, **{name: getattr(posed, name).clone().requires_grad_(True)
                                            for name in ("collision_vertices", "joints", "rotations")})
        collider.penetration(out, rest).square().sum().backward()

    timings = {
        "collision_mesh_fwd_bwd": median_seconds(collision_mesh, args.repeats),
        "full_mesh_fwd_bwd": median_seconds(full_mesh, args.repeats),
        "penetration_fwd_bwd": median_seconds(penetration, args.repeats),
    }
    with torch.no_grad():
        depth = collider.penetration(body(params), rest)
    result = {
        "batch": [2, args.frames],
        "threads": args.threads,
        "machine": f"{platform.machine()} {platform.processor() or ''} x{torch.get_num_threads()} threads".strip(),
        "body_model": body.name,
        "vertices": int(body.faces.max()) + 1,
        "collision_vertices": int(posed.collision_vertices.shape[2]),
        "collision_spheres": int(collider.sphere_radius.shape[0]),
        "seconds": {k: round(v, 4) for k, v in timings.items()},
        "ratio_to_target": {k: round(timings[k] / t, 3) for k, t in TARGETS_S.items()},
        "full_over_collision_mesh": round(timings["full_mesh_fwd_bwd"] / timings["collision_mesh_fwd_bwd"], 2),
        "penetrating_vertices_in_scene": int((depth > 0).sum()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
