"""``interaction-recon``: the command-line front of the project."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from interaction_recon.config import load_config
from interaction_recon.contact import cli as contact_cli
from interaction_recon.prior import cli as prior_cli


def _config(args):
    """The YAML config with the command line's body-model overrides applied."""
    config = load_config(args.config)
    if args.body_model:
        config.body.backend = args.body_model
    if args.body_model_path:
        config.body.model_path = args.body_model_path
    return config


def _demo(args) -> int:
    from interaction_recon.apps import demo
    from interaction_recon.ros import params

    config = _config(args)
    params_file = params.default_params_file()
    if params_file:  # the node's parameters, as `interaction-recon live` applies them (e.g. the live landmark model)
        params.load_params_file(params_file, config)
    summary = demo.run(Path(args.out), config, args.kind, args.seed, frames=args.frames, rate=args.rate)
    print(json.dumps(summary, indent=2))
    return 0


def _body_demo(args) -> int:
    from interaction_recon.apps import body_demo

    summary = body_demo.run(Path(args.out), _config(args))
    print(json.dumps(summary, indent=2))
    return 0


def _build_cache(args) -> int:
    from interaction_recon.body.anny_backend import build_cache
    from interaction_recon.paths import cache_dir

    built = build_cache(cache_dir() / "anny")
    print(f"anny model cache {'built' if built else 'ready'} in {cache_dir() / 'anny'}")
    return 0


def _synth(args) -> int:
    from tqdm import tqdm

    from interaction_recon.synth import specs, world

    kinds = specs.INTERACTIONS if args.scenes == "all" else tuple(k.strip() for k in args.scenes.split(","))
    jobs = [(kind, args.seed + i) for i in range(args.per_kind) for kind in kinds]
    with tqdm(total=len(jobs), desc="synth", unit="clip") as bar:
        scenes = world.write_dataset(Path(args.out), jobs, size=(args.size, args.size),
                                     images=not args.no_images, progress=bar.update)
    print(f"wrote {len(scenes)} clips ({sum(s.num_frames for s in scenes)} frames) to {args.out}")
    return 0


def _bench(args) -> int:
    from tqdm import tqdm

    from interaction_recon.eval import bench
    from interaction_recon.paths import cache_dir

    if args.suite == "validation":
        from interaction_recon.eval import validation

        with tqdm(desc="validation clips", unit="clip") as bar:
            result = validation.run(args.method, cache_dir(), Path(args.out), progress=bar.update)
        print(validation.markdown_table(result))
        print(f"results in {Path(args.out) / f'validation-{args.method}'}.{{json,md}}")
        return 0
    with tqdm(desc=f"generating suite {args.suite} (first run only)", unit="clip") as bar:
        result = bench.run(args.suite, args.method, cache_dir(), out_dir=Path(args.out), progress=bar.update)
    print(bench.markdown_table(result))
    print(f"results in {Path(args.out) / f'{args.suite}-{args.method}'}.{{json,md,png}}")
    return 0


def _live(args) -> int:
    from interaction_recon.ros import node, params

    config = load_config(args.config)
    params_file = args.params or params.default_params_file()
    ros_args = ["--params-file", str(params_file)] if params_file else []
    ros_args += args.ros_args
    return node.main(["interaction-recon", "--ros-args", *ros_args] if ros_args else None, config)


def _replay(args) -> int:
    from interaction_recon.ros import replay

    return replay.main(args.source, args.rate, args.image_topic, args.camera_info_topic, args.frame_id,
                       args.encoding, args.fov, args.loop, args.scene, args.max_frames, args.ros_args, args.wait)


def _reconstruct(args) -> int:
    import numpy as np

    from interaction_recon import reconstruct

    config = _config(args)
    if args.device:
        config.body.device = args.device
    if args.stride:
        config.fitting.stride = args.stride
    config.fitting.compile = config.fitting.compile or args.compile
    for name in ("camera_height", "camera_pitch", "camera_roll"):
        if getattr(args, name) is not None:
            setattr(config.fitting, name, getattr(args, name))
    K = None
    if args.intrinsics:
        fx, fy, cx, cy = (float(v) for v in args.intrinsics.split(","))
        K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])
    summary = reconstruct.run(args.video, args.out, config, K=K, max_frames=args.max_frames,
                              overlay=not args.no_overlay, depth=args.depth)
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interaction-recon", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the main job: a rendered clip replayed into the ROS 2 node, recorded to MCAP, "
                                        "summarised (interaction_recon/apps/demo.py)")
    demo.add_argument("--kind", default="handshake", help="interaction kind of the rendered clip (default: handshake)")
    demo.add_argument("--seed", type=int, default=0, help="clip seed (default 0)")
    demo.add_argument("--frames", type=int, default=160, help="frames to replay (default 160: a cold window and one update)")
    demo.add_argument("--rate", type=float, default=10.0, help="replay rate in Hz (default 10)")
    body_demo = sub.add_parser("body-demo", help="pose two bodies shaking hands, measure contact, write a picture")
    for p in (demo, body_demo):
        p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
        p.add_argument("--config", help="YAML config (see config/default.yaml)")
        p.add_argument("--body-model", choices=["anny", "smpl"], help="override body.backend")
        p.add_argument("--body-model-path", help="SMPL_NEUTRAL.pkl or its folder (smpl backend)")
    demo.set_defaults(func=_demo)
    body_demo.set_defaults(func=_body_demo)
    synth = sub.add_parser("synth", help="write synthetic two-person clips with ground truth")
    synth.add_argument("--out", required=True, help="dataset folder")
    synth.add_argument("--scenes", default="all", help="comma-separated interaction kinds, or 'all'")
    synth.add_argument("--seed", type=int, default=0, help="first seed; clip i of a kind uses seed + i")
    synth.add_argument("--per-kind", type=int, default=1, help="clips per interaction kind")
    synth.add_argument("--size", type=int, default=512, help="frame width and height in pixels")
    synth.add_argument("--no-images", action="store_true", help="ground truth and masks only, no frames")
    synth.set_defaults(func=_synth)
    bench = sub.add_parser("bench", help="score a method on a synthetic suite")
    bench.add_argument("--suite", default="smoke", help="smoke | dev | full | ... | validation (outside-made clips)")
    bench.add_argument("--method", default="lift-height-depth",
                       help="see METHODS in interaction_recon/eval/bench.py (validation: eval/validation.py)")
    bench.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "benchmarks" / "results"))
    bench.set_defaults(func=_bench)
    live = sub.add_parser("live", help="run the ROS 2 node (what `ros2 launch interaction_recon live.launch.py` starts)")
    live.add_argument("--params", help="ROS params file (default: config/live.yaml)")
    live.add_argument("--config", help="YAML config for what is not a ROS parameter (see config/default.yaml)")
    live.add_argument("--ros-args", dest="ros_args", nargs=argparse.REMAINDER, default=[],
                      help="ROS arguments, e.g. --ros-args -p ros.image_topic:=/cam/image_raw")
    live.set_defaults(func=_live)
    replay = sub.add_parser("replay", help="publish a video or synthetic clip as Image + CameraInfo")
    replay.add_argument("source", help="video file, folder of images, synthetic clip or synth dataset folder")
    replay.add_argument("--rate", type=float, default=10.0, help="frames per second to publish (default 10)")
    replay.add_argument("--image-topic", default="/camera/image_raw")
    replay.add_argument("--camera-info-topic", default="/camera/camera_info")
    replay.add_argument("--frame-id", default="camera_optical_frame")
    replay.add_argument("--encoding", choices=["rgb8", "bgr8"], default="rgb8")
    replay.add_argument("--fov", type=float, default=60.0, help="horizontal FOV (deg) for videos without intrinsics")
    replay.add_argument("--scene", help="clip name inside a synth dataset folder (default: the first)")
    replay.add_argument("--max-frames", type=int, help="stop after this many frames")
    replay.add_argument("--loop", action="store_true", help="start again at the end")
    replay.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a subscriber before starting")
    replay.add_argument("--ros-args", dest="ros_args", nargs=argparse.REMAINDER, default=[])
    replay.set_defaults(func=_replay)
    recon = sub.add_parser("reconstruct", help="reconstruct both people of a video file offline")
    recon.add_argument("video", help="video file, or a folder of images")
    recon.add_argument("--out", required=True, help="output folder (results.npz/json, overlay.mp4, preview.png)")
    recon.add_argument("--config", help="YAML config (see config/default.yaml)")
    recon.add_argument("--device", help="cpu | cuda (overrides body.device)")
    recon.add_argument("--intrinsics", help="fx,fy,cx,cy in pixels (default: fitting.fov_deg)")
    recon.add_argument("--stride", type=int, help="frames between windows (overrides fitting.stride)")
    recon.add_argument("--max-frames", type=int, help="only the first N frames")
    recon.add_argument("--camera-height", type=float, help="m above the floor, when known (fitting.camera_height)")
    recon.add_argument("--camera-pitch", type=float, help="deg below the horizon, with --camera-height")
    recon.add_argument("--camera-roll", type=float, help="deg about the optical axis, with --camera-height")
    recon.add_argument("--depth", help="depth registered to the video: a folder of 16-bit PNG (mm) / float TIFF or "
                                       ".npy (m) frames, or one .npy / .npz [T, H, W] stack")
    recon.add_argument("--no-overlay", action="store_true", help="skip the overlay video")
    recon.add_argument("--compile", action="store_true", help="torch.compile the losses")
    recon.add_argument("--body-model", choices=["anny", "smpl"], help="override body.backend")
    recon.add_argument("--body-model-path", help="SMPL_NEUTRAL.pkl or its folder (smpl backend)")
    recon.set_defaults(func=_reconstruct)
    cache = sub.add_parser("build-cache", help="build the anny model cache (done by the bootstrap)")
    cache.set_defaults(func=_build_cache)
    prior_cli.add_parsers(sub)  # train-prior, export-prior
    contact_cli.add_parsers(sub)  # train-contacts, export-contacts
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"interaction-recon {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
