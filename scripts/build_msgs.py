#!/usr/bin/env python3
"""Generate and compile the project's ROS interface packages into this Python environment.

For environments where ROS 2 comes from the PyPI wheels (ros-jazzy-rclpy & co.) and no colcon
is available.  Builds, in dependency order:
  tf2_msgs                from ros_ws/upstream/tf2_msgs    (TFMessage; mirrors ros2/geometry2)
  hri_msgs                from ros_ws/upstream/hri_msgs    (ROS4HRI / REP-155 subset)
  interaction_recon_msgs  from ros_ws/src/interaction_recon_msgs
A package that already imports from an install outside this venv (e.g. a sourced system ROS 2)
is skipped.  Users with a system ROS 2 build ros_ws/src/interaction_recon_msgs with colcon
instead (same .msg files) and take tf2_msgs / hri_msgs from their ROS install.

Run it with the interpreter of the target virtual environment:

    .venv/bin/python scripts/build_msgs.py [--force]

What it does per package (in a temporary directory):
  1. rosidl translate .msg -> .idl
  2. rosidl generate c, py and the c / introspection_c / fastrtps_c type supports
  3. compile five shared libraries and the Python extension with gcc/g++
  4. install them the way the ROS wheels lay out their own message packages:
       <prefix>/lib/lib<pkg>__rosidl_*.so      (on LD_LIBRARY_PATH via ros_wheels_bootstrapper)
       <site-packages>/<pkg>/                  (Python package + extension module)
       <prefix>/include/<pkg>/<pkg>/...        (C headers)
       <prefix>/share/<pkg>/ and the ament resource index
A package is not rebuilt when its installed Python module is newer than every one of its .msg
files (use --force to rebuild).  Needs catkin_pkg (pip install catkin_pkg) and gcc/g++.
"""
import argparse
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROS_WS = HERE.parent / "ros_ws"


@dataclass(frozen=True)
class Package:
    name: str
    src: Path       # holds package.xml and msg/*.msg
    deps: tuple     # interface packages it uses (from the wheels, or built before it here)
    smoke: str      # import + serialize check, run in a fresh interpreter after installing

    @property
    def probe(self):
        """A message class whose type support shows whether an install is usable."""
        return msg_files(self)[0].stem


ROUNDTRIP = ("from rclpy.serialization import serialize_message, deserialize_message\n"
             "def rt(m):\n"
             "    return deserialize_message(serialize_message(m), type(m))\n")

PACKAGES = (
    Package("tf2_msgs", ROS_WS / "upstream" / "tf2_msgs",
            ("geometry_msgs", "std_msgs", "builtin_interfaces"),
            "from tf2_msgs.msg import TFMessage\n"
            "from geometry_msgs.msg import TransformStamped\n" + ROUNDTRIP +
            "t = TransformStamped(child_frame_id='b')\n"
            "t.header.frame_id = 'a'\n"
            "r = rt(TFMessage(transforms=[t]))\n"
            "assert r.transforms[0].child_frame_id == 'b' and r.transforms[0].header.frame_id == 'a'\n"),
    Package("hri_msgs", ROS_WS / "upstream" / "hri_msgs", ("std_msgs", "builtin_interfaces"),
            "from hri_msgs.msg import IdsList, Skeleton2D, NormalizedRegionOfInterest2D\n"
            + ROUNDTRIP +
            "assert rt(IdsList(ids=['f1', 'f2'])).ids == ['f1', 'f2']\n"
            "assert rt(NormalizedRegionOfInterest2D(xmax=0.5)).xmax == 0.5\n"
            "s = Skeleton2D()\n"
            "s.skeleton[Skeleton2D.RIGHT_EAR].x = 0.25\n"
            "r = rt(s)\n"
            "assert len(r.skeleton) == 18 and r.skeleton[17].x == 0.25\n"),
    Package("interaction_recon_msgs", ROS_WS / "src" / "interaction_recon_msgs",
            ("builtin_interfaces", "geometry_msgs", "std_msgs"),
            "from interaction_recon_msgs.msg import Humans, Human, Contact\n" + ROUNDTRIP +
            "m = Humans(humans=[Human(track_id='a')], contacts=[Contact(part_a='right hand')])\n"
            "r = rt(m)\n"
            "assert r.humans[0].track_id == 'a' and r.contacts[0].part_a == 'right hand'\n"),
)

PREFIX = Path(sys.prefix)
SITE = Path(sysconfig.get_paths()["platlib"])
LIBDIR = PREFIX / "lib"
INCDIR = PREFIX / "include"
SHAREDIR = PREFIX / "share"
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


class BuildError(RuntimeError):
    pass


def log(msg):
    print(f"[build_msgs] {msg}", flush=True)


def msg_files(pkg):
    files = sorted((pkg.src / "msg").glob("*.msg"))
    if not files:
        raise BuildError(f"no .msg files found in {pkg.src / 'msg'}")
    return files


def build_order(packages):
    """The packages with each one after those of its deps that are built here too."""
    ordered, names = [], {p.name for p in packages}
    pending = list(packages)
    while pending:
        ready = [p for p in pending
                 if all(d not in names or d in {o.name for o in ordered} for d in p.deps)]
        if not ready:
            raise BuildError("dependency cycle among " + ", ".join(p.name for p in pending))
        ordered += ready
        pending = [p for p in pending if p not in ready]
    return ordered


def installed_marker(pkg):
    """The generated module whose mtime decides whether a rebuild is needed."""
    return SITE / pkg.name / "msg" / "__init__.py"


def installed_outputs(pkg):
    names = [f"lib{pkg.name}__rosidl_{kind}.so" for kind in
             ("generator_c", "typesupport_c", "typesupport_introspection_c",
              "typesupport_fastrtps_c", "generator_py")]
    return [LIBDIR / n for n in names] + [
        SITE / pkg.name / f"{pkg.name}_s__rosidl_typesupport_c{EXT_SUFFIX}",
        installed_marker(pkg)]


def up_to_date(pkg, msgs):
    marker = installed_marker(pkg)
    if not all(p.exists() for p in installed_outputs(pkg)):
        return False
    newest_src = max(p.stat().st_mtime for p in msgs)
    return marker.stat().st_mtime > newest_src


def in_venv(path):
    prefix = Path(sys.prefix).resolve()
    path = Path(path).resolve()
    return path == prefix or prefix in path.parents


def external_install(pkg):
    """Where <pkg> imports from, with working type support, outside this venv; else None.

    A system ROS 2 (sourced setup.bash: PYTHONPATH, LD_LIBRARY_PATH) already provides e.g.
    tf2_msgs; building a second copy into the venv would only be shadowed by it.
    """
    try:
        spec = importlib.util.find_spec(pkg.name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or []) or [spec.origin]
    if not locations or locations[0] is None or in_venv(locations[0]):
        return None
    try:  # importable in this interpreter, type support included (as rclpy will need it)
        cls = getattr(importlib.import_module(f"{pkg.name}.msg"), pkg.probe)
        cls.__class__.__import_type_support__()
        usable = cls.__class__._TYPE_SUPPORT is not None
    except Exception:
        usable = False
    if not usable:
        log(f"WARNING: {pkg.name} at {locations[0]} does not load its type support in "
            f"{sys.executable}; building it into the venv, but that copy may be shadowed")
        return None
    return Path(locations[0])


def check_prerequisites(pkg):
    if sys.prefix == sys.base_prefix:
        raise BuildError(
            f"{sys.executable} is not running in a virtual environment; run this script with "
            "the venv's interpreter, e.g. .venv/bin/python scripts/build_msgs.py")
    for tool in ("gcc", "g++"):
        if shutil.which(tool) is None:
            raise BuildError(f"'{tool}' not found on PATH; install a C/C++ compiler")
    missing = []
    for mod in ("catkin_pkg", "rosidl_cli", "rosidl_adapter", "rosidl_generator_c",
                "rosidl_generator_py", "rosidl_typesupport_c",
                "rosidl_typesupport_introspection_c", "rosidl_typesupport_fastrtps_c", "numpy"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        hint = " (pip install catkin_pkg)" if "catkin_pkg" in missing else ""
        raise BuildError(f"missing Python modules in {sys.prefix}: {', '.join(missing)}{hint}")
    for dep in pkg.deps:
        if not (SHAREDIR / dep / "msg").is_dir():
            raise BuildError(f"dependency interfaces not found: {SHAREDIR / dep / 'msg'} "
                             f"(pip install ros-jazzy-{dep.replace('_', '-')})")


def generate(pkg, build):
    """rosidl translate + generate; returns the generation root."""
    # The ament index lookups of the generators must find this prefix.
    paths = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if str(PREFIX) not in paths:
        os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join([str(PREFIX)] + paths)

    import logging

    import rosidl_cli.entry_points as entry_points

    # The wheels register each rosidl entry point twice (egg-info + dist-info); the strict
    # lookup used when specific generators are asked for would refuse that.
    original = entry_points.get_entry_points
    if not getattr(original, "_non_strict", False):
        def get_entry_points(group_name, *, specs=None, strict=False):
            return original(group_name, specs=specs, strict=False)
        get_entry_points._non_strict = True
        entry_points.get_entry_points = get_entry_points
    logging.getLogger("rosidl_cli.entry_points").setLevel(logging.ERROR)

    from rosidl_cli.command.generate.api import generate as rosidl_generate
    from rosidl_cli.command.translate.api import translate

    msgs = [f"{pkg.src}:msg/{p.name}" for p in msg_files(pkg)]
    include_paths = [str(SHAREDIR)]
    idl = translate(package_name=pkg.name, interface_files=msgs, output_format="idl",
                    include_paths=include_paths, output_path=build / "idl")
    gen = build / "gen"
    rosidl_generate(package_name=pkg.name, interface_files=idl, include_paths=include_paths,
                    output_path=gen, types=["c", "py"],
                    typesupports=["c", "introspection_c", "fastrtps_c"])
    for sub in ("c", "py", "introspection_c", "fastrtps_c"):
        if not (gen / sub).is_dir():
            raise BuildError(f"rosidl generated no '{sub}' output in {gen}")
    return gen


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError("compiler failed:\n  " + " ".join(map(str, cmd)) + "\n" +
                         proc.stdout + proc.stderr)


def compile_all(pkg, build, gen):
    """Compile the generated sources; returns {name: path} of the built files."""
    # Headers are included as <pkg>/msg/..., from all generators.
    inc = build / "include"
    for sub in ("c", "introspection_c", "fastrtps_c"):
        for h in (gen / sub).rglob("*.h"):
            dest = inc / pkg.name / h.relative_to(gen / sub)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(h, dest)
    import numpy

    # Wheels nest most headers as include/<pkg>/<pkg>/..., but fastcdr & co. are flat.
    includes = [f"-I{inc}"] + [f"-I{d}" for d in sorted(INCDIR.iterdir()) if d.is_dir()]
    includes.append(f"-I{INCDIR}")
    py_includes = [f"-I{sysconfig.get_paths()['include']}", f"-I{numpy.get_include()}"]
    out = build / "lib"
    out.mkdir()
    common = ["-O2", "-fPIC", "-shared", "-w", f"-L{LIBDIR}", f"-L{out}",
              "-Wl,-rpath,$ORIGIN"]

    def lib(kind):
        return f"{pkg.name}__rosidl_{kind}"

    def deps(kind):
        return [f"-l{d}__rosidl_{kind}" for d in pkg.deps]

    def glob(sub, pattern):
        files = sorted(str(p) for p in (gen / sub).glob(pattern))
        if not files:
            raise BuildError(f"no generated sources {sub}/{pattern}")
        return files

    built = {}

    def build_lib(kind, compiler, sources, extra):
        path = out / f"lib{lib(kind)}.so"
        std = ["-std=c++17"] if compiler == "g++" else ["-std=c11"]
        run([compiler, *std, *common, *includes, *sources, "-o", str(path), *extra])
        built[path.name] = path

    build_lib("generator_c", "gcc", glob("c", "msg/detail/*.c"),
              [*deps("generator_c"), "-lrosidl_runtime_c", "-lrcutils"])
    build_lib("typesupport_introspection_c", "gcc", glob("introspection_c", "msg/detail/*.c"),
              [f"-l{lib('generator_c')}", *deps("generator_c"),
               *deps("typesupport_introspection_c"), "-lrosidl_typesupport_introspection_c",
               "-lrosidl_runtime_c", "-lrcutils"])
    build_lib("typesupport_fastrtps_c", "g++", glob("fastrtps_c", "msg/detail/*.cpp"),
              [f"-l{lib('generator_c')}", *deps("generator_c"), *deps("typesupport_fastrtps_c"),
               "-lrosidl_typesupport_fastrtps_c", "-lrosidl_typesupport_fastrtps_cpp",
               "-lrosidl_runtime_c", "-lfastcdr", "-lrmw", "-lrcutils"])
    build_lib("typesupport_c", "g++", glob("c", "msg/*.cpp"),
              [f"-l{lib('generator_c')}", *deps("typesupport_c"), "-lrosidl_typesupport_c",
               "-lrosidl_runtime_c", "-lrcpputils", "-lrcutils"])
    build_lib("generator_py", "gcc", [*py_includes, *glob("py", "msg/*_s.c")],
              [f"-l{lib('generator_c')}", f"-l{lib('typesupport_c')}", *deps("generator_c"),
               *deps("generator_py"), "-lrosidl_runtime_c", "-lrcutils"])
    # The Python extension lives in site-packages/<pkg>/; the libraries in <prefix>/lib.
    ext = out / f"{pkg.name}_s__rosidl_typesupport_c{EXT_SUFFIX}"
    rpath = "$ORIGIN/" + os.path.relpath(LIBDIR, SITE / pkg.name)
    run(["gcc", "-std=c11", *common, f"-Wl,-rpath,{rpath}", *includes, *py_includes,
         str(gen / "py" / f"_{pkg.name}_s.ep.rosidl_typesupport_c.c"), "-o", str(ext),
         f"-l{lib('generator_py')}", f"-l{lib('typesupport_c')}", f"-l{lib('generator_c')}",
         "-lrosidl_typesupport_c", "-lrosidl_runtime_c", "-lrcutils"])
    built[ext.name] = ext
    return built, inc / pkg.name


def install(pkg, build, gen, built, headers):
    """Copy everything into the environment; the Python marker module goes last."""
    for name, path in built.items():
        if name.startswith("lib"):
            tmp = LIBDIR / f".{name}.tmp"
            shutil.copy2(path, tmp)
            os.replace(tmp, LIBDIR / name)  # atomic: never a half-written library

    # C headers, mirroring <prefix>/include/<dep>/<dep>/msg/... of the wheels.
    inc_dest = INCDIR / pkg.name / pkg.name
    shutil.rmtree(inc_dest, ignore_errors=True)
    shutil.copytree(headers, inc_dest)

    # share/<pkg>: package.xml, .msg, .idl, .json (type descriptions); ament index.
    share = SHAREDIR / pkg.name
    shutil.rmtree(share, ignore_errors=True)
    (share / "msg").mkdir(parents=True)
    shutil.copy2(pkg.src / "package.xml", share / "package.xml")
    interfaces = []
    for m in msg_files(pkg):
        shutil.copy2(m, share / "msg" / m.name)
        shutil.copy2(build / "idl" / "msg" / f"{m.stem}.idl", share / "msg" / f"{m.stem}.idl")
        desc = gen / "c" / "msg" / f"{m.stem}.json"
        if desc.exists():
            shutil.copy2(desc, share / "msg" / desc.name)
        interfaces += [f"msg/{m.stem}.idl", f"msg/{m.name}"]
    index = SHAREDIR / "ament_index" / "resource_index"
    for kind, content in (("packages", ""), ("rosidl_interfaces", "\n".join(interfaces) + "\n"),
                          ("package_run_dependencies",
                           ";".join([*pkg.deps, "rosidl_default_runtime"]))):
        (index / kind).mkdir(parents=True, exist_ok=True)
        (index / kind / pkg.name).write_text(content)

    # Python package.
    pkg_dir = SITE / pkg.name
    shutil.rmtree(pkg_dir, ignore_errors=True)
    (pkg_dir / "msg").mkdir(parents=True)
    (pkg_dir / "__init__.py").write_text("")
    for py in (gen / "py" / "msg").glob("*.py"):
        if py.name != "__init__.py":
            shutil.copy2(py, pkg_dir / "msg" / py.name)
    for name, path in built.items():
        if not name.startswith("lib"):
            shutil.copy2(path, pkg_dir / name)
    # Written last, so an interrupted install is never taken as up to date.
    shutil.copy2(gen / "py" / "msg" / "__init__.py", installed_marker(pkg))
    os.utime(installed_marker(pkg))


def smoke_test(pkg):
    """Import and serialize in a fresh interpreter, as a user would."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "AMENT_PREFIX_PATH")}
    proc = subprocess.run([sys.executable, "-c", pkg.smoke], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise BuildError(f"installed {pkg.name} does not import/serialize in a fresh process:\n"
                         + proc.stdout + proc.stderr)


def build_package(pkg, msgs, keep):
    t0 = time.monotonic()
    log(f"building {pkg.name} from {len(msgs)} .msg files in {pkg.src / 'msg'} "
        f"into {sys.prefix}")
    build = Path(tempfile.mkdtemp(prefix=f"{pkg.name}-build-"))
    try:
        gen = generate(pkg, build)
        log(f"{pkg.name}: generated sources ({time.monotonic() - t0:.1f} s)")
        built, headers = compile_all(pkg, build, gen)
        log(f"{pkg.name}: compiled {len(built)} shared objects ({time.monotonic() - t0:.1f} s)")
        install(pkg, build, gen, built, headers)
    finally:
        if keep:
            log(f"kept build dir {build}")
        else:
            shutil.rmtree(build, ignore_errors=True)
    log(f"installed Python package {SITE / pkg.name}")
    log(f"installed libraries {LIBDIR}/lib{pkg.name}__rosidl_*.so")
    log(f"installed headers {INCDIR / pkg.name} and interfaces {SHAREDIR / pkg.name}")
    smoke_test(pkg)
    log(f"{pkg.name}: import + serialize check passed; done in {time.monotonic() - t0:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true",
                        help="rebuild even if up to date (not packages from another install)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary build dirs")
    args = parser.parse_args(argv)
    try:
        t0 = time.monotonic()
        built = 0
        for pkg in build_order(PACKAGES):
            msgs = msg_files(pkg)
            external = external_install(pkg)
            if external is not None:
                log(f"{pkg.name} imports from {external} (outside this venv); skipped")
                continue
            if not args.force and up_to_date(pkg, msgs):
                log(f"{pkg.name} is up to date in {SITE / pkg.name} (newer than every .msg "
                    "file); nothing to do (--force rebuilds)")
                continue
            check_prerequisites(pkg)
            build_package(pkg, msgs, args.keep)
            built += 1
        if built:
            log(f"built {built} package(s) in {time.monotonic() - t0:.1f} s")
        return 0
    except BuildError as exc:
        print(f"[build_msgs] ERROR: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # generator failures: report them plainly, non-zero
        import traceback
        traceback.print_exc()
        print(f"[build_msgs] ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
