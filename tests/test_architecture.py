"""The layout ARCHITECTURE.md promises: no import cycle (function-level imports included), short
functions, one flag builder, and image jobs that never load the 2D renderer."""

import ast
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("toygan", "imagegan")


def _modules():
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).glob("*.py")):
            yield f"{pkg}.{p.stem}" if p.stem != "__init__" else pkg, p


def _imports(path: pathlib.Path) -> set[str]:
    """Every project module ``path`` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n for n in names if n.split(".")[0] in PACKAGES}
    return out


def test_import_graph_has_no_cycle():
    mods = dict(_modules())
    graph = {m: {i for i in _imports(p) if i in mods and i != m and i not in PACKAGES}
             for m, p in mods.items()}
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, f"import cycle: {' -> '.join(path + [n])}"
            if n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    # A constructed cycle is found: the check can fail.
    graph["toygan.errors"] = {"toygan.files"}
    state.clear()
    try:
        visit("toygan.files", ["toygan.files"])
    except AssertionError as e:
        assert "import cycle" in str(e)
    else:
        raise AssertionError("a constructed cycle went unnoticed")


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{name}.{node.name} ({n} lines)")
    assert long == []


def test_every_command_builds_its_flags_from_a_config_dataclass():
    # No hand-written numeric option: every --flag with a type comes from toygan.config.
    for name, path in _modules():
        assert not re.search(r"\btype=(int|float)\b", path.read_text()), name


def test_an_image_job_never_imports_the_2d_renderer():
    code = ("import sys, imagegan.train, imagegan.sample, imagegan.evaluate; "
            "print('toygan.render' in sys.modules, 'matplotlib.pyplot' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def _layers() -> dict[str, int]:
    """Module -> layer index, read from ARCHITECTURE.md's layer table (lower first)."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    table = text[text.index("## Layers"):].split("\n\n")[1]
    out = {}
    for level, row in enumerate(line for line in table.splitlines()[2:] if line.startswith("|")):
        pkg = None
        for name in re.findall(r"`([\w/]+)\.py`", row.split("|")[2]):
            if "/" in name:
                pkg, name = name.split("/")
            if pkg in PACKAGES:
                out[f"{pkg}.{name}"] = level
    return out


def _layer_breaks(layers: dict[str, int]) -> list[str]:
    mods = dict(_modules())
    breaks = []
    for m, p in mods.items():
        for i in _imports(p):
            i = i if i in mods else i.rsplit(".", 1)[0]
            if i in layers and m in layers and layers[i] > layers[m]:
                breaks.append(f"{m} (layer {layers[m]}) imports {i} (layer {layers[i]})")
    return breaks


def test_every_module_is_in_a_layer_and_imports_only_its_own_or_lower():
    layers = _layers()
    unplaced = [m for m, _ in _modules() if m not in PACKAGES and m not in layers]
    assert unplaced == [], f"modules in no layer of ARCHITECTURE.md: {unplaced}"
    assert _layer_breaks(layers) == []
    # A module moved below what it imports is reported: the check can fail.
    assert any("toygan.train" in b for b in _layer_breaks({**layers, "toygan.train": 0}))


MAX_CLASS_LINES = 150


def test_no_class_is_longer_than_the_limit():
    sizes = {}
    for mod, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                sizes[f"{mod}.{node.name}"] = node.end_lineno - node.lineno + 1
    long = {name: n for name, n in sizes.items() if n > MAX_CLASS_LINES}
    assert not long, f"over {MAX_CLASS_LINES} lines: {long}"
