"""The dependency rules of style.md §1, checked on the source so a violation fails before it ships.

    protocol ──► engine ◄── scheduler     engine: SQLAlchemy + stdlib, never the web or the CLI
    protocol: no SQL (queries live in engine services; presenters only read loaded attributes)
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The engine runs inside the cron tick with no Flask app and no request: it may not know either.
ENGINE_FORBIDDEN = ("flask", "werkzeug", "protocol", "scheduler", "marshmallow", "click")
SCHEDULER_FORBIDDEN = ("flask", "werkzeug", "protocol", "marshmallow")
# Query builders and sessions: the things a presenter would need to run SQL itself.
QUERY_NAMES = {"select", "insert", "update", "delete", "text", "func", "Session", "sessionmaker",
               "create_engine", "exists", "and_", "or_", "literal", "union", "Select"}
QUERY_ATTRIBUTES = {"session", "execute", "scalar", "scalars", "query", "connection"}


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, imported names) for every import, including dynamic importlib/__import__ calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value, ()))
    return sorted(found)


def top(module: str) -> str:
    return module.split(".")[0]


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{rel(path)}:{line} imports {module}"
            for path in sources(package)
            for line, module, _ in imports(path) if top(module) in forbidden]


def test_the_rules_see_every_module():
    # A typo in a package path would make every rule below pass vacuously.
    assert len(sources("engine")) > 10 and len(sources("protocol")) > 10 and sources("scheduler")


def test_the_import_walker_finds_static_and_dynamic_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import flask.json\nfrom werkzeug import Request\n"
                     "def f():\n    from protocol.app import create_app\n"
                     "import importlib\nimportlib.import_module('scheduler.tick')\n")
    assert [(m, top(m)) for _, m, _ in imports(probe)] == [
        ("flask.json", "flask"), ("werkzeug", "werkzeug"), ("protocol.app", "protocol"),
        ("importlib", "importlib"), ("scheduler.tick", "scheduler")]


def test_engine_never_imports_the_web_layer_the_protocol_or_the_scheduler():
    assert violations("engine", ENGINE_FORBIDDEN) == []


def test_scheduler_never_imports_the_web_layer_or_the_protocol():
    assert violations("scheduler", SCHEDULER_FORBIDDEN) == []


def test_protocol_never_imports_sqlalchemy_outside_the_presenters():
    bad = [f"{rel(path)}:{line} imports {module}"
           for path in sources("protocol") if "views" not in path.relative_to(ROOT / "protocol").parts
           for line, module, _ in imports(path) if top(module) == "sqlalchemy"]
    assert bad == []


def test_presenters_read_attributes_but_build_no_queries():
    bad = []
    for path in sources("protocol/views"):
        for line, module, names in imports(path):
            if top(module) == "sqlalchemy" and (not names or QUERY_NAMES & set(names) or "orm" in module):
                bad.append(f"{rel(path)}:{line} imports {module} {names}")
    assert bad == []


def test_protocol_code_touches_no_session():
    """Handlers call one engine service; `ctx.uow.session.execute(...)` in protocol/ is SQL in the wrong place."""
    bad = []
    for path in sources("protocol"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in QUERY_ATTRIBUTES:
                bad.append(f"{rel(path)}:{node.lineno} uses .{node.attr}")
    assert bad == []
