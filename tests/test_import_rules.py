"""The one-way dependency rule (ARCHITECTURE.md), read from the source: every ``import`` statement of
``mediahub/``, ``tasks/`` and ``tenants/``, those inside functions and ``TYPE_CHECKING`` blocks too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mediahub", "tasks", "tenants")
# The generic layers below every media domain.
GENERIC = ("tasks", "tenants")
# Media domains (present and coming): the generic layers never import them.
MEDIA_DOMAINS = (
    "mediahub.media",
    "mediahub.transcoding",
    "mediahub.webhooks",
    "mediahub.search",
    "mediahub.plugins",
    "mediahub.commands",
    "mediahub.images",
    "mediahub.imports",
    "mediahub.presets",
    "mediahub.cli",
)
# The HTTP layer: the only modules that may speak DRF (raise its exceptions, use its serializers).
HTTP_MODULES = ("views", "serializers", "urls", "authentication", "permissions", "settings")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module named by an import in the file (``from a import b`` names ``a.b`` if that is a
    module, else ``a``)."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: (_imports(name, path) & modules.keys()) - {name} for name, path in modules.items()}


def _inside(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_the_generic_layers_import_no_media_domain():
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if _inside(module, GENERIC)
        for target in targets
        if _inside(target, MEDIA_DOMAINS)
    )
    assert wrong == []


def test_tenants_import_no_task_engine():
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if _inside(module, ("tenants",))
        for target in targets
        if _inside(target, ("tasks",))
    )
    assert wrong == []


def test_only_the_http_layer_speaks_drf():
    wrong = sorted(
        module
        for module, path in _modules().items()
        if not _inside(module, ("mediahub.api",))
        and module.rsplit(".", 1)[-1] not in HTTP_MODULES
        and any(_inside(i, ("rest_framework",)) for i in _imports(module, path))
    )
    assert wrong == []


def test_the_rule_sees_a_wrong_arrow(tmp_path, monkeypatch):
    """The checks above can fail: a planted ``tasks`` module importing media is reported."""
    package = tmp_path / "tasks"
    package.mkdir()
    (package / "bad.py").write_text("def f():\n    from mediahub.media.models import Media\n")
    (package / "loop.py").write_text("from tasks import bad\nimport tasks.loop2\n")
    (package / "loop2.py").write_text("from tasks.loop import x\n")
    media = tmp_path / "mediahub" / "media"
    media.mkdir(parents=True)
    (media / "models.py").write_text("")
    (tmp_path / "tenants").mkdir()
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    graph = _graph()
    assert "mediahub.media.models" in graph["tasks.bad"]
    assert _cycles(graph) == [["tasks.loop", "tasks.loop2"]]
