"""How well the floor found under the fitted people (fitting/floor.py ``estimate``, what the
node publishes as ``ros.floor_frame``) matches each validation clip's true floor.

Reads the kept reconstructions of ``interaction-recon bench --suite validation --method M``
(``<cache>/validation/<clip>/<M>/results.npz``, run that first) and the clips' camera pose
(gt R, C: world z up, floor z = 0). Per clip: the angle between the estimated and true up
directions (deg) and the camera height error (m). Writes benchmarks/results/floor.json.

    .venv/bin/python benchmarks/floor.py [--method default]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interaction_recon.eval import validation  # noqa: E402
from interaction_recon.eval.bench import git_commit  # noqa: E402
from interaction_recon.fitting.floor import camera_pose, up_vector  # noqa: E402
from interaction_recon.fitting.result import Reconstruction  # noqa: E402
from interaction_recon.paths import cache_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="default", help="validation method whose kept results are read")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "floor.json"))
    args = ap.parse_args()
    rows = []
    for scene in validation.load_suite():
        kept = cache_dir() / "validation" / scene.name / args.method / "results.npz"
        if not kept.exists():
            raise SystemExit(f"{kept} missing: run `interaction-recon bench --suite validation --method {args.method}`")
        plane = Reconstruction.load(kept).floor
        height, pitch, roll = camera_pose(scene.gt["R"], scene.gt["C"])
        row = {"scene": scene.name, "true_height_m": height, "true_pitch_deg": pitch, "found": plane is not None}
        if plane is not None:
            angle = float(np.degrees(np.arccos(np.clip(plane[:3] @ up_vector(pitch, roll), -1.0, 1.0))))
            row.update(up_error_deg=round(angle, 2), height_m=round(float(plane[3]), 3),
                       height_error_m=round(float(plane[3]) - height, 3))
        rows.append(row)
        print(row, flush=True)
    found = [r for r in rows if r["found"]]
    result = {"benchmark": "floor found under the fitted people vs the true floor, validation suite",
              "method": args.method, "commit": git_commit(), "load": os.getloadavg()[0], "scenes": rows,
              "overall": {"found_share": len(found) / len(rows),
                          "up_error_deg": float(np.mean([r["up_error_deg"] for r in found])) if found else None,
                          "abs_height_error_m": float(np.mean([abs(r["height_error_m"]) for r in found])) if found else None}}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["overall"], indent=1))


if __name__ == "__main__":
    main()
