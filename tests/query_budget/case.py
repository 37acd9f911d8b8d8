"""One budgeted request (``Case``) and how it is sent with Django's test client."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.test import Client
from django.test.client import MULTIPART_CONTENT
from PIL import Image as PILImage

ANONYMOUS, STAFF, TOKEN = "anonymous", "staff", "token"
# HTTP Basic with the staff user's password (the first check, in full: the cold count; remembered: the
# warm one), the same with a wrong password, and the staff user's client key as a bearer token.
BASIC, WRONG_PASSWORD, KEY = "basic", "wrong password", "client key"
STAFF_PASSWORD = "pw-budget-1"  # the dataset's staff user's
MULTIPART = "multipart"


@dataclass(frozen=True)
class Case:
    """A representative request of one endpoint. ``path`` is formatted with the dataset
    (``"/image?content={serving_key}"``); ``body`` and ``headers`` are built from it when called.
    ``status`` is the answer the request must get: a count is only worth keeping for the request it names."""

    name: str
    path: str
    method: str = "GET"
    who: str = ANONYMOUS
    body: Callable | None = None  # dataset -> dict/list (JSON or multipart) or bytes (raw)
    content_type: str = "application/json"
    headers: Callable | None = None  # (dataset, raw body) -> extra WSGI environ entries
    status: int = 200

    @property
    def id(self) -> str:
        return self.name


def png_base64(size: int = 64) -> str:
    buffer = io.BytesIO()
    PILImage.new("RGB", (size, size), (90, 140, 60)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def client_for(case: Case, dataset) -> Client:
    client = Client()
    if case.who == STAFF:
        client.force_login(dataset.staff)
    elif case.who == TOKEN:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {dataset.token_key}"
    elif case.who in (BASIC, WRONG_PASSWORD):
        password = STAFF_PASSWORD if case.who == BASIC else "not-the-password"
        client.defaults["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{dataset.staff.username}:{password}".encode()).decode()
    elif case.who == KEY:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {dataset.client_key}"
    return client


def prepare(case: Case, dataset) -> tuple[str, dict]:
    """The path and the client call's keyword arguments (built before counting starts)."""
    path = case.path.format_map(dataset)
    kwargs: dict = {}
    raw = b""
    if case.body is not None:
        body = case.body(dataset)
        if case.content_type == MULTIPART:
            kwargs.update(data=body, content_type=MULTIPART_CONTENT)
        else:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            kwargs.update(data=raw, content_type=case.content_type)
    if case.headers is not None:
        kwargs.update(case.headers(dataset, raw))
    return path, kwargs


def send(client: Client, case: Case, path: str, kwargs: dict):
    if kwargs.get("content_type") == MULTIPART_CONTENT:
        return client.post(path, **kwargs)  # the client encodes the form and its files
    if "data" in kwargs:
        return client.generic(case.method, path, **kwargs)
    return getattr(client, case.method.lower())(path, **kwargs)
