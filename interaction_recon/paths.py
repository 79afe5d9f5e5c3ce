"""Where the project keeps what it builds at run time (model caches), and the code stamps that
make a cached output stale."""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """``$INTERACTION_RECON_CACHE``, else ``.cache/`` of a source checkout, else
    ``~/.cache/interaction_recon`` for an installed package."""
    if "INTERACTION_RECON_CACHE" in os.environ:
        return Path(os.environ["INTERACTION_RECON_CACHE"])
    if (PROJECT_ROOT / "package.xml").exists():
        return PROJECT_ROOT / ".cache"
    return Path.home() / ".cache" / "interaction_recon"


def weights_cache(kind: str, net, suffix: str = ".onnx") -> Path:
    """Where an export of the network ``net`` is kept: ``<cache>/<kind>/<kind>-<hash><suffix>``,
    the hash over its weights (a retrained network gets a new file, a stale one is never read)."""
    digest = hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes() for t in net.state_dict().values())).hexdigest()
    return cache_dir() / kind / f"{kind}-{digest[:12]}{suffix}"


@functools.cache
def code_stamp(*paths: Path) -> str:
    """Hash of the Python sources in these folders (and of these files) as this process first
    read them, i.e. the code it runs: outputs cached under it are stale once that code changes."""
    files = sorted(f for p in paths for f in (p.glob("*.py") if p.is_dir() else [p]))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
