#!/usr/bin/env python3
"""Mutation check: each term or stage of the fit, switched off in the source, must make at least
one test fail. Runs in a throw-away git worktree of HEAD (the checkout is not touched) and writes
``benchmarks/results/mutation-check.json``.

    .venv/bin/python scripts/mutation_check.py        # about 10 min on one core
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVE = "interaction_recon/fitting/objective.py"
WINDOW = "interaction_recon/fitting/window.py"
# name -> (file, source text, what replaces it): the term's line taken out of the loss, or the stage skipped
MUTATIONS = {
    "penetration": (OBJECTIVE, "total = total + w.penetration * losses.penetration(f.collider, out, rest)", "total = total"),
    "contact": (OBJECTIVE, "total = total + w.contact * losses.contact(out, self.pairs)", "total = total"),
    "common ground": (OBJECTIVE, "total = total + w.ground * losses.common_ground(out.joints, self.seen.all(0))",
                      "total = total"),
    "prior (closeapp motion)": (OBJECTIVE, "if self.source is not None:\n            net = self.source()",
                                "if False:\n            net = self.source()"),
    "prior (regulariser)": (OBJECTIVE, "total = total + w.prior * self.regulariser(self.params(), self.cond)",
                            "total = total"),
    "upright": (OBJECTIVE, "total = total + w.upright * losses.upright(out.joints, self.seen, self.floor_up)",
                "total = total"),
    "held keypoints": (OBJECTIVE, "total = total + w.evidence * losses.held_keypoints(pred, self.held, self.conf, "
                       "self.scale)", "total = total"),
    "reach": (OBJECTIVE, "total = total + w.reach * reach.reach_loss(pred3d, self.reach, cfg.reach_margin)",
              "total = total"),
    "3D landmarks": (OBJECTIVE, "total = total + w.pose3d * pose3d.bone_direction_loss(out.blazepose33, *self.bones, "
                     "cfg.pose3d_frame)",
                     "total = total"),
    "planted feet": (OBJECTIVE, "total = total + w.planted * losses.planted_feet(",
                     "total = total + 0 * losses.planted_feet("),
    "floor sizing": (WINDOW, "                    self._size_from_floor(state)", "                    pass"),
    "contacts reported": (WINDOW, "found = contact_est.report(out, self.body.collision_coarse_parts, job.frames, "
                          "evidence, known.all(0))", "found = []"),
}
TESTS = ["tests/test_two_person_terms.py", "tests/test_fitting.py", "tests/test_contacts.py"]


def run_tests(tree: Path) -> tuple[int, list[str], str]:
    """(pytest's return code, the failed tests, its last line), stopping at the first failure."""
    env = {**os.environ, "INTERACTION_RECON_CACHE": str(ROOT / ".cache"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
                         cwd=tree, capture_output=True, text=True, env=env)
    lines = run.stdout.strip().splitlines()
    return run.returncode, [line.split(" ")[1] for line in lines if line.startswith("FAILED")], lines[-1] if lines else ""


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), "HEAD"], cwd=ROOT, check=True)
        try:
            for name, (path, old, new) in {"nothing": (OBJECTIVE, "", ""), **MUTATIONS}.items():
                source = tree / path
                text = source.read_text()
                if old not in text:
                    raise SystemExit(f"mutation {name!r}: its source text is no longer in {path}; update MUTATIONS")
                source.write_text(text.replace(old, new, 1))
                start = time.perf_counter()
                code, failed, last = run_tests(tree)
                source.write_text(text)
                results[name] = {"tests_fail": code != 0, "failed": failed, "pytest": last,
                                 "seconds": round(time.perf_counter() - start, 1)}
                print(f"{name}: {'caught by ' + ', '.join(failed) if code else 'NOT caught'}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    ok = not results["nothing"]["tests_fail"] and all(r["tests_fail"] for k, r in results.items() if k != "nothing")
    out = ROOT / "benchmarks" / "results" / "mutation-check.json"
    out.write_text(json.dumps({"commit": commit, "tests": TESTS, "every_mutation_caught": ok,
                               "mutations": results}, indent=1) + "\n")
    print(f"wrote {out}: every mutation caught: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
