"""Appearance branch on this CPU: render/backward times, the added cost per window, and a fit
on rendered clips (a picture per clip, and whether the loss tells the depth order apart).

Timings: two average anny bodies side by side, 3 m from the camera, at the image sizes the
pipeline renders (512 px input at downscale 4 and 2) and two UV map resolutions. The added
cost of a 128-frame window is estimated from them for the joint stage (``joint_steps`` steps
rendering every ``every``-th frame, plus posing those frames' full meshes) and for the
appearance-only stage (run once per clip, not per window).

Clips: read from the dev suite's cache when present (else generated, ~2 min each). The avatar
is fitted on the calmest frames with the ground-truth meshes; then, on every frame where the
two people overlap in the image, the loss of the true meshes is compared with the loss of a
depth-swapped scene with the same image (the front person scaled about the camera centre to
stand behind the other); and the joint stage starts from person 1 pushed 20 cm away along its
camera ray on a few of those frames and moves only the translations under the appearance loss.
Writes benchmarks/results/appearance.json and appearance_<clip>.png.
    .venv/bin/python benchmarks/appearance.py [--clips hug-0100] [--steps 60] [--no-clips]
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from interaction_recon.appearance import AppearanceConfig, AppearanceModel, calm_frames, fit_appearance, prepare_frames
from interaction_recon.appearance.fit import body_motion, box_overlap, fit_joint
from interaction_recon.body import BodyParams, create
from interaction_recon.paths import cache_dir
from interaction_recon.synth import dataset
from timing import median_seconds

RESULTS = Path(__file__).parent / "results"
WINDOW = 128


def _pair_in_view(body) -> tuple[torch.Tensor, torch.Tensor]:
    """Two bodies side by side, arms down, in a 512-px camera 3 m away: vertices [2, V, 3], K [3, 3]."""
    params = body.neutral_params(2, 1)
    params.transl[:, 0] = torch.tensor([[-0.35, 0.0, 0.0], [0.35, 0.0, 0.3]])
    params.body_pose[:, 0, 15:17, 2] = torch.tensor([-1.2, 1.2])
    with torch.no_grad():
        v = body(params, full_mesh=True).vertices[:, 0]
    cam = torch.stack([v[..., 0], 0.1 - v[..., 1], 3.0 - v[..., 2]], -1)  # camera 3 m in front, y down
    K = torch.tensor([[600.0, 0.0, 256.0], [0.0, 600.0, 256.0], [0.0, 0.0, 1.0]])
    return cam, K


def timings(body, config: AppearanceConfig) -> dict:
    verts, K512 = _pair_in_view(body)
    rows = []
    for resolution, size in ((64, 128), (64, 256), (128, 256)):
        model = AppearanceModel.from_body(body, dataclasses.replace(config, resolution=resolution, backend="torch"))
        K = K512.clone()
        K[:2] *= size / 512
        state = {}

        def forward():
            state["out"] = model.render(verts, K, (size, size))

        def backward():
            out = model.render(verts, K, (size, size))
            (out.rgb.mean() + out.alpha.mean()).backward()

        fwd = median_seconds(forward, 3)
        both = median_seconds(backward, 3)
        rows.append({"uv_resolution": resolution, "image": size, "gaussians": 2 * len(model.attachment),
                     "render_ms": round(1000 * fwd, 1), "backward_ms": round(1000 * (both - fwd), 1),
                     "render_plus_backward_ms": round(1000 * both, 1),
                     "covered_pixels": int((state["out"].alpha > 0.5).sum())})
        print(rows[-1])
    params = body.neutral_params(2, 8)
    params.body_pose.requires_grad_(True)
    mesh = median_seconds(lambda: body(params, full_mesh=True).vertices.sum().backward(), 3) / 8
    return {"renders": rows, "full_mesh_forward_backward_ms_per_frame": round(1000 * mesh, 1)}


def window_cost(config: AppearanceConfig, render_s: float, mesh_s: float) -> dict:
    """Seconds a 128-frame window adds at several cadences (joint stage), and the one-off
    appearance-only stage."""
    joint = {}
    for every in (8, 16, 32):
        frames = -(-WINDOW // every)
        joint[f"every_{every}"] = round(config.joint_steps * frames * (render_s + mesh_s), 1)
    return {"joint_steps": config.joint_steps, "joint_stage_s": joint,
            "appearance_stage_s_once": round(config.appearance_steps * 2 * render_s, 1)}


def _load_clip(name: str, body) -> dataset.Scene:
    kind, seed = name.rsplit("-", 1)
    for root in (cache_dir() / "synth" / "dev", cache_dir() / "synth" / "appearance"):
        path = root / name
        if (path / "meta.json").exists():
            scene = dataset.load_scene(path)
            if len(list((path / "frames").glob("*.jpg"))) == scene.num_frames:
                return scene
    from interaction_recon.body.collision import BodyCollider
    from interaction_recon.synth import world

    print(f"generating {name} (~2 min)")
    scene = world.make_scene(kind, int(seed), body, BodyCollider(body))
    dataset.write_scene(scene, cache_dir() / "synth" / "appearance")
    return scene


def _camera_params(scene: dataset.Scene) -> BodyParams:
    """Ground-truth parameters [2, T] in the camera frame (they pose camera-frame meshes)."""
    gt = scene.gt
    return BodyParams(*(torch.as_tensor(gt[k], dtype=torch.float32) for k in
                        ("global_orient", "body_pose", "transl", "shape")))


def _depth_swapped(verts: torch.Tensor) -> torch.Tensor:
    """[2, V, 3] with the front person (smaller median depth) scaled about the camera centre
    until it stands 5 cm behind the other: the same image, the opposite depth order."""
    depth = verts[..., 2].median(1).values
    front = int(depth.argmin())
    scale = (verts[1 - front, :, 2].max() + 0.05) / verts[front, :, 2].min()
    out = verts.clone()
    out[front] = verts[front] * scale
    return out


def _depth_recovery(model: AppearanceModel, body, params: BodyParams, frames, masks, K, chosen: torch.Tensor,
                    shift: float = 0.2, steps: int = 20) -> dict:
    """Joint stage from a wrong start: person 1 moved ``shift`` m away along its camera ray in
    frames ``chosen``; only the translations move (appearance loss alone, no keypoints).
    Reports person 1's mean pelvis depth error before and after."""
    model = copy.deepcopy(model)
    sub = BodyParams(params.global_orient[:, chosen], params.body_pose[:, chosen], params.transl[:, chosen].clone(),
                     params.shape)
    with torch.no_grad():
        pelvis = body(sub).joints[1, :, 0]  # [n, 3] true pelvis of person 1
    sub.transl[1] += shift * pelvis / pelvis.norm(dim=-1, keepdim=True)
    pose, motion = body_motion(body, sub, fields=("transl",))
    index = torch.arange(len(chosen))

    def depth_error() -> float:
        with torch.no_grad():
            moved = BodyParams(sub.global_orient, sub.body_pose, sub.transl + motion[0], sub.shape)
            return float((body(moved).joints[1, :, 0, 2] - pelvis[:, 2]).abs().mean())

    before = depth_error()
    start = time.perf_counter()
    history = fit_joint(model, pose, motion, 0.01, frames[chosen], masks[chosen], K, indices=index, steps=steps)
    return {"frames": chosen.tolist(), "shift_m": shift, "steps": steps,
            "seconds": round(time.perf_counter() - start, 1),
            "depth_error_before_m": round(before, 3), "depth_error_after_m": round(depth_error(), 3),
            "loss_first": round(history[0], 4), "loss_last": round(history[-1], 4)}


def clip_study(name: str, body, config: AppearanceConfig, steps: int) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scene = _load_clip(name, body)
    params = _camera_params(scene)
    with torch.no_grad():
        verts = body(params, full_mesh=True, collision=False).vertices
    frames_np = np.stack([scene.frame(t) for t in range(scene.num_frames)])
    frames, masks, K = prepare_frames(torch.as_tensor(frames_np), torch.as_tensor(scene.load_masks()),
                                      torch.as_tensor(scene.gt["K"], dtype=torch.float32), config.downscale)
    H, W = frames.shape[1:3]
    model = AppearanceModel.from_body(body, config)
    calm = calm_frames(verts, K, config.appearance_frames)
    start = time.perf_counter()
    history = fit_appearance(model, verts, frames, masks, K, indices=calm, steps=steps)
    fit_s = time.perf_counter() - start
    overlap = box_overlap(verts, K)
    busy = torch.nonzero(overlap > 0.2).squeeze(1)
    busy = busy[:: max(1, len(busy) // 12)]  # at most ~12 frames
    right, wrong = [], []
    with torch.no_grad():
        for t in busy.tolist():
            right.append(model.loss(frames[t], masks[t], model.render(verts[:, t], K, (W, H))).item())
            wrong.append(model.loss(frames[t], masks[t], model.render(_depth_swapped(verts[:, t]), K, (W, H))).item())
        show = int(busy[len(busy) // 2]) if len(busy) else int(calm[0])
        out = model.render(verts[:, show], K, (W, H))
    target = (frames[show] * masks[show, ..., None]).numpy()
    rgb = out.rgb.clamp(0, 1).numpy()
    ident = out.identity.numpy()
    panels = [frames[show].numpy(), rgb, np.abs(rgb - target).clip(0, 1),
              np.stack([ident[..., 0], ident[..., 1], np.zeros_like(ident[..., 0])], -1).clip(0, 1)]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    titles = (f"{scene.name} frame {show}", "rendering", "|rendering - masked frame|", "identity (R: 0, G: 1)")
    for ax, img, title in zip(axes, panels, titles):
        ax.imshow(img)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(RESULTS / f"appearance_{scene.name}.png", dpi=100)
    plt.close(fig)
    joint = _depth_recovery(model, body, params, frames, masks, K, busy[::3])
    right_np, wrong_np = np.array(right), np.array(wrong)
    result = {"clip": scene.name, "size": [W, H], "calm_frames": calm.tolist(), "fit_steps": steps,
              "fit_s": round(fit_s, 1), "loss_first": round(history[0], 4), "loss_last": round(history[-1], 4),
              "overlap_frames": busy.tolist(), "loss_true": right_np.round(4).tolist(),
              "loss_depth_swapped": wrong_np.round(4).tolist(),
              "depth_order_preferred": float((right_np < wrong_np).mean()) if len(busy) else None,
              "joint_depth_recovery": joint}
    print(result)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clips", nargs="*", default=["hug-0100", "handshake-0100"])
    ap.add_argument("--no-clips", action="store_true", help="timings only")
    ap.add_argument("--steps", type=int, default=None, help="appearance-stage steps (default: the config's)")
    ap.add_argument("--out", default=str(RESULTS / "appearance.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    config = AppearanceConfig()
    body = create()
    times = timings(body, config)
    at = {(r["uv_resolution"], r["image"]): r for r in times["renders"]}
    size = 512 // config.downscale
    render_s = at[(config.resolution, size)]["render_plus_backward_ms"] / 1000
    mesh_s = times["full_mesh_forward_backward_ms_per_frame"] / 1000
    result = {"threads": args.threads, "cpu": platform.processor() or platform.machine(),
              "config": dataclasses.asdict(config), **times,
              "window_cost": {"image": size, "uv_resolution": config.resolution,
                              **window_cost(config, render_s, mesh_s)}}
    if not args.no_clips:
        steps = config.appearance_steps if args.steps is None else args.steps
        result["clips"] = [clip_study(name, body, config, steps) for name in args.clips]
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)  # > 2 on 2 cores: timings inflated
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "clips"}, indent=1))


if __name__ == "__main__":
    main()
