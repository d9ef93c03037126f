"""The house rules of DESIGN.md, read from the code itself (``ast``, no third-party tool).

- no import cycle between the package's modules;
- no import of another module's private name (``from x import _y`` or ``x._y``);
- every import points down the table of rooms below (the folder -> may-import table of
  DESIGN.md, "The house");
- no module over MAX_MODULE_LINES lines and no function over MAX_FUNCTION_LINES, except the
  few listed in EXCEPTIONS with their reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tts_pipeline"
ROOT = "tts_pipeline"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

# Module or folder (dotted, below tts_pipeline) -> its room. The longest matching prefix wins.
ROOMS = {
    "": "core",  # tts_pipeline/__init__.py: the version
    "__main__": "cli",
    "models": "core",
    "errors": "core",
    "config": "core",
    "paths": "core",
    "fsutil": "core",
    "memory": "core",
    "locks": "core",
    "sentences": "core",
    "net": "net",
    "ingest": "ingest",
    "clean": "clean",
    "synth": "synth",
    "audio": "audio",
    "package": "package",
    "library": "library",
    "execution": "execution",
    "execution.seam": "seam",
    "pipeline": "pipeline",
    "verify": "verify",
    "watch": "watch",
    "batch": "batch",
    "publish": "publish",
    "preview": "preview",
    "serve": "serve",
    "sample": "sample",
    "cli": "cli",
}

# Room -> the rooms it may import (besides itself). Core may be imported by every room.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "net": set(),
    "ingest": {"net"},
    "clean": set(),
    "audio": set(),
    "seam": set(),
    "synth": {"audio", "seam", "net"},  # net: downloading a Piper voice
    "package": {"audio"},
    "library": {"package"},
    "execution": {"seam", "synth"},
    "verify": {"audio", "synth", "library"},  # re-speaks a chunk; its report and status
    "pipeline": {"net", "ingest", "clean", "synth", "audio", "package", "library", "execution"}
    | {"seam", "verify"},
    "watch": {"pipeline", "library", "ingest", "net", "seam", "verify"},
    "batch": {"pipeline", "library", "ingest", "net", "seam", "verify", "watch"},
    "publish": {"library", "net"},
    "preview": {"pipeline", "library", "audio", "package", "net"},
    "serve": {"library", "package"},
    "sample": set(),
    "cli": {"net", "ingest", "clean", "synth", "audio", "package", "library", "execution", "seam"}
    | {"pipeline", "verify", "watch", "batch", "publish", "preview", "serve", "sample"},
}

# Where the limits do not apply, and why: (module, function or "" for the module) -> reason.
EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted below tts_pipeline ("" for the package)
    target: str  # the imported module
    names: tuple[str, ...]  # the names taken from it (from-imports)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str, known: dict[str, Path]) -> bool:
    return name in known and known[name].name == "__init__.py"


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """``name`` (dotted, below tts_pipeline) as a known module, or None."""
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name if name in known else None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if is_package(name, known) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    target = resolve(alias.name.removeprefix(ROOT).lstrip("."), known)
                    if target is not None:
                        yield Import(name, target, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                dotted = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            elif node.module and (node.module == ROOT or node.module.startswith(ROOT + ".")):
                dotted = node.module.removeprefix(ROOT).lstrip(".")
            else:
                continue
            for alias in node.names:
                submodule = f"{dotted}.{alias.name}".lstrip(".")
                if submodule in known:  # "from package import module"
                    yield Import(name, submodule, (), node.lineno)
                else:
                    target = resolve(dotted, known)
                    if target is not None:
                        yield Import(name, target, (alias.name,), node.lineno)


def private_attribute_uses(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """``alias._name`` where ``alias`` is an imported project module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}".removeprefix(ROOT).lstrip(".")
                if node.module.startswith(ROOT) and dotted in known:
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(ROOT + ".") and alias.asname:
                    aliases.add(alias.asname)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and is_private(node.attr)
        ):
            yield f"{name}:{node.lineno} uses {node.value.id}.{node.attr}"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def room_of(name: str) -> str:
    best = ""
    for prefix in ROOMS:
        if (name == prefix or name.startswith(prefix + ".")) and len(prefix) >= len(best):
            best = prefix
    return ROOMS[best] if best or name == "" else ROOMS[""]


def all_imports() -> list[Import]:
    known = modules()
    return [imp for name, path in known.items() for imp in imports_of(name, path, known)]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def import_cycles() -> list[str]:
    edges: dict[str, set[str]] = {}
    for imp in all_imports():
        if imp.target != imp.source:
            edges.setdefault(imp.source, set()).add(imp.target)
    return [" -> ".join(cycle) for cycle in cycles(edges)]


def private_imports() -> list[str]:
    known = modules()
    found = [
        f"{imp.source}:{imp.line} imports {imp.target}.{name}"
        for imp in all_imports()
        for name in imp.names
        if is_private(name) and imp.target != imp.source
    ]
    for name, path in known.items():
        found += private_attribute_uses(name, path, known)
    return found


def upward_imports() -> list[str]:
    found: dict[str, None] = {}  # ordered, one line per import statement
    for imp in all_imports():
        source, target = room_of(imp.source), room_of(imp.target)
        if source != target and target != "core" and target not in MAY_IMPORT[source]:
            found[f"{imp.source}:{imp.line} ({source}) imports {imp.target} ({target})"] = None
    return list(found)


def errors_outside_errors_py() -> list[str]:
    """Every exception class of the project is declared in errors.py (one tree to read)."""
    found = []
    for name, path in modules().items():
        if name == "errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(base, ast.Name) and base.id.endswith("Error"))
                or (isinstance(base, ast.Attribute) and base.attr.endswith("Error"))
                for base in node.bases
            ):
                found.append(f"{name}:{node.lineno} {node.name}")
    return found


def over_limits(
    module_limit: int = MAX_MODULE_LINES, function_limit: int = MAX_FUNCTION_LINES
) -> dict[tuple[str, str], int]:
    """(module, function or "") -> lines, for every module and function over its limit."""
    found: dict[tuple[str, str], int] = {}
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > module_limit:
            found[name, ""] = lines
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > function_limit:
                    found[name, node.name] = length
    return found


def oversized() -> list[str]:
    return [
        f"{module}{'.' + function if function else ''}: {lines} lines"
        for (module, function), lines in over_limits().items()
        if (module, function) not in EXCEPTIONS
    ]


def test_every_module_has_a_room() -> None:
    unplaced = [name for name in modules() if name and room_of(name) == "core"]
    core = {"models", "errors", "config", "config.clean", "config.watch", "config.publish"}
    core |= {"config.channels", "config.cast", "paths", "fsutil", "memory", "sentences"}
    assert [name for name in unplaced if name not in core] == []


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_no_private_names_imported() -> None:
    assert private_imports() == []


def test_imports_point_down_the_house() -> None:
    assert upward_imports() == []


def test_every_error_class_is_in_errors_py() -> None:
    assert errors_outside_errors_py() == []


def test_modules_and_functions_are_short() -> None:
    assert oversized() == []


def test_exceptions_are_still_needed() -> None:
    """An exception whose module or function is gone or back under the limits is removed."""
    assert [place for place in EXCEPTIONS if place not in over_limits()] == []


def test_the_rules_catch_what_they_name() -> None:
    """The checks themselves: a cycle, a private import and an upward import are found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert room_of("clean.tex") == "clean"
    assert room_of("execution.seam") == "seam"
    assert room_of("execution.local") == "execution"
    assert "cli" not in MAY_IMPORT["watch"]
    assert is_private("_fail") and not is_private("__version__")
    tight = over_limits(module_limit=300, function_limit=40)  # today's largest are above
    assert ("pipeline", "") in tight and ("pipeline", "_convert_post_alone") in tight
