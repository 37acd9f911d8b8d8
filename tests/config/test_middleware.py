"""config.middleware.LazyMessageMiddleware: Django's messages, made only when a request uses them."""

from django.contrib import messages
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils.functional import empty

from config.middleware import LazyMessageMiddleware

COOKIE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"


def through_middleware(view, request):
    return LazyMessageMiddleware(view)(request)


@override_settings(MESSAGE_STORAGE=COOKIE_STORAGE)
def test_a_request_that_never_uses_messages_makes_no_storage_and_no_cookie():
    request = RequestFactory().post("/like")
    response = through_middleware(lambda request: HttpResponse("ok"), request)
    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


@override_settings(MESSAGE_STORAGE=COOKIE_STORAGE)
def test_a_message_added_is_stored_and_read_back_on_the_next_request():
    def add(request):
        messages.success(request, "Job 1a2b cancelled.")
        return HttpResponse("redirect")

    first = through_middleware(add, RequestFactory().post("/admin/x"))
    assert "messages" in first.cookies and first.cookies["messages"].value

    seen = []

    def show(request):
        seen.extend(str(message) for message in messages.get_messages(request))
        return HttpResponse("page")

    follow = RequestFactory().get("/admin/x")
    follow.COOKIES["messages"] = first.cookies["messages"].value
    second = through_middleware(show, follow)
    assert seen == ["Job 1a2b cancelled."]
    assert second.cookies["messages"].value == ""  # read messages are cleared, as Django does
