"""Middleware of our own that is not about probes, metrics or outages (those have their modules)."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    """Django's MessageMiddleware, with each request's message storage made on its first use.

    Django makes the storage (a cookie signer, session storage) for every request and writes it back
    on every response, though only the admin and the curators' pages use messages, a cost the kiosk
    API would pay on every call (``bench/serving.py --profile`` shows it). Here a request that never
    touches ``request._messages`` pays for neither; one that does (``messages.success``, a template
    listing them) gets Django's own storage, stored back as Django would.
    """

    def process_request(self, request) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # never used: nothing to store
        return super().process_response(request, response)
