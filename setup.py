"""ament_python / pip build of interaction_recon.

Exact pins live in requirements/*.txt (scripts/bootstrap.sh and the Docker image install them;
torch must stay pinned, see README). ``install_requires`` names what the package imports,
unpinned, so it accepts the versions a system ROS 2 or a CUDA image already has; the ROS
client libraries come from package.xml (colcon) or the PyPI ROS wheels (bootstrap).
"""
import re
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "interaction_recon"
ROS_WHEELS = ("ros-jazzy-", "catkin_pkg")  # a system ROS 2 provides these (package.xml)


def requirements(name: str, pinned: bool = False) -> list[str]:
    """The requirement lines of requirements/<name> (comments dropped), unpinned unless ``pinned``."""
    lines = (Path(__file__).resolve().parent / "requirements" / name).read_text().splitlines()
    reqs = [line.split("#", 1)[0].strip() for line in lines]
    return [r if pinned else re.split(r"[=<>!~ ]", r, maxsplit=1)[0] for r in reqs if r]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={f"{PACKAGE}.prior": ["checkpoints/*"], f"{PACKAGE}.contact": ["checkpoints/*"]},  # shipped weights
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*")),
    ],
    python_requires=">=3.10",
    install_requires=[r for r in requirements("base.txt") if not r.startswith(ROS_WHEELS)],
    extras_require={"cpu": requirements("cpu.txt", True), "gpu": requirements("gpu.txt", True),
                    "test": requirements("test.txt", True)},
    zip_safe=False,
    license="Apache-2.0",
    description="Live two-person close-interaction 3D reconstruction for ROS 2",
    entry_points={"console_scripts": [f"interaction-recon = {PACKAGE}.cli:main"]},
)
