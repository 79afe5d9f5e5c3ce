"""``interaction-recon train-contacts`` and ``interaction-recon export-contacts``.

    add_parsers(sub)    # sub: the main parser's add_subparsers() object
"""
from __future__ import annotations

import json


def add_parsers(sub) -> None:
    """Add the ``train-contacts`` and ``export-contacts`` subcommands (handlers in ``func``)."""
    train = sub.add_parser("train-contacts", help="train the contact map on synthetic clips (interaction-recon synth output)")
    train.add_argument("--clips", action="append", default=[],
                       help="folder searched for clips (repeatable; default .cache/synth/contact-train)")
    train.add_argument("--out", default="out/contacts/contacts.pt", help="checkpoint (a .json record beside it)")
    train.add_argument("--no-perceived", action="store_true",
                       help="leave out the clips rendered with images (.cache/synth/contact-real, real perception)")
    train.add_argument("--holdout-seeds", default="1000,1008,2001", help="seeds never trained on (scored)")
    train.add_argument("--holdout-kinds", default="", help="interaction kinds never trained on (scored)")
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=train_contacts)
    export = sub.add_parser("export-contacts", help="export the contact map to ONNX")
    export.add_argument("--checkpoint", help="contact-map checkpoint (default: the shipped one)")
    export.add_argument("--out", default="out/contacts.onnx", help="ONNX file to write")
    export.set_defaults(func=export_contacts)


def _split(text: str) -> tuple:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def train_contacts(args) -> int:
    from interaction_recon.contact.train import TrainConfig, train

    cfg = TrainConfig(out=args.out, holdout_seeds=tuple(int(s) for s in _split(args.holdout_seeds)),
                      holdout_kinds=_split(args.holdout_kinds), epochs=args.epochs, threads=args.threads, seed=args.seed)
    if args.clips:
        cfg.clips = tuple(args.clips)
    if args.no_perceived:
        cfg.perceived_clips = ()
    record = train(cfg)
    print(json.dumps({k: record[k] for k in ("train_frames", "heldout_frames", "seconds", "heldout")}, indent=1))
    return 0


def export_contacts(args) -> int:
    import numpy as np

    from interaction_recon.contact.features import NUM_CHANNELS, NUM_PARTS
    from interaction_recon.contact.model import ContactMap, export_onnx, load_model

    net = load_model(args.checkpoint)
    path = export_onnx(net, args.out)
    x = np.random.default_rng(0).uniform(0, 1, (8, NUM_PARTS, NUM_PARTS, NUM_CHANNELS)).astype(np.float32)
    diff = float(np.abs(ContactMap(net).probabilities(x) - ContactMap(net, "onnx", path).probabilities(x)).max())
    print(f"wrote {path}; onnxruntime vs PyTorch max |probability diff| = {diff:.2e}")
    return 0
