"""The door: ComfyUI's HTTP routes and websocket on aiohttp (ComfyUI's own server library), every
route also under ``/api`` as ComfyUI registers them. Django runs in this process; the ORM is called
through asgiref's sync_to_async (one database thread), followers (comfy.events) in threads of their own.

Every answer is JSON (or a picture for ``/view``): a bad request is a 400 as ComfyUI words it, no
credentials a 401, a part down a 503 with Retry-After; never a stack trace. ``/history`` is answered
from a per-caller cache, rebuilt when one of the caller's prompts ends or is forgotten (and at
most HISTORY_FRESH_SECONDS old otherwise), so SillyTavern's 100 ms poll costs the web tier little.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web
from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework.exceptions import APIException

from a1111 import catalog
from comfy import auth, events, selectors, services
from comfy.graph import GraphError
from comfy.models import ComfyPrompt
from config.errors import DomainError
from generation.dispatch import presence
from generation.models import GenerationJob

log = logging.getLogger(__name__)

HISTORY_FRESH_SECONDS = 5.0  # a change made elsewhere (another door, the admin) shows within this
CALLER_FRESH_SECONDS = 5.0
MAX_CALLERS = 1000
RETRY_AFTER = "5"
PURGE_SECONDS = 600.0  # uploads past their age go within this even when their caller never uploads again
DELIVER: web.AppKey[asyncio.Task] = web.AppKey("deliver", asyncio.Task)
PURGE: web.AppKey[asyncio.Task] = web.AppKey("purge", asyncio.Task)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def db(function):
    return sync_to_async(function, thread_sensitive=True)


def _json(data, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=json.dumps)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors as JSON, each in one place; anything unexpected a 503 that names no internals."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except auth.Refused as exc:
        headers = {"WWW-Authenticate": exc.challenge} if exc.challenge else None
        return _json({"error": {"type": "unauthorized", "message": exc.detail}}, exc.status, headers)
    except GraphError as exc:
        return _json(exc.answer(), 400)
    except services.BadRequest as exc:
        return _json({"error": {"type": "invalid_prompt", "message": str(exc), "details": "", "extra_info": {}}, "node_errors": {}}, 400)
    except DomainError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return _json({"error": {"type": "invalid_prompt", "message": exc.message, "details": "", "extra_info": {}}, "node_errors": {}},
                     exc.status_code, headers)  # fmt: skip
    except APIException as exc:
        headers = {"Retry-After": RETRY_AFTER} if exc.status_code == 503 else None
        return _json({"error": {"type": "unavailable", "message": str(exc.detail)}}, exc.status_code, headers)
    except Exception:
        log.exception("ComfyUI door: %s %s failed", request.method, request.path)
        message = "The venue could not answer now (its database or storage is unreachable): try again."
        return _json({"error": {"type": "unavailable", "message": message}}, 503, {"Retry-After": RETRY_AFTER})


class Door:
    """The door's state: sockets by caller and client id, followed prompts, cached histories."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sockets: dict[str, dict[str, set[web.WebSocketResponse]]] = defaultdict(lambda: defaultdict(set))  # identity → sid → sockets
        self.histories: dict[str, tuple[float, bytes]] = {}
        self.callers: dict[tuple[str, str, str], tuple[float, auth.Caller]] = {}
        self.followed: set[int] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set when the door stops: followers end
        self.threads: list[threading.Thread] = []
        self.outbox: asyncio.Queue = asyncio.Queue()

    # --- callers --------------------------------------------------------------------------------

    async def caller(self, request: web.Request) -> auth.Caller:
        """The request's caller; one accepted is remembered CALLER_FRESH_SECONDS (a poll every 100 ms
        checks its credentials twice a minute, and a revoked key stops within that time)."""
        key = (request.remote or "", request.headers.get("Authorization", ""), request.headers.get("X-Forwarded-For", ""))
        now = time.monotonic()
        known = self.callers.get(key)
        if known is not None and now - known[0] < CALLER_FRESH_SECONDS:
            return known[1]
        found = await db(auth.caller)(remote=key[0], authorization=key[1], forwarded=key[2])
        if len(self.callers) > MAX_CALLERS:  # bounded: forget them all rather than grow with every header seen
            self.callers.clear()
        self.callers[key] = (now, found)
        return found

    # --- events ---------------------------------------------------------------------------------

    def emit(self, prompt: ComfyPrompt, kind: str, data: dict) -> None:
        """From a follower's thread: the event to the prompt's socket (its client_id), or to every
        socket of its caller when it named none (ComfyUI broadcasts those)."""
        message = json.dumps({"type": kind, "data": data})
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._send, prompt.identity, prompt.client_id, message)

    def _send(self, identity: str, sid: str, message: str) -> None:
        by_sid = self.sockets.get(identity) or {}
        targets = by_sid.get(sid, set()) if sid else {ws for sockets in by_sid.values() for ws in sockets}
        self.outbox.put_nowait((list(targets), message))

    async def deliver(self) -> None:
        """Sends the followers' events one after another: each socket gets them in ComfyUI's order."""
        while True:
            targets, message = await self.outbox.get()
            for ws in targets:
                if not ws.closed:
                    with contextlib.suppress(ConnectionError):  # the client left: its history still tells it
                        await ws.send_str(message)

    async def purge(self) -> None:
        """Every PURGE_SECONDS: the uploads past GARDEN_COMFY_UPLOAD_HOURS deleted (an upload also purges its caller's)."""
        while True:
            try:
                await db(services.purge_uploads)()
            except Exception:  # storage away: tried again next time, the door keeps answering
                log.warning("ComfyUI door: could not purge old uploads", exc_info=True)
            await asyncio.sleep(PURGE_SECONDS)

    def finished(self, prompt: ComfyPrompt) -> None:
        self.histories.pop(prompt.identity, None)
        with self.lock:
            self.followed.discard(prompt.pk)

    def follow(self, prompt: ComfyPrompt) -> None:
        with self.lock:
            if prompt.pk in self.followed:
                return
            self.followed.add(prompt.pk)
        arguments = (prompt.pk, self.emit, self.finished, self.stopping)
        thread = threading.Thread(target=events.follow, args=arguments, name=f"comfy-{prompt.pk}", daemon=True)
        self.threads = [*(alive for alive in self.threads if alive.is_alive()), thread]
        thread.start()

    def resume(self) -> None:
        """At start: follow the prompts still queued or painting (a restart loses no end)."""
        for prompt in ComfyPrompt.objects.filter(job__in=GenerationJob.objects.in_flight()):
            self.follow(prompt)

    # --- routes ---------------------------------------------------------------------------------

    async def system_stats(self, request: web.Request) -> web.Response:
        await self.caller(request)
        workers = await db(presence.present_workers)(gpu=True)
        return _json(selectors.system_stats([{"device": f"cuda:{index}"} for index, _ in enumerate(workers)]))

    async def object_info(self, request: web.Request) -> web.Response:
        await self.caller(request)
        name = request.match_info.get("node_class")
        return _json(await db(selectors.object_info)(name))

    async def embeddings(self, request: web.Request) -> web.Response:
        await self.caller(request)
        return _json(sorted((await db(catalog.embeddings)())["loaded"]))

    async def extensions(self, request: web.Request) -> web.Response:
        return _json([])

    async def features(self, request: web.Request) -> web.Response:
        return _json({"supports_preview_metadata": False, "max_upload_size": settings.GARDEN_COMFY_MAX_UPLOAD_BYTES})

    async def free(self, request: web.Request) -> web.Response:
        await self.caller(request)
        return web.Response(status=200)

    async def prompt_info(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        return _json({"exec_info": {"queue_remaining": await db(selectors.queue_remaining)(caller.identity)}})

    async def post_prompt(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        try:  # ComfyUI reads the body as JSON whatever its Content-Type (SillyTavern sends text)
            body = json.loads(await request.text())
        except ValueError:
            raise services.BadRequest("The body is not JSON.") from None
        if not isinstance(body, dict) or "prompt" not in body:
            error = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided", "extra_info": {}}
            return _json({"error": error, "node_errors": {}}, 400)
        answer = await db(services.submit)(caller, body)
        prompt = await db(ComfyPrompt.objects.get)(identity=caller.identity, prompt_id=answer["prompt_id"])
        self.follow(prompt)
        await self._status(caller.identity)
        return _json(answer)

    async def _status(self, identity: str) -> None:
        remaining = await db(selectors.queue_remaining)(identity)
        message = json.dumps({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}}})
        for sockets in (self.sockets.get(identity) or {}).values():
            for ws in list(sockets):
                if not ws.closed:
                    await ws.send_str(message)

    async def get_history(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        prompt_id = request.match_info.get("prompt_id")
        max_items = request.query.get("max_items")
        if prompt_id is not None or max_items:
            limit = int(max_items) if (max_items or "").isdigit() else None
            return _json(await db(selectors.history)(caller.identity, prompt_id=prompt_id, max_items=limit))
        cached = self.histories.get(caller.identity)
        if cached is None or time.monotonic() - cached[0] > HISTORY_FRESH_SECONDS:
            body = json.dumps(await db(selectors.history)(caller.identity)).encode()
            cached = (time.monotonic(), body)
            self.histories[caller.identity] = cached
        return web.Response(body=cached[1], content_type="application/json")

    async def _body(self, request: web.Request) -> dict:
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            raise services.BadRequest("The body is not JSON.") from None
        if not isinstance(body, dict):
            raise services.BadRequest("Expected a JSON object.")
        return body

    async def post_history(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        body = await self._body(request)
        if body.get("clear"):
            await db(services.forget)(caller, everything=True)
        if isinstance(body.get("delete"), list):
            await db(services.forget)(caller, prompt_ids=body["delete"])
        self.histories.pop(caller.identity, None)
        return web.Response(status=200)

    async def get_queue(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        return _json(await db(selectors.queue)(caller.identity))

    async def post_queue(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        body = await self._body(request)
        if body.get("clear"):
            await db(services.cancel)(caller, running=False)
        if isinstance(body.get("delete"), list):
            await db(services.cancel)(caller, prompt_ids=body["delete"], running=False)
        await self._status(caller.identity)
        return web.Response(status=200)

    async def interrupt(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        body = await self._body(request)
        prompt_id = body.get("prompt_id")
        await db(services.cancel)(caller, prompt_ids=[prompt_id] if prompt_id else None, running=True)
        return web.Response(status=200)

    async def view(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        found = await db(selectors.picture)(caller.identity, request.query.get("filename", ""))
        if found is None:
            return _json({"error": {"type": "not_found", "message": "No such picture of yours."}}, 404)
        content, content_type = found
        return web.Response(body=content, content_type=content_type)

    async def upload_image(self, request: web.Request) -> web.Response:
        caller = await self.caller(request)
        if not request.content_type.startswith("multipart/"):
            raise services.BadRequest("Send the picture as multipart form data (field 'image').")
        form = await request.post()
        image = form.get("image")
        if not isinstance(image, web.FileField):
            raise services.BadRequest("The form has no 'image' file.")
        content = image.file.read(settings.GARDEN_COMFY_MAX_UPLOAD_BYTES + 1)
        overwrite = str(form.get("overwrite", "")).lower() in ("true", "1")
        return _json(await db(services.upload_image)(caller, content=content, name=image.filename or "", overwrite=overwrite))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        caller = await self.caller(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        self.sockets[caller.identity][sid].add(ws)
        try:
            remaining = await db(selectors.queue_remaining)(caller.identity)
            await ws.send_json({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}, "sid": sid}})
            async for message in ws:  # feature flags and pings: nothing to answer
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            by_sid = self.sockets[caller.identity]
            by_sid[sid].discard(ws)
            if not by_sid[sid]:  # nothing kept for clients that left
                del by_sid[sid]
            if not by_sid:
                del self.sockets[caller.identity]
        return ws

    def routes(self) -> list[web.RouteDef]:
        table = [
            ("GET", "/ws", self.websocket),
            ("GET", "/system_stats", self.system_stats),
            ("GET", "/object_info", self.object_info),
            ("GET", "/object_info/{node_class}", self.object_info),
            ("GET", "/embeddings", self.embeddings),
            ("GET", "/extensions", self.extensions),
            ("GET", "/features", self.features),
            ("POST", "/free", self.free),
            ("GET", "/prompt", self.prompt_info),
            ("POST", "/prompt", self.post_prompt),
            ("GET", "/history", self.get_history),
            ("GET", "/history/{prompt_id}", self.get_history),
            ("POST", "/history", self.post_history),
            ("GET", "/queue", self.get_queue),
            ("POST", "/queue", self.post_queue),
            ("POST", "/interrupt", self.interrupt),
            ("GET", "/view", self.view),
            ("POST", "/upload/image", self.upload_image),
        ]
        return [web.route(method, prefix + path, handler) for prefix in ("", "/api") for method, path, handler in table]


DOOR = web.AppKey("door", Door)


def application() -> web.Application:
    """The door's aiohttp application (its followers resume once it starts)."""
    door = Door()
    app = web.Application(middlewares=[errors], client_max_size=settings.GARDEN_COMFY_MAX_UPLOAD_BYTES + (1 << 20))
    app.add_routes(door.routes())

    async def started(app: web.Application) -> None:
        door.loop = asyncio.get_running_loop()
        app[DELIVER] = asyncio.create_task(door.deliver())
        app[PURGE] = asyncio.create_task(door.purge())
        await db(door.resume)()

    async def stopped(app: web.Application) -> None:
        door.stopping.set()
        app[DELIVER].cancel()
        app[PURGE].cancel()
        for thread in door.threads:  # each ends within one wait (PROGRESS_SECONDS, QUEUED_SECONDS)
            await asyncio.to_thread(thread.join, 5)

    app.on_startup.append(started)
    app.on_cleanup.append(stopped)
    app[DOOR] = door
    return app


def serve(bind: str) -> None:
    """Run the door on ``host:port`` until stopped."""
    host, _, port = bind.rpartition(":")
    web.run_app(application(), host=host or "127.0.0.1", port=int(port), print=None, access_log=log)
