"""A prompt followed from queued to done, as ComfyUI's websocket events in ComfyUI's order.

``execution_start``, ``execution_cached``, ``executing`` for each node up to the sampler, a
``progress`` per painted step, then ``executing`` for the nodes after it, ``executed`` for each
output node, ``execution_success`` (or ``execution_error`` / ``execution_interrupted``) and last
``executing`` with node null (Open WebUI, SwarmUI and Krita wait for that one). ComfyUI sends no
binary frames unless previews are on: none are sent here (the jobs make no step previews).

One thread per followed prompt: it reads the job's row, then waits for the job's announcement
(generation.changes: every end is announced, so the end is seen at once, as an A1111 wait sees it)
or PROGRESS_SECONDS while painting (steps are not announced), QUEUED_SECONDS while queued.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connection

from comfy import selectors
from comfy.models import ComfyPrompt
from comfy.pixels import SCALERS
from generation import changes
from generation.models import GenerationJob

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 0.2
QUEUED_SECONDS = 0.5
Emit = Callable[[ComfyPrompt, str, dict], None]  # (prompt, event type, data): to the prompt's sockets


def _now_ms() -> int:
    return int(time.time() * 1000)


def follow(prompt_pk: int, emit: Emit, done: Callable[[ComfyPrompt], None], stop: threading.Event) -> None:
    """Send the prompt's events until its job ends (or the door stops: ``stop``); ``done(prompt)``
    before the last ``executing``."""
    close_old_connections()
    try:
        prompt = ComfyPrompt.objects.select_related("job").get(pk=prompt_pk)
        _follow(prompt, emit, done, stop)
    except (ComfyPrompt.DoesNotExist, GenerationJob.DoesNotExist):
        pass  # deleted meanwhile (the admin, a purge): nothing left to tell
    except Exception:  # a lost database: the client sees no end; its history read still tells it
        if not stop.is_set():
            log.exception("Following ComfyUI prompt %s failed", prompt_pk)
    finally:
        connection.close()


def _node(prompt: ComfyPrompt, node_id: str | None) -> dict:
    return {"node": node_id, "display_node": node_id, "prompt_id": prompt.prompt_id}


def _follow(prompt: ComfyPrompt, emit: Emit, done: Callable[[ComfyPrompt], None], stop: threading.Event) -> None:
    order = _order(prompt.graph, prompt.outputs)
    sampler = next((node for node in reversed(order) if prompt.graph[node]["class_type"].startswith("KSampler")), None)
    if sampler is None:  # an upscale job: its progress is its last scaling node's
        sampler = next((node for node in reversed(order) if prompt.graph[node]["class_type"] in SCALERS), order[-1])
    before, after = order[: order.index(sampler) + 1], order[order.index(sampler) + 1 :]
    started, step = False, -1
    job = prompt.job
    with changes.watching(job.pk) as watch:
        while True:
            job = GenerationJob.objects.only("status", "steps_done", "steps_total", "error", "started_at", "finished_at").get(pk=job.pk)
            ran = job.status != GenerationJob.Status.CANCELLED or job.started_at is not None  # a cancel before any run: no events
            if job.status != GenerationJob.Status.QUEUED and not started and ran:
                started = True
                emit(prompt, "execution_start", {"prompt_id": prompt.prompt_id, "timestamp": _now_ms()})
                emit(prompt, "execution_cached", {"nodes": [], "prompt_id": prompt.prompt_id, "timestamp": _now_ms()})
                for node in before:
                    emit(prompt, "executing", _node(prompt, node))
            if started and job.steps_done != step and job.steps_total:
                step = job.steps_done
                emit(prompt, "progress", {"value": step, "max": job.steps_total, "prompt_id": prompt.prompt_id, "node": sampler})
            if job.is_finished or stop.is_set():
                break
            running = job.status == GenerationJob.Status.RUNNING
            watch.wait(PROGRESS_SECONDS if running else QUEUED_SECONDS)
    if stop.is_set() and not job.is_finished:
        return  # the door stops: a restarted door follows the prompt again (Door.resume)
    if not started:  # deleted from the queue before it ran: ComfyUI says nothing of it
        done(prompt)
        return
    if job.status == GenerationJob.Status.SUCCEEDED:
        for node in after:
            emit(prompt, "executing", _node(prompt, node))
        entry = selectors.history(prompt.identity, prompt_id=prompt.prompt_id).get(prompt.prompt_id, {})
        for node, output in (entry.get("outputs") or {}).items():
            emit(prompt, "executed", {**_node(prompt, node), "output": output})
        emit(prompt, "execution_success", {"prompt_id": prompt.prompt_id, "timestamp": _now_ms()})
    elif job.status == GenerationJob.Status.CANCELLED:
        event = {"prompt_id": prompt.prompt_id, "node_id": sampler, "node_type": prompt.graph[sampler]["class_type"], "executed": []}
        emit(prompt, "execution_interrupted", {**event, "timestamp": _now_ms()})
    else:
        emit(prompt, "execution_error", {**selectors.error_event(prompt, job, sampler), "timestamp": _now_ms()})
    done(prompt)
    emit(prompt, "executing", {"node": None, "prompt_id": prompt.prompt_id})


def _order(graph: dict, outputs: list[str]) -> list[str]:
    """The nodes the outputs depend on, each after its inputs (an order ComfyUI could run them in)."""
    order: list[str] = []

    def visit(node_id: str, path: tuple[str, ...]) -> None:
        if node_id in order or node_id in path or node_id not in graph:
            return
        for value in graph[node_id].get("inputs", {}).values():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) in graph:
                visit(str(value[0]), (*path, node_id))
        order.append(node_id)

    for output in outputs:
        visit(output, ())
    return order
