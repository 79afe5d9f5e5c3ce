"""Synthetic world: generation cost per clip, plausibility, and a contact sheet of every kind.

Uses the `dev` suite (one 512x512 clip per interaction kind; generated into the cache on
first use, shared with `interaction-recon bench --suite dev`) and writes
benchmarks/results/synth.json and benchmarks/results/synth_contact_sheet.png (the frame of
most contact of every kind, the people's masks outlined).
    .venv/bin/python benchmarks/synth.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from interaction_recon.eval import bench
from interaction_recon.paths import cache_dir

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    scenes = bench.suite_scenes("dev", cache_dir())
    rows, tiles = [], []
    for scene in scenes:
        T, seconds, gt = scene.num_frames, scene.meta["seconds"], scene.gt
        per_frame = np.bincount(gt["contact_vertices"][:, 0], minlength=T)
        best = int(per_frame.argmax())
        rows.append({
            "kind": scene.kind, "frames": T, "camera_moving": scene.meta["camera_moving"],
            "motion_s": seconds["motion"], "ground_truth_s": seconds["ground_truth"],
            "render_fps": round(T / seconds["render"], 2),
            "contact_frames": int((per_frame > 0).sum()),
            "penetration_max_mm": round(float(gt["penetration_mm"].max()), 1),
            "joints_visible_share": round(float(gt["visible_joints"].mean()), 3),
        })
        tiles.append((scene.kind, scene.frame(best), scene.load_masks()[best]))
        print(json.dumps(rows[-1]))
    size = (scenes[0].meta["width"], scenes[0].meta["height"])
    result = {"suite": "dev", "world": bench.world_stamp()[:12], "size": size, "clips": rows,
              "mean_render_fps": round(float(np.mean([r["render_fps"] for r in rows])), 2),
              "mean_motion_s": round(float(np.mean([r["motion_s"] for r in rows])), 1)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "synth.json").write_text(json.dumps(result, indent=1) + "\n")
    contact_sheet(tiles, RESULTS / "synth_contact_sheet.png")
    print(f"mean render {result['mean_render_fps']} frames/s at {size[0]}x{size[1]} "
          f"(1 thread per clip), motion {result['mean_motion_s']} s per clip")


def contact_sheet(tiles, path: Path, columns: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(tiles) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (kind, rgb, mask) in zip(axes.flat, tiles):
        ax.imshow(rgb)
        for label, color in ((1, "yellow"), (2, "cyan")):
            if (mask == label).any():
                ax.contour(mask == label, levels=[0.5], colors=color, linewidths=0.6)
        ax.set_title(kind, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
