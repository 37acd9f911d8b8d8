"""Job kinds that an app above generation runs: the retouch app's ``retouch`` and ``retouch_batch``.

Generation stores every job (its row, kind and options), validates the parameters all jobs share
and runs the worker's claim, lease, cancellation and failure handling. For a kind registered here
it hands over what only the other app knows — the kind's options, its request bodies and the
painting itself — without importing that app: generation imports nothing above it (the layers
contract in pyproject.toml). Apps register their kinds in ``AppConfig.ready()``, which every web
and worker process runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from generation.models import GenerationJob


class KindOptions(Protocol):
    """A kind's own options in a ``JobRequest`` (e.g. ``retouch.options.RetouchOptions``)."""

    def validate(self, errors: dict[str, str], *, steps: int, batch: bool) -> dict:
        """The options as the job row stores them, defaults filled in; each bad one named in ``errors``."""
        ...


@dataclass(frozen=True, kw_only=True)
class JobKind:
    # In the worker, once the job is claimed: paints and stores its results (run(job=, mine=, timings=)).
    run: Callable[..., None]
    # JobRequest.validate: the options of a request that gives none.
    default_options: Callable[[], KindOptions]
    # POST /api/v1/jobs with this kind: the DRF request → the queued job (raises DRF or domain errors).
    submit: Callable[[Any], GenerationJob]
    # The parser of its bodies (multipart with pictures) and the serializer that documents them.
    parser: type
    form: type


_kinds: dict[str, JobKind] = {}


def register(names: Iterable[str], kind: JobKind) -> None:
    for name in names:
        _kinds[name] = kind


def get(name: object) -> JobKind | None:
    """The registered kind called ``name`` (any value a client sent: not only text), else None."""
    return _kinds.get(name) if isinstance(name, str) else None


def _unique(values: Iterable[type]) -> list[type]:
    return list(dict.fromkeys(values))


def parsers() -> list[type]:
    """The parsers of the registered kinds' bodies, each once, in the order they were registered."""
    return _unique(kind.parser for kind in _kinds.values())


def forms() -> list[type]:
    return _unique(kind.form for kind in _kinds.values())
