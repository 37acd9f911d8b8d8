"""One owner per table: each app's models are written only from that app's own modules.

The source of every project app is read (ast) for writes to another app's models: ``.save()``,
``.delete()``, ``.update()``, ``.create()``, ``bulk_create`` and the rest, on an expression rooted
at a model imported from another app's ``models``, or on a name bound to one (assigned from it,
looped over it, or a parameter annotated with it). A model whose manager has named queries
(garden's ``Image``: garden.queries) is also read only through them: ``Image.objects.<named>()…``,
never ``Image.objects.filter(…)``, and no status filter spelled after the named one. Other apps'
filters through a relation to an image (``image__status=…``) are held to the same rule: they go
through ``Image.objects.serving()`` as a subquery or a named lookup (garden.queries.serving_through).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models

ROOT = Path(settings.BASE_DIR)

WRITES = frozenset({"save", "delete", "update", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"})

# (module path from the repository root, the offence as reported) → why it must stay. Empty: every
# write goes through the owning app's services, every read of an image through a named query.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def project_apps() -> dict[str, set[str]]:
    """Each app of this repository and the names of its models."""
    found = {}
    for config in apps.get_app_configs():
        path = Path(config.path)
        if path.parent == ROOT:
            found[config.label] = {model.__name__ for model in config.get_models()}
    return found


# Models read only through their named queries. GenerationJob has named queries too (generation/querysets.py),
# but only its status filters are held to them (tests/generation/test_job_status_filters.py): a read
# by key or by relation (a client's jobs, the gardener's) says nothing about what a status means.
READ_THROUGH_NAMED_QUERIES = frozenset({("garden", "Image")})


def named_queries(app: str, model: str) -> set[str] | None:
    """The methods a model's queryset adds to Django's (None: it has no named queries, or its reads are free)."""
    if (app, model) not in READ_THROUGH_NAMED_QUERIES:
        return None
    manager = apps.get_model(app, model)._default_manager
    queryset_class = type(manager.get_queryset())
    own = {
        name
        for klass in queryset_class.__mro__
        if issubclass(klass, models.QuerySet) and klass is not models.QuerySet
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    }
    return own or None


def modules_of(app: str) -> Iterator[Path]:
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def foreign_models(tree: ast.Module, app: str, apps_models: dict[str, set[str]]) -> dict[str, tuple[str, str]]:
    """Local name → (owning app, model) for every model of another app this module imports: from
    its ``models`` module, or through any module that re-exports it (resolved by importing that
    module: a facade cannot hide a write). A module imported whole (``from generation import
    facade``) adds ``facade.Model`` for each foreign model it holds."""
    names: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        owner = node.module.partition(".")[0]
        if owner == app or owner not in apps_models:
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            local = alias.asname or alias.name
            value = getattr(module, alias.name, None)
            if value is None:  # a submodule not imported by its package
                try:
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                except ImportError:
                    continue
            if (found := model_of_value(value, app, apps_models)) is not None:
                names[local] = found
            elif inspect.ismodule(value):
                for attribute, held in vars(value).items():
                    if (found := model_of_value(held, app, apps_models)) is not None:
                        names[f"{local}.{attribute}"] = found
    return names


def model_of_value(value, app: str, apps_models: dict[str, set[str]]) -> tuple[str, str] | None:
    """(owning app, model) when ``value`` is a model class of another project app."""
    if inspect.isclass(value) and issubclass(value, models.Model) and not value._meta.abstract:
        owner = value._meta.app_label
        if owner != app and owner in apps_models and value.__name__ in apps_models[owner]:
            return owner, value.__name__
    return None


def root_name(node: ast.AST) -> str | None:
    """The name an attribute/call/subscript chain starts from: ``Image`` in ``Image.objects.filter(…).update``."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def module_attribute(node: ast.AST, root: str) -> str:
    """``facade.Model`` for a chain that starts ``facade.Model…`` (else "")."""
    while True:
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == root:
                return f"{root}.{node.attr}"
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return ""


def annotated_models(annotation: ast.AST | None, models_: dict[str, tuple[str, str]]) -> str | None:
    """The model an annotation names as the whole type (``Image``, ``Image | None``, ``"Image"``)."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        text = annotation.value.split("|")[0].strip()
        return text if text in models_ else None
    if isinstance(annotation, ast.BinOp):
        return annotated_models(annotation.left, models_) or annotated_models(annotation.right, models_)
    if isinstance(annotation, ast.Name) and annotation.id in models_:
        return annotation.id
    return None


class Scanner(ast.NodeVisitor):
    """Offences of one module, each function read with the names it binds to foreign models."""

    def __init__(self, path: str, tree: ast.Module, models_: dict[str, tuple[str, str]], queries: dict[str, set[str]]):
        self.path, self.models, self.queries = path, models_, queries
        # Calls that are the receiver of another call: a chain is checked once, from its outermost call.
        self.inner = {
            id(node.func.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
        }
        self.bound: list[dict[str, str]] = [{}]  # per scope: variable → model name
        self.offences: list[Offence] = []

    def model_of(self, node: ast.AST) -> str | None:
        name = root_name(node)
        if name is None:
            return None
        if name in self.models:
            return name
        if (dotted := module_attribute(node, name)) in self.models:  # ``facade.Model…``
            return dotted
        for scope in reversed(self.bound):
            if name in scope:
                return scope[name]
        return None

    def bind(self, target: ast.AST, model: str) -> None:
        if isinstance(target, ast.Name):
            self.bound[-1][target.id] = model
        elif isinstance(target, ast.Tuple | ast.List) and target.elts:
            self.bind(target.elts[0], model)  # ``image, created = Image.objects.get_or_create(…)``

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = {}
        arguments = node.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            if model := annotated_models(argument.annotation, self.models):
                scope[argument.arg] = model
        self.bound.append(scope)
        self.generic_visit(node)
        self.bound.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        if model := self.model_of(node.value):
            for target in node.targets:
                self.bind(target, model)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        model = annotated_models(node.annotation, self.models) or (self.model_of(node.value) if node.value else None)
        if model:
            self.bind(node.target, model)

    def visit_For(self, node: ast.For) -> None:
        if model := self.model_of(node.iter):
            self.bind(node.target, model)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if model := self.model_of(node.iter):
            self.bind(node.target, model)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in WRITES:
            model = self.model_of(func.value)
            if model:
                owner, name = self.models[model]
                self.offences.append(Offence(self.path, node.lineno, f"writes {owner}.{name} ({ast.unparse(func)})"))
        self.check_named(node)
        self.generic_visit(node)

    def check_named(self, node: ast.Call) -> None:
        """``Model.objects.<method>(…)`` of a model with named queries: a named one, then no status filter."""
        if id(node) in self.inner:
            return
        chain: list[ast.Call] = []
        current: ast.AST = node
        while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            chain.append(current)
            current = current.func.value
        if not (isinstance(current, ast.Attribute) and current.attr == "objects" and isinstance(current.value, ast.Name)):
            return
        model = current.value.id
        if model not in self.models or (named := self.queries.get(model)) is None:
            return
        first = chain[-1]
        owner, name = self.models[model]
        method = first.func.attr  # type: ignore[union-attr]
        if method not in named:
            self.offences.append(Offence(self.path, node.lineno, f"reads {owner}.{name} past its named queries ({name}.objects.{method})"))
        for call in chain[:-1]:
            if call.func.attr in ("filter", "exclude") and any(k.arg and k.arg.startswith("status") for k in call.keywords):  # type: ignore[union-attr]
                self.offences.append(Offence(self.path, call.lineno, f"spells {name}'s status filter itself: use a named query"))


# Image's columns that only garden's named queries and lookups spell in a filter.
GUARDED_COLUMNS = ("status", "safety_verdict", "safety_released", "kept")


def image_relations() -> set[str]:
    """Names of the fields, on other models, that lead to garden's Image (``image``, ``source``…)."""
    image = apps.get_model("garden", "Image")
    return {
        field.name
        for model in apps.get_models()
        if model is not image
        for field in model._meta.get_fields()
        if field.is_relation and field.related_model is image
    }


def relation_filters(tree: ast.Module, path: str, relations: set[str]) -> list[Offence]:
    """Keyword filters that reach an image's status or verdict through a relation (``image__status``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                parts = (keyword.arg or "").split("__")
                for index, part in enumerate(parts[:-1]):
                    if part in relations and parts[index + 1] in GUARDED_COLUMNS:
                        found.append(Offence(path, node.lineno, f"filters images through a relation ({keyword.arg}): use a named query"))
                        break
    return found


def offences() -> list[Offence]:
    apps_models = project_apps()
    relations = image_relations()
    found: list[Offence] = []
    for app in apps_models:
        for path in modules_of(app):
            relative = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            if app != "garden":
                found.extend(o for o in relation_filters(tree, relative, relations) if (relative, o.what) not in ALLOWED)
            models_ = foreign_models(tree, app, apps_models)
            if not models_:
                continue
            queries = {local: named for local, (owner, model) in models_.items() if (named := named_queries(owner, model)) is not None}
            scanner = Scanner(relative, tree, models_, queries)
            scanner.visit(tree)
            found.extend(o for o in scanner.offences if (relative, o.what) not in ALLOWED)
    return found


def test_apps_write_only_their_own_tables_and_read_images_through_named_queries():
    found = offences()
    assert not found, "Writes to another app's models, or reads past garden's named queries:\n" + "\n".join(map(str, found))


def test_the_scanner_sees_writes_and_raw_reads():
    """The scanner itself: each kind of offence in a made-up module is reported, the named forms are not."""
    source = """
from garden.models import Image, Visitor

def direct():
    Image.objects.filter(status="pool").update(kept=True)
    Visitor.objects.get_or_create(id="v")

def bound(image: Image, other):
    image.save(update_fields=["kept"])
    other.save()
    locked = Image.objects.serving().select_for_update().get(pk=1)
    locked.delete()
    for picture in Image.objects.pool():
        picture.save()

def reads():
    Image.objects.serving().filter(emotion="happy").count()
    Image.objects.all_pictures().filter(status="serving")

def through():
    Stat.objects.filter(image__status="serving", image__emotion="happy")
    Stat.objects.filter(serving_through("image"), image__in=Image.objects.serving())
"""
    tree = ast.parse(source)
    models_ = foreign_models(tree, "curation", project_apps())
    scanner = Scanner("made_up.py", tree, models_, {"Image": named_queries("garden", "Image") or set()})
    scanner.visit(tree)
    found = scanner.offences + relation_filters(tree, "made_up.py", image_relations())
    lines = sorted(o.line for o in found)
    assert lines == [5, 5, 6, 9, 12, 14, 18, 21], [str(o) for o in found]


def test_the_scanner_resolves_re_exported_models():
    """A model imported through a module that re-exports it, by name or through the module, is the model."""
    source = """
from generation.worker.gathering import GenerationJob as Job
from generation.worker import gathering

def through_a_re_export():
    Job.objects.filter(pk=1).update(status="failed")
    gathering.GenerationJob.objects.filter(pk=1).update(status="failed")
    gathering.gather(None, worker="w")
"""
    tree = ast.parse(source)
    models_ = foreign_models(tree, "live", project_apps())
    assert models_["Job"] == ("generation", "GenerationJob") and models_["gathering.GenerationJob"] == ("generation", "GenerationJob")
    scanner = Scanner("made_up.py", tree, models_, {})
    scanner.visit(tree)
    assert sorted(o.line for o in scanner.offences) == [6, 7], [str(o) for o in scanner.offences]
