"""``interaction-recon``: the command-line front of the project."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from interaction_recon.config import load_config


def _demo(args) -> int:
    from interaction_recon import body_demo

    config = load_config(args.config)
    if args.body_model:
        config.body.backend = args.body_model
    if args.body_model_path:
        config.body.model_path = args.body_model_path
    summary = body_demo.run(Path(args.out), config)
    print(json.dumps(summary, indent=2))
    return 0


def _build_cache(args) -> int:
    from interaction_recon.body.anny_backend import build_cache
    from interaction_recon.paths import cache_dir

    built = build_cache(cache_dir() / "anny")
    print(f"anny model cache {'built' if built else 'ready'} in {cache_dir() / 'anny'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interaction-recon", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="pose two bodies shaking hands, measure contact, write a picture")
    demo.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    demo.add_argument("--config", help="YAML config (see config/default.yaml)")
    demo.add_argument("--body-model", choices=["anny", "smpl"], help="override body.backend")
    demo.add_argument("--body-model-path", help="SMPL_NEUTRAL.pkl or its folder (smpl backend)")
    demo.set_defaults(func=_demo)
    cache = sub.add_parser("build-cache", help="build the anny model cache (done by the bootstrap)")
    cache.set_defaults(func=_build_cache)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"interaction-recon {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
