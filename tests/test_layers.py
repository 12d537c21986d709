"""Imports point one way: no cycle between gankit modules, and no module imports a higher layer
(docs/DESIGN.md, "Layers"). Imports are read with ``ast``, at module level and inside functions;
those under ``if TYPE_CHECKING:`` (annotations only) do not count."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A module belongs to the first layer with a prefix that names it or a package above it.
LAYERS = [
    ("base", ["gankit", "gankit.errors", "gankit.files", "gankit.rundir", "gankit.outputs", "gankit.memory"]),
    ("settings and contracts", ["gankit.config", "gankit.capabilities"]),
    ("building blocks", ["gankit.nn", "gankit.data", "gankit.footprint", "gankit.training.checkpoint", "gankit.training.logging",
                         "gankit.training.precision", "gankit.training.distributed", "gankit.latent.search",
                         "gankit.latent.masks", "gankit.detection"]),
    ("measures and figures", ["gankit.metrics", "gankit.report"]),
    ("models", ["gankit.models"]),
    ("the training loop", ["gankit.training.loop"]),
    ("jobs and the API", ["gankit.scoring", "gankit.translation", "gankit.sampling", "gankit.latent", "gankit.api"]),
    ("deployment", ["gankit.deploy", "gankit.export", "gankit.serve"]),
    ("the command line", ["gankit.commands", "gankit.cli", "gankit.__main__"]),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "gankit").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The gankit modules ``path`` imports (``from pkg import name`` counts as pkg.name when that is a module)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def layer_of(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS (and to docs/DESIGN.md)"
    return best[0]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles(graph):
    found = [sorted(c) for c in cycles(graph)]
    assert not found, f"import cycles: {found}"


def test_no_module_imports_a_higher_layer(graph):
    upward = [f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
              for module, targets in sorted(graph.items()) for target in sorted(targets)
              if layer_of(target) > layer_of(module)]
    assert not upward, "\n".join(upward)


def test_the_checker_sees_function_level_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from gankit.api import load\n    import gankit.cli\n")
    assert imports(source, modules()) == {"gankit.api", "gankit.cli"}
