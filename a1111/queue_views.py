"""A1111's per-task progress and queue routes: ``POST /internal/progress {id_task}``, ``GET
/internal/pending-tasks`` (A1111's modules/progress.py) and Gradio's ``GET /queue/status`` (the
Cyanic Krita plugin's connection probe). Each answers for the caller only (a1111.identity).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from a1111 import catalog, schemas
from a1111 import identity as callers
from a1111.views import A1111View
from config.api import json_object
from generation.requests import JobParameterError


class TaskProgressView(A1111View):
    @extend_schema(request={"application/json": schemas.TASK_PROGRESS}, responses={200: OpenApiTypes.OBJECT},
                   summary="A1111's progress of one of the caller's tasks (its force_task_id)")  # fmt: skip
    def post(self, request):
        task_id = json_object(request).get("id_task")
        if not isinstance(task_id, str) or not task_id:
            raise JobParameterError(fields={"id_task": "id_task must be the task's id (txt2img's force_task_id)."})
        caller = callers.of(request)
        return Response(catalog.task_progress(callers.task(caller, task_id), callers.pending_tasks(caller), task_id))


class PendingTasksView(A1111View):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The caller's queued task ids: {size, tasks}")
    def get(self, request):
        tasks = callers.pending_tasks(callers.of(request))
        return Response({"size": len(tasks), "tasks": tasks})


class QueueStatusView(A1111View):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Gradio's queue status (a connection probe): the caller's queue")
    def get(self, request):
        return Response(catalog.queue_status(len(callers.pending_tasks(callers.of(request)))))
