"""The tree's import rules and event names, read from the source with `ast` (no import, no I/O
beyond reading the files).

- the kernel (`kernel/`) is below every processor and service: it imports neither;
- the engine (`stream_processors/runner.py`) imports no processor's module;
- services import from a processor only its `published` module;
- an event's name is spelled once, in `avro_schemas/events.py`: no other source file holds an
  event name (full or short) or an event namespace prefix as a string.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from avro_schemas import events
from avro_schemas.catalogue import EVENT_TYPES, INCIDENT

ROOT = Path(__file__).resolve().parents[2]
# Source packages; tests/ is left out on purpose: a test writes the wire names it expects
# (what a tablet or a clinic really sends) instead of taking them from the code under test.
SOURCE = ["kernel", "services", "stream_processors", "eventlog", "viewstore", "embedded", "bench"]
# A processor is a package under stream_processors/; its top-level modules are the engine.
PROCESSORS = sorted(p.parent.name for p in (ROOT / "stream_processors").glob("*/__init__.py"))


def _files(*roots: str) -> Iterator[Path]:
    for root in roots:
        yield from sorted((ROOT / root).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module an import statement names (`from a.b import c` names `a.b` and `a.b.c`:
    `c` may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{a.name}") for a in node.names)


def _is_processor_module(module: str) -> bool:
    parts = module.split(".")
    return len(parts) >= 2 and parts[0] == "stream_processors" and parts[1] in PROCESSORS


def kernel_violations(path: Path, tree: ast.Module) -> list[str]:
    """Imports of a processor or a service from a kernel module."""
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imported_modules(tree)
        if module.split(".")[0] in ("stream_processors", "services")
    ]


def engine_violations(path: Path, tree: ast.Module) -> list[str]:
    """Imports of anything inside a processor's package from the engine."""
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imported_modules(tree)
        if _is_processor_module(module)
    ]


def service_violations(path: Path, tree: ast.Module) -> list[str]:
    """Imports of a processor's module other than its `published` module, from a service.
    (`from stream_processors.x import published` names `stream_processors.x` too: allowed.)"""
    out = []
    for line, module in imported_modules(tree):
        parts = module.split(".")
        if not _is_processor_module(module) or len(parts) == 2:
            continue
        if parts[2] != "published":
            out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def _event_words() -> set[str]:
    full = set(events.names()) | {events.DEAD_LETTER}
    namespaces = {name.rsplit(".", 1)[0] + "." for name in full}
    return full | {events.short(name) for name in full} | namespaces


def _literal_type_strings(tree: ast.Module) -> set[int]:
    """The string nodes inside `Literal[...]`: a type cannot be spelled with a constant."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "Literal":
            inside |= {id(n) for n in ast.walk(node.slice)}
    return inside


def event_name_literals(path: Path, tree: ast.Module, words: set[str]) -> list[str]:
    """String constants that are an event name, a short name or a namespace prefix."""
    skip = _literal_type_strings(tree)
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in words
        and id(node) not in skip
    ]


def test_every_catalogued_event_is_named_once_in_events_module() -> None:
    assert sorted(events.names()) == sorted(EVENT_TYPES)
    assert len(set(events.names())) == len(events.names()), "two constants name one event"


def test_kernel_imports_no_processor_and_no_service() -> None:
    found = [v for path in _files("kernel") for v in kernel_violations(path, _tree(path))]
    assert found == []


def test_runner_imports_no_processor_module() -> None:
    path = ROOT / "stream_processors" / "runner.py"
    assert engine_violations(path, _tree(path)) == []


def test_services_import_only_published_modules_of_processors() -> None:
    found = [v for path in _files("services") for v in service_violations(path, _tree(path))]
    assert found == []


def test_no_event_name_literal_outside_avro_schemas() -> None:
    words = _event_words()
    found = [v for path in _files(*SOURCE) for v in event_name_literals(path, _tree(path), words)]
    assert found == []


def test_tablet_event_types_are_the_incident_events_short_names() -> None:
    """The tablet API's `type` values (pydantic `Literal`s, which cannot name a constant) are
    exactly the short names of the `ems.incident` events."""
    tree = _tree(ROOT / "services" / "ingest" / "tablet_models.py")
    types = {
        node.annotation.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and getattr(node.target, "id", "") == "type"
        and isinstance(node.annotation, ast.Subscript)
        and isinstance(node.annotation.slice, ast.Constant)
    }
    incident = {events.short(n) for n, t in EVENT_TYPES.items() if t.topic == INCIDENT}
    assert types == incident


def test_the_checks_see_a_planted_violation() -> None:
    """Each check finds the violation it exists for (so an empty answer above means clean)."""
    path = ROOT / "services" / "planted.py"
    tree = ast.parse(
        "from stream_processors.notifier.fold import STATE\n"
        "from services.app import create_app\n"
        f"NAME = {events.short(events.ECG_SUBMITTED)!r}\n"
    )
    assert service_violations(path, tree) == [
        "services/planted.py:1 imports stream_processors.notifier.fold",
        "services/planted.py:1 imports stream_processors.notifier.fold.STATE",
    ]
    assert kernel_violations(path, tree)[0].endswith("imports stream_processors.notifier.fold")
    assert kernel_violations(path, tree)[-1].endswith("imports services.app.create_app")
    assert engine_violations(path, tree)[0].endswith("stream_processors.notifier.fold")
    assert event_name_literals(path, tree, _event_words()) == [
        "services/planted.py:3 'EcgSubmitted'"
    ]
