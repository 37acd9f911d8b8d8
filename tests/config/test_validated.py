"""config.api.validated: one bound serializer per class checks every request, from any thread,
and each request gets its own data or its own 400 (nothing of another request's body)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config.api import validated
from garden.serializers import GardenRequestSerializer


def checked(body):
    factory = APIRequestFactory()
    view = APIView()
    request = view.initialize_request(factory.post("/garden", body, format="json"))
    try:
        return validated(GardenRequestSerializer, request)
    except ValidationError as error:
        return error.detail


def test_threads_sharing_the_bound_serializer_get_their_own_answers():
    bodies = [{"id": f"visitor-{n}", "emotion": "Calm/Spring"} if n % 3 else {"id": f"visitor-{n}"} for n in range(300)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(checked, bodies))
    for n, answer in enumerate(answers):
        if n % 3:
            assert answer == {"id": f"visitor-{n}", "emotion": "calm/spring"}
        else:
            assert set(answer) == {"emotion"}  # missing: a 400 naming it, and only it


@pytest.mark.parametrize("body", [{"emotion": ""}, {"emotion": "calm", "id": "x" * 65}])
def test_errors_are_what_is_valid_would_raise(body):
    serializer = GardenRequestSerializer(data=body)
    assert not serializer.is_valid()
    assert checked(body) == serializer.errors
