"""The package's layering: which room may import which, checked on every module's imports (ast)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rankperf_data"

# room -> rooms it must never import (a room is a subpackage or a top-level module of rankperf_data)
FORBIDDEN = {
    "report": {"load", "server", "profile", "cli"},
    "dataset": {"apis", "load", "report", "server"},
    "apis": {"load", "report", "server"},
    "server": {"load", "report"},
    "results": {"load", "report", "server", "dataset", "profile", "cli"},
}


# rooms (and single modules) that must stay free of Locust and gevent: importable anywhere, testable alone
NO_LOCUST = ("dataset", "apis", "results", "report", "load.pacing")
EVENT_LOOP = ("locust", "gevent", "geventhttpclient")


def room_of(module: str) -> str | None:
    """'rankperf_data.load.users' -> 'load'; None for modules outside the package."""
    parts = module.split(".")
    if parts[0] != "rankperf_data" or len(parts) < 2:
        return None
    return parts[1]


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (function-level imports too), made absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            # `from rankperf_data import load` imports the room itself
            if base == "rankperf_data":
                found += [(node.lineno, f"rankperf_data.{alias.name}") for alias in node.names]
    return found


def uses_sys_modules(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "modules"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]


def layering_violations(package: Path = PACKAGE) -> list[str]:
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        room = room_of(module_name(path, package.parent))
        banned = FORBIDDEN.get(room or "", set())
        name = module_name(path, package.parent).removeprefix("rankperf_data.")
        locust_free = any(name == r or name.startswith(r + ".") for r in NO_LOCUST)
        for line, target in imported_modules(path, package.parent):
            if room_of(target) in banned:
                problems.append(f"{path.relative_to(package.parent)}:{line}: {room}/ imports {target}")
            if locust_free and target.split(".")[0] in EVENT_LOOP:
                problems.append(f"{path.relative_to(package.parent)}:{line}: {name} imports {target}")
        problems += [f"{path.relative_to(package.parent)}:{line}: uses sys.modules" for line in uses_sys_modules(path)]
    return problems


def test_no_import_crosses_the_layering() -> None:
    assert layering_violations() == []


def test_the_checker_sees_a_function_level_import(tmp_path: Path) -> None:
    report = tmp_path / "rankperf_data" / "report"
    report.mkdir(parents=True)
    (report / "bad.py").write_text("def f():\n    from ..load import records\n    return records\n")
    assert imported_modules(report / "bad.py", tmp_path) == [(2, "rankperf_data.load")]
    assert layering_violations(tmp_path / "rankperf_data") == [
        "rankperf_data/report/bad.py:2: report/ imports rankperf_data.load"]


def test_the_checker_sees_sys_modules(tmp_path: Path) -> None:
    dataset = tmp_path / "rankperf_data" / "dataset"
    dataset.mkdir(parents=True)
    (dataset / "sneaky.py").write_text("import sys\n\nSTATE = sys.modules['rankperf_data.load.hooks'].STATE\n")
    assert layering_violations(tmp_path / "rankperf_data") == ["rankperf_data/dataset/sneaky.py:3: uses sys.modules"]


def test_the_checker_sees_gevent_in_a_locust_free_room(tmp_path: Path) -> None:
    results = tmp_path / "rankperf_data" / "results"
    results.mkdir(parents=True)
    (results / "slow.py").write_text("import gevent\n")
    assert layering_violations(tmp_path / "rankperf_data") == [
        "rankperf_data/results/slow.py:1: results.slow imports gevent"]


def message_name_literals(package: Path = PACKAGE) -> list[str]:
    """Places outside load/messages.py that spell a master/worker message name as a literal."""
    from rankperf_data.load import messages

    names = {v for k, v in vars(messages).items() if k.isupper() and isinstance(v, str)}
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).as_posix() == "load/messages.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}: {node.value!r}")
    return found


def test_message_names_are_declared_once() -> None:
    assert message_name_literals() == []


def test_the_checker_sees_a_message_name_literal(tmp_path: Path) -> None:
    load = tmp_path / "rankperf_data" / "load"
    load.mkdir(parents=True)
    (load / "stray.py").write_text("def f(runner):\n    runner.send_message('rankperf_done', {})\n")
    assert message_name_literals(tmp_path / "rankperf_data") == ["rankperf_data/load/stray.py:2: 'rankperf_done'"]


def long_functions(package: Path = PACKAGE, limit: int = 60) -> list[str]:
    """Functions (and methods) of more than ``limit`` lines, decorators excluded."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno}: {node.name} ({length} lines)")
    return found


def test_no_function_over_60_lines() -> None:
    assert long_functions() == []
