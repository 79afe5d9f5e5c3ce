"""The main job: a rendered handshake replayed into the running node, recorded to MCAP.

    run(out_dir, config) -> summary dict

1. renders (once, cached under the cache folder) a close-interaction clip with ground truth:
   ``synth.world.make_scene(kind, seed)`` at 256x256, cut to ``frames`` frames;
2. starts, in this process on one rclpy context, the ``interaction_recon`` node (real
   perception + window stream), a replayer publishing the clip as Image + CameraInfo at
   ``rate`` Hz (and as JPEG on ``<image_topic>/compressed``), and a recorder writing the JPEG
   images and CameraInfo, /humans (the causal
   estimate of every image), /humans/refined (the windows), /humans/markers and /diagnostics
   to ``out_dir/bag`` (MCAP, rosbags; ``interaction-recon replay out/demo/bag`` plays it back).
   Progress lines go to ``log`` (stderr by default: stdout stays free for the summary).
3. waits for the last window's reconstruction, then writes ``summary.json`` (people found,
   contacts, latency of both outputs, drops, accuracy of both against the clip's ground truth) and ``bodies.png``
   (the reconstructed bodies over the last camera frame, and from the side).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from interaction_recon.config import Config

RECORDER_WAIT = 15.0  # s: the most the summary waits for the refined messages still on their way


def clip(kind: str, seed: int, size: int, frames: int, config: Config):
    """The rendered clip (cached on disk by kind/seed/size and the world's code stamp), as a
    synth Scene cut to ``frames``."""
    from interaction_recon.eval.bench import world_stamp
    from interaction_recon.paths import cache_dir
    from interaction_recon.synth import dataset

    root = cache_dir() / "synth" / "ros-demo"
    path = root / f"{kind}-{seed:04d}-{size}-{world_stamp()[:12]}"
    if not (path / "meta.json").exists():
        from interaction_recon.body import create
        from interaction_recon.body.collision import BodyCollider
        from interaction_recon.synth import world

        body = create(config.body)
        collider = BodyCollider(body, spacing=config.body.collision_spacing)
        scene = world.make_scene(kind, seed, body, collider, size=(size, size))
        scene.name = path.name
        dataset.write_scene(scene, root)
    scene = dataset.load_scene(path)
    return scene, min(frames, scene.num_frames)


def run(out_dir: Path, config: Config, kind: str = "handshake", seed: int = 0, size: int = 256,
        frames: int = 160, rate: float = 10.0, timeout: float = 1800.0, perception=None, stream=None,
        log=lambda line: print(line, file=sys.stderr, flush=True)) -> dict:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from interaction_recon_msgs.msg import Humans
    from rclpy.executors import MultiThreadedExecutor
    from sensor_msgs.msg import CameraInfo, CompressedImage
    from visualization_msgs.msg import MarkerArray

    from interaction_recon.ros import bag, replay
    from interaction_recon.ros.node import InteractionReconNode

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    log(f"demo: rendering (first run only) or loading the {kind} clip ...")
    scene, n = clip(kind, seed, size, frames, config)
    log(f"demo: replaying {n} frames of {scene.name} at {rate:g} Hz into the node "
        f"(window {config.fitting.window}, stride {config.fitting.stride}); reconstruction takes minutes on a CPU")
    t_clip = time.perf_counter() - t_start
    fc = config.fitting
    if fc.camera_height <= 0:  # the demo camera is the robot's: its pose over the floor is known (URDF / TF)
        fc.camera_height, fc.camera_pitch, fc.camera_roll = camera_pose_of(scene, n)
        log(f"demo: camera {fc.camera_height:.2f} m above the floor, pitched {fc.camera_pitch:.1f} deg "
            f"(fitting.camera_height / camera_pitch / camera_roll, as a robot knows them)")
    # A recorded clip is replayed: keep every frame (live defaults drop the oldest when behind).
    config.ros.intake_queue = min(1024, max(config.ros.intake_queue, n))
    config.ros.estimate_queue = 64
    config.ros.input_qos_depth = 100
    config.ros.fit_queue = min(16, max(config.ros.fit_queue, n // config.fitting.stride + 1))
    config.ros.mesh_every = 1
    source = replay.Source(name=scene.name, K=np.asarray(scene.gt["K"], np.float64), fps=float(scene.meta["fps"]),
                           count=n, open=lambda: (scene.frame(t) for t in range(n)))
    received: list = []  # /humans/refined
    causal: list = []  # /humans
    stamps: dict[int, float] = {}
    context = rclpy.Context()
    rclpy.init(context=context)
    nodes = []
    try:
        node = InteractionReconNode(config, perception, stream, context=context)
        player_node = rclpy.create_node("interaction_recon_demo_camera", context=context)
        recorder_node = rclpy.create_node("interaction_recon_demo_recorder", context=context)
        nodes = [node, player_node, recorder_node]
        rc = config.ros
        compressed = rc.image_topic.rstrip("/") + "/compressed"  # the images, as JPEG, for the bag
        recorder = bag.BagRecorder(recorder_node, out_dir / "bag", {
            rc.humans_topic: Humans, rc.humans_refined_topic: Humans, rc.markers_topic: MarkerArray,
            rc.diagnostics_topic: DiagnosticArray, rc.camera_info_topic: CameraInfo, compressed: CompressedImage},
            depth=node.humans_qos.depth)
        recorder_node.create_subscription(Humans, rc.humans_refined_topic, received.append, node.humans_qos)
        recorder_node.create_subscription(Humans, rc.humans_topic, causal.append, node.humans_qos)
        executor = MultiThreadedExecutor(num_threads=3, context=context)
        for x in nodes:
            executor.add_node(x)
        halt_spinner = replay.spin_in_background(executor)
        player = replay.Replayer(player_node, source, rate, rc.image_topic, rc.camera_info_topic,
                                 compressed_topic=compressed, clock="nominal", on_frame=lambda i, s: stamps.__setitem__(i - 1, s.sec + s.nanosec * 1e-9))
        player.timer.cancel()  # start once the node is connected
        deadline = time.monotonic() + 10  # start once the node (and the recorder) hear both topics
        while ((player.pub_image.get_subscription_count() < 1 or player.pub_info.get_subscription_count() < 2)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        player.prime()
        player.timer.reset()
        t_replay = time.perf_counter()
        progress = _Progress(node, n, log)
        while not player.done.wait(0.5):
            progress()
            if time.perf_counter() - t_replay > timeout:
                break
        replay_s = time.perf_counter() - t_replay
        ended = time.monotonic()
        deadline = ended + timeout
        while time.monotonic() < deadline:  # the last windows may still be reconstructing
            arrived = node.snapshot()["counts"].get("frames_in", 0) >= player.published or time.monotonic() > ended + 3
            if arrived and node.pipeline.idle():
                time.sleep(0.3)
                if node.pipeline.idle():
                    break
            progress()
            time.sleep(0.2)
        # let the recorder take the last messages: every refined message the node sent (a loaded machine
        # delivers them late), at most RECORDER_WAIT s
        wait_until = time.monotonic() + RECORDER_WAIT
        while (len(received) < node.snapshot()["counts"].get("refined_published", 0)
               and time.monotonic() < wait_until):
            time.sleep(0.1)
        time.sleep(0.5)
        snapshot = node.snapshot()
        result = node.last_result
        halt_spinner()
        counts = recorder.close()
        executor.shutdown()
        summary = _summary(scene, n, received, snapshot, result, counts, out_dir, replay_s, t_clip, rate, stamps)
        summary["camera_pose_given"] = {"height_m": fc.camera_height, "pitch_deg": fc.camera_pitch,
                                        "roll_deg": fc.camera_roll}
        summary["causal"] = causal_summary(causal, stamps, scene, n)
        if result is not None:
            _picture(out_dir / "bodies.png", node, result, scene)
            summary["picture"] = str(out_dir / "bodies.png")
            result.save(out_dir)
    finally:
        for x in nodes:
            x.destroy_node()
        rclpy.shutdown(context=context)
    summary["total_s"] = round(time.perf_counter() - t_start, 1)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


class _Progress:
    """A line every ``every`` seconds: frames in / perceived, windows out, what is running."""

    def __init__(self, node, n: int, log, every: float = 10.0):
        self.node, self.n, self.log, self.every = node, n, log, every
        self.t0 = self.next = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.every
        s = self.node.snapshot()
        c = s["counts"]
        busy = [k for k, v in self.node.pipeline.busy.items() if v]
        self.log(f"[{now - self.t0:5.0f} s] frames in {c.get('frames_in', 0)}/{self.n}, perceived "
                 f"{c.get('frames_perceived', 0)}, windows out {c.get('windows_published', 0)}"
                 f"{', running: ' + ', '.join(busy) if busy else ''}")


def camera_pose_of(scene, n: int) -> tuple[float, float, float]:
    """(height m, pitch deg, roll deg) of the clip's camera over its floor (world y up), the
    median over the first ``n`` frames (the synthetic camera may drift a little)."""
    from interaction_recon.fitting.floor import camera_pose

    R, t = np.asarray(scene.gt["R"])[:n], np.asarray(scene.gt["t"])[:n]
    poses = [camera_pose(r, -r.T @ tt, up_world=(0.0, 1.0, 0.0)) for r, tt in zip(R, t)]
    return tuple(round(float(v), 3) for v in np.median(poses, axis=0))


def _pose_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[dict, tuple]:
    """MPJPE / PA-MPJPE (mm) of joints [2, T, 24, 3] in the ground truth's person order, and
    that order."""
    from interaction_recon.eval import metrics

    perm, _ = metrics.match_person_order(pred, gt)
    pred = pred[list(perm)]
    return {"mpjpe_mm": round(metrics.mpjpe(pred, gt).value, 1),
            "pa_mpjpe_mm": round(metrics.pa_mpjpe(pred, gt).value, 1)}, perm


def accuracy(result, scene) -> dict:
    """MPJPE / PA-MPJPE (mm) of a result against the clip's ground truth on the frames it covers,
    and the absolute pelvis position error (root_error_mm, camera frame)."""
    from interaction_recon.eval import metrics

    frames = result.frames
    gt = np.asarray(scene.gt["joints"])[:, frames]
    pred = np.asarray(result.joints, dtype=np.float64)
    errors, perm = _pose_errors(pred, gt)
    root = metrics.root(pred[list(perm)]) - metrics.root(gt)
    return {"frames": len(frames), **errors,
            "root_error_mm": round(float(1000 * np.nanmean(np.linalg.norm(root, axis=-1))), 1),
            "person_order": list(perm)}


def _by_frame(messages, stamps: dict[int, float]):
    """(frame, message) of each message whose stamp is one the replayer sent (``stamps``:
    frame -> stamp s)."""
    frame_of = {round(s, 6): i for i, s in stamps.items()}
    for m in messages:
        t = frame_of.get(round(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, 6))
        if t is not None:
            yield t, m


def causal_summary(messages, stamps: dict[int, float], scene, n: int) -> dict:
    """The /humans (causal) messages: how many, and their MPJPE / PA-MPJPE (mm) against the
    clip's ground truth, each message placed at its frame by its stamp."""
    joints = np.full((2, n, 24, 3), np.nan)
    for t, m in _by_frame(messages, stamps):
        if t < n and len(m.humans) == 2:
            joints[:, t] = [[(p.x, p.y, p.z) for p in h.joints] for h in m.humans]
    known = np.isfinite(joints).all((0, 2, 3))
    out = {"messages": len(messages), "frames_with_both": int(known.sum())}
    if known.any():
        out.update(_pose_errors(joints[:, known], np.asarray(scene.gt["joints"])[:, :n][:, known])[0])
    return out


def contact_scores(received, stamps: dict[int, float], scene, n: int, person_order) -> dict:
    """The contacts published on /humans/refined against the clip's true ones (frame x part pair with
    sides, METRICS.md's precision / recall / F1, and the share of no-contact frames with any
    contact), each message placed at its frame by its stamp; person_order: accuracy()'s."""
    from interaction_recon.eval import metrics

    said = []
    for t, m in _by_frame(received, stamps):
        said += [(t, c.part_a, c.part_b) if list(person_order) == [0, 1] else (t, c.part_b, c.part_a)
                 for c in m.contacts]
    truth = [(int(f), a, b) for f, a, b in scene.meta.get("contact_parts", []) if int(f) < n]
    precision, recall, f1 = metrics.contact_prf(said, truth)
    return {"precision": precision, "recall": recall, "f1": f1,
            "false_frames": metrics.false_contact_frames(said, truth, n),
            "evidence_messages": sum(bool(m.contact_evidence) for m in received)}


def _summary(scene, n, received, snap, result, counts, out_dir, replay_s, t_clip, rate, stamps) -> dict:
    people = [len(m.humans) for m in received]
    contacts: dict[str, int] = {}
    for m in received:
        for c in m.contacts:
            key = f"{c.part_a} <-> {c.part_b}"
            contacts[key] = contacts.get(key, 0) + 1
    gt_parts: dict[str, list[int]] = {}  # part pair -> [first, last] frame, within the replayed frames
    for f, a, b in scene.meta.get("contact_parts", []):
        if int(f) < n:
            span = gt_parts.setdefault(f"{a} <-> {b}", [int(f), int(f)])
            span[1] = int(f)
    summary = {
        "clip": scene.name, "kind": scene.kind, "frames": n, "size": [scene.meta["width"], scene.meta["height"]],
        "replay_rate_hz": rate, "replay_s": round(replay_s, 1), "clip_s": round(t_clip, 1),
        "frames_perceived": snap["counts"].get("frames_perceived", 0),
        "frames_published": snap["counts"].get("frames_published", 0),
        "refined_messages": len(received),
        "people_per_message": {str(k): people.count(k) for k in sorted(set(people))},
        "track_ids": sorted({h.track_id for m in received for h in m.humans}),
        "contacts_reported": contacts, "ground_truth_contacts": gt_parts,
        "latency_s": snap["latency_s"], "latency_refined_s": snap["latency_refined_s"], "fit_s": snap["fit_s"],
        "perception_s": snap["perception_s"], "estimate_s": snap["estimate_s"],
        "drops": snap["drops"], "intrinsics": snap.get("intrinsics"), "rss_mb": snap["rss_mb"],
        "bag": str(out_dir / "bag"), "bag_messages": counts,
    }
    if result is not None:
        summary["accuracy"] = accuracy(result, scene)
        summary["contact_scores"] = contact_scores(received, stamps, scene, n, summary["accuracy"]["person_order"])
    return summary


def _picture(path: Path, node, result, scene) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from interaction_recon.body import skeleton
    from interaction_recon.render.camera import look_at
    from interaction_recon.viz.mesh_render import render_meshes

    body = node.stream.body
    pos = result.num_frames - 1
    with torch.no_grad():
        out = body(result.select(slice(pos, pos + 1)).params(), full_mesh=True)
    faces = body.faces.cpu().numpy()
    verts = [out.vertices[p, 0].cpu().numpy() for p in range(2)]
    tints = [np.array([0.35, 0.6, 0.95]), np.array([0.95, 0.55, 0.25])]
    K = np.asarray(result.K, np.float64)
    frame = scene.frame(int(result.frames[pos]))
    h, w = frame.shape[:2]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.8), dpi=100)
    axes[0].imshow(frame)
    axes[0].set_title(f"input frame {int(result.frames[pos])}")
    axes[1].imshow(frame)
    render_meshes(axes[1], [(v, faces, c) for v, c, p in zip(verts, tints, range(2)) if result.track_ids[p] >= 0],
                  K, np.eye(3), np.zeros(3))
    axes[1].set_xlim(0, w)
    axes[1].set_ylim(h, 0)
    axes[1].set_title("reconstruction (camera view)")
    centre = np.nanmean(result.joints[:, pos, 0], axis=0)
    extent = float(np.nanmax(np.ptp(result.joints[:, pos].reshape(-1, 3), axis=0)))
    R, t = look_at(eye=centre + np.array([max(3.0, 2.2 * extent), -0.5, 0.0]), target=centre,
                          up=(0.0, -1.0, 0.0))
    Ks = np.array([[500.0, 0, 240], [0, 500.0, 240], [0, 0, 1]])
    render_meshes(axes[2], [(v, faces, c) for v, c in zip(verts, tints)], Ks, R, t)
    for p in range(2):
        uv = (result.joints[p, pos] @ R.T + t) @ Ks.T
        uv = uv[:, :2] / uv[:, 2:]
        for j, parent in enumerate(skeleton.SMPL_PARENTS[1:], start=1):
            axes[2].plot(*uv[[j, parent]].T, color="k", lw=1)
    for c in result.contacts_at(int(result.frames[pos])):
        uv = (np.asarray(c.point) @ R.T + t) @ Ks.T
        axes[2].scatter(uv[0] / uv[2], uv[1] / uv[2], s=60, color="red", zorder=5)
    axes[2].set_xlim(0, 480)
    axes[2].set_ylim(480, 0)
    axes[2].set_title("side view (contacts red)")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

