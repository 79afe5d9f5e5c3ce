#!/usr/bin/env python3
"""Generate and compile the interaction_recon_msgs interfaces into this Python environment.

For environments where ROS 2 comes from the PyPI wheels (ros-jazzy-rclpy & co.) and no colcon
is available.  Users with a system ROS 2 build ros_ws/src/interaction_recon_msgs with colcon
instead; both use the same .msg files.

Run it with the interpreter of the target virtual environment:

    .venv/bin/python scripts/build_msgs.py [--force]

What it does (in a temporary directory):
  1. rosidl translate .msg -> .idl
  2. rosidl generate c, py and the c / introspection_c / fastrtps_c type supports
  3. compile five shared libraries and the Python extension with gcc/g++
  4. install them the way the ROS wheels lay out their own message packages:
       <prefix>/lib/lib<pkg>__rosidl_*.so      (on LD_LIBRARY_PATH via ros_wheels_bootstrapper)
       <site-packages>/<pkg>/                  (Python package + extension module)
       <prefix>/include/<pkg>/<pkg>/...        (C headers)
       <prefix>/share/<pkg>/ and the ament resource index
It is a no-op when the installed Python module is newer than every .msg file (use --force to
rebuild).  Needs catkin_pkg (pip install catkin_pkg) and gcc/g++.
"""
import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

PKG = "interaction_recon_msgs"
DEPS = ["builtin_interfaces", "geometry_msgs", "std_msgs"]
HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "ros_ws" / "src" / PKG

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


def msg_files():
    files = sorted((SRC / "msg").glob("*.msg"))
    if not files:
        raise BuildError(f"no .msg files found in {SRC / 'msg'}")
    return files


def installed_marker():
    """The generated module whose mtime decides whether a rebuild is needed."""
    return SITE / PKG / "msg" / "__init__.py"


def installed_outputs():
    names = [f"lib{PKG}__rosidl_{kind}.so" for kind in
             ("generator_c", "typesupport_c", "typesupport_introspection_c",
              "typesupport_fastrtps_c", "generator_py")]
    return [LIBDIR / n for n in names] + [
        SITE / PKG / f"{PKG}_s__rosidl_typesupport_c{EXT_SUFFIX}", installed_marker()]


def up_to_date(msgs):
    marker = installed_marker()
    if not all(p.exists() for p in installed_outputs()):
        return False
    newest_src = max(p.stat().st_mtime for p in msgs)
    return marker.stat().st_mtime > newest_src


def check_prerequisites():
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
    for dep in DEPS:
        if not (SHAREDIR / dep / "msg").is_dir():
            raise BuildError(f"dependency interfaces not found: {SHAREDIR / dep / 'msg'} "
                             f"(pip install ros-jazzy-{dep.replace('_', '-')})")


def generate(build):
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

    msgs = [f"{SRC}:msg/{p.name}" for p in msg_files()]
    include_paths = [str(SHAREDIR)]
    idl = translate(package_name=PKG, interface_files=msgs, output_format="idl",
                    include_paths=include_paths, output_path=build / "idl")
    gen = build / "gen"
    rosidl_generate(package_name=PKG, interface_files=idl, include_paths=include_paths,
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


def compile_all(build, gen):
    """Compile the generated sources; returns {name: path} of the built files."""
    # Headers are included as <pkg>/msg/..., from all generators.
    inc = build / "include"
    for sub in ("c", "introspection_c", "fastrtps_c"):
        for h in (gen / sub).rglob("*.h"):
            dest = inc / PKG / h.relative_to(gen / sub)
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
        return f"{PKG}__rosidl_{kind}"

    def deps(kind):
        return [f"-l{d}__rosidl_{kind}" for d in DEPS]

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
    ext = out / f"{PKG}_s__rosidl_typesupport_c{EXT_SUFFIX}"
    rpath = "$ORIGIN/" + os.path.relpath(LIBDIR, SITE / PKG)
    run(["gcc", "-std=c11", *common, f"-Wl,-rpath,{rpath}", *includes, *py_includes,
         str(gen / "py" / f"_{PKG}_s.ep.rosidl_typesupport_c.c"), "-o", str(ext),
         f"-l{lib('generator_py')}", f"-l{lib('typesupport_c')}", f"-l{lib('generator_c')}",
         "-lrosidl_typesupport_c", "-lrosidl_runtime_c", "-lrcutils"])
    built[ext.name] = ext
    return built, inc / PKG


def install(build, gen, built, headers):
    """Copy everything into the environment; the Python marker module goes last."""
    for name, path in built.items():
        if name.startswith("lib"):
            tmp = LIBDIR / f".{name}.tmp"
            shutil.copy2(path, tmp)
            os.replace(tmp, LIBDIR / name)  # atomic: never a half-written library

    # C headers, mirroring <prefix>/include/<dep>/<dep>/msg/... of the wheels.
    inc_dest = INCDIR / PKG / PKG
    shutil.rmtree(inc_dest, ignore_errors=True)
    shutil.copytree(headers, inc_dest)

    # share/<pkg>: package.xml, .msg, .idl, .json (type descriptions); ament index.
    share = SHAREDIR / PKG
    shutil.rmtree(share, ignore_errors=True)
    (share / "msg").mkdir(parents=True)
    shutil.copy2(SRC / "package.xml", share / "package.xml")
    interfaces = []
    for m in msg_files():
        shutil.copy2(m, share / "msg" / m.name)
        shutil.copy2(build / "idl" / "msg" / f"{m.stem}.idl", share / "msg" / f"{m.stem}.idl")
        desc = gen / "c" / "msg" / f"{m.stem}.json"
        if desc.exists():
            shutil.copy2(desc, share / "msg" / desc.name)
        interfaces += [f"msg/{m.stem}.idl", f"msg/{m.name}"]
    index = SHAREDIR / "ament_index" / "resource_index"
    for kind, content in (("packages", ""), ("rosidl_interfaces", "\n".join(interfaces) + "\n"),
                          ("package_run_dependencies", ";".join(DEPS + ["rosidl_default_runtime"]))):
        (index / kind).mkdir(parents=True, exist_ok=True)
        (index / kind / PKG).write_text(content)

    # Python package.
    pkg_dir = SITE / PKG
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
    shutil.copy2(gen / "py" / "msg" / "__init__.py", installed_marker())
    os.utime(installed_marker())


def smoke_test():
    """Import and serialize in a fresh interpreter, as a user would."""
    code = (f"from {PKG}.msg import Humans, Human, Contact\n"
            "from rclpy.serialization import serialize_message, deserialize_message\n"
            "m = Humans(humans=[Human(track_id='a')], contacts=[Contact(part_a='right hand')])\n"
            "r = deserialize_message(serialize_message(m), Humans)\n"
            "assert r.humans[0].track_id == 'a' and r.contacts[0].part_a == 'right hand'\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "AMENT_PREFIX_PATH")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BuildError("installed package does not import/serialize in a fresh process:\n" +
                         proc.stdout + proc.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--keep", action="store_true", help="keep the temporary build dir")
    args = parser.parse_args(argv)
    try:
        msgs = msg_files()
        if not args.force and up_to_date(msgs):
            log(f"{PKG} is up to date in {SITE / PKG} (newer than every .msg file); "
                "nothing to do (--force rebuilds)")
            return 0
        check_prerequisites()
        t0 = time.monotonic()
        log(f"building {PKG} from {len(msgs)} .msg files in {SRC / 'msg'} "
            f"into {sys.prefix}")
        build = Path(tempfile.mkdtemp(prefix=f"{PKG}-build-"))
        try:
            gen = generate(build)
            log(f"generated sources ({time.monotonic() - t0:.1f} s)")
            built, headers = compile_all(build, gen)
            log(f"compiled {len(built)} shared objects ({time.monotonic() - t0:.1f} s)")
            install(build, gen, built, headers)
        finally:
            if args.keep:
                log(f"kept build dir {build}")
            else:
                shutil.rmtree(build, ignore_errors=True)
        log(f"installed Python package {SITE / PKG}")
        log(f"installed libraries {LIBDIR}/lib{PKG}__rosidl_*.so")
        log(f"installed headers {INCDIR / PKG} and interfaces {SHAREDIR / PKG}")
        smoke_test()
        log(f"import + serialize check passed; done in {time.monotonic() - t0:.1f} s")
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
