"""ament_python / pip build of interaction_recon.

Python dependencies live in requirements/*.txt (torch must stay pinned, see README);
ROS dependencies in package.xml.
"""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "interaction_recon"

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
    zip_safe=False,
    license="Apache-2.0",
    description="Live two-person close-interaction 3D reconstruction for ROS 2",
    entry_points={"console_scripts": [f"interaction-recon = {PACKAGE}.cli:main"]},
)
