"""The package layout follows the flow camera -> perception -> tracking -> fitting -> result ->
ROS: the product's modules do not import the synthetic world or the evaluation (apps, the
CLI and the training data of the learned parts aside), and the packages import each other
without a cycle. Function-level imports count."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "interaction_recon"
# modules that may use the synthetic world and the evaluation: apps, the CLI, training data
APPS = {"cli", "apps.demo", "apps.body_demo", "ros.replay", "contact.data", "contact.train", "contact.cli", "prior.data",
        "prior.train", "prior.cli"}
NOT_PRODUCT = ("synth", "eval")


def _imports() -> dict[str, set[str]]:
    """module (dotted, relative to the package) -> the package's modules it imports."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        out[name] = {m.removeprefix("interaction_recon.") for m in found if m.startswith("interaction_recon.")}
    return out


def test_no_product_module_imports_the_synthetic_world_or_the_evaluation():
    bad = {m: sorted(i for i in imported if i.split(".")[0] in NOT_PRODUCT)
           for m, imported in _imports().items() if m.split(".")[0] not in NOT_PRODUCT and m not in APPS}
    assert not {m: i for m, i in bad.items() if i}, bad


@pytest.mark.parametrize("apps", [False, True])
def test_the_packages_import_each_other_without_a_cycle(apps):
    """Between the top-level packages; the apps' and training modules' edges checked apart."""
    graph: dict[str, set[str]] = {}
    for module, imported in _imports().items():
        if (module in APPS) != apps:
            continue
        for other in imported:
            a, b = module.split(".")[0], other.split(".")[0]
            if a != b:
                graph.setdefault(a, set()).add(b)

    def cycle_from(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            found = cycle_from(nxt, path + [nxt])
            if found:
                return found
        return None

    cycles = [c for c in (cycle_from(n, [n]) for n in sorted(graph)) if c]
    assert not cycles, cycles
