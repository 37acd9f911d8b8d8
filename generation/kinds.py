"""Job kinds that apps above generation register: everything generation does not know about them.

Generation stores every job (its row: kind, prompt, sizes, seed, counts), validates the parameters
all jobs share and runs the worker's claim, lease, cancellation and failure handling. A kind an
app above registers here brings the rest — its name and label, the validation of its requests,
its request bodies, its painting, what the job API answers about it, its pictures' file format
and provenance, its clean-up — and keeps its own state in its own model, one-to-one with the job.
Generation imports nothing above it (the layers contract in pyproject.toml): apps register their
kinds in ``AppConfig.ready()``, which every web and worker process runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from generation.models import GenerationJob


@dataclass(frozen=True, kw_only=True)
class JobKind:
    label: Any  # what the admin and the schema call it (a lazy translation)
    # JobRequest.validate hands requests of this kind here: (request, errors) → ValidJob, or a
    # JobParameterError naming every bad field (errors found so far are in ``errors``). Typed
    # loosely: generation.requests imports this module.
    validate: Callable[[Any, dict[str, str]], Any]
    # In the worker, once the job is claimed: paints and stores its results (run(job=, attempt=, timings=)),
    # writing the job's row only through ``attempt`` (generation.worker.attempt.Attempt: its progress;
    # its end is the runner's). Typed loosely: the worker imports this module.
    run: Callable[..., None]
    # POST /api/v1/jobs with this kind: the DRF request → the queued job (raises DRF or domain errors).
    submit: Callable[[Any], GenerationJob]
    # The parser of its bodies (multipart with pictures) and the serializer that documents them.
    parser: type
    form: type
    # Error answers its bodies add to POST /api/v1/jobs (status → description), for the schema.
    responses: dict[int, str]
    # The job API's answer about a job of this kind: answer(job) under the key ``answer_field``
    # (null for jobs of other kinds, so every answer has the same keys).
    answer_field: str
    answer: Callable[[GenerationJob], dict]
    # Its own model's one-to-one with the job (the related name): the job list joins it for the answers.
    relation: str
    # Its pictures' file format (garden.keys.JPEG or PNG) and IPTC digital source type
    # (provenance.xmp; "": from the generator, as for text-to-image).
    extension: str
    source_type: str = ""
    # Called from the periodic sweep (generation.tasks): its own clean-up, returning a count.
    sweep: Callable[[], int] | None = None


_kinds: dict[str, JobKind] = {}


def register(name: str, kind: JobKind) -> None:
    _kinds[name] = kind


def unregister(name: str) -> None:
    """Forget a kind (a test's planted one); nothing when none is registered under ``name``."""
    _kinds.pop(name, None)


def registered() -> dict[str, JobKind]:
    """Every registered kind by name (a copy)."""
    return dict(_kinds)


def get(name: object) -> JobKind | None:
    """The registered kind called ``name`` (any value a client sent: not only text), else None."""
    return _kinds.get(name) if isinstance(name, str) else None


def choices() -> list[tuple[str, Any]]:
    """(name, label) of every kind a job can have: generation's own, then the registered ones."""
    return [*GenerationJob.Kind.choices, *((name, kind.label) for name, kind in _kinds.items())]


def label(name: str) -> Any:
    """What the admin calls a kind (its name when no installed app knows it)."""
    return dict(choices()).get(name, name)


def _unique(values: Iterable) -> list:
    return list(dict.fromkeys(values))


def parsers() -> list[type]:
    """The parsers of the registered kinds' bodies, each once, in the order they were registered."""
    return _unique(kind.parser for kind in _kinds.values())


def forms() -> list[type]:
    return _unique(kind.form for kind in _kinds.values())


def responses() -> dict[int, str]:
    """The error answers the registered kinds' bodies add to POST /api/v1/jobs."""
    return {code: text for kind in _kinds.values() for code, text in kind.responses.items()}


def relations() -> list[str]:
    return _unique(kind.relation for kind in _kinds.values())


def answer_fields() -> list[str]:
    return _unique(kind.answer_field for kind in _kinds.values())


def answer(job: GenerationJob, field: str) -> dict | None:
    """What the job API answers under ``field`` for this job: its kind's answer, else null."""
    kind = get(job.kind)
    return kind.answer(job) if kind is not None and kind.answer_field == field else None


def sweep_all() -> int:
    """Every registered kind's clean-up (the periodic sweep); the total it reports."""
    return sum(sweep() for sweep in _unique(kind.sweep for kind in _kinds.values() if kind.sweep is not None))
