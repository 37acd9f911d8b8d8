"""The optional AWS Personalize backend, against botocore's Stubber (no network)."""

import json
import uuid

import boto3
import pytest
from botocore.stub import ANY, Stubber

from recommend import rankers
from recommend.models import Interaction
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db
CAMPAIGN = "arn:aws:personalize:eu-west-1:123456789012:campaign/garden"
FILTER = "arn:aws:personalize:eu-west-1:123456789012:filter/emotion"


@pytest.fixture
def personalize(settings):
    settings.RECOMMEND_BACKEND = "personalize"
    settings.RECOMMEND_PERSONALIZE_CAMPAIGN_ARN = CAMPAIGN
    settings.RECOMMEND_PERSONALIZE_FILTER_ARN = FILTER
    settings.RECOMMEND_PERSONALIZE_TRACKING_ID = "tracking-1"
    settings.RECOMMEND_EXPLORATION = "none"  # posterior means: a deterministic order
    runtime = boto3.client("personalize-runtime", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    events = boto3.client("personalize-events", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    ranker = rankers.PersonalizeRanker(runtime=runtime, events=events)
    original = rankers.get_ranker
    rankers.get_ranker = lambda: ranker
    with Stubber(runtime) as runtime_stub, Stubber(events) as events_stub:
        yield runtime_stub, events_stub
    rankers.get_ranker = original


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_personalize_order_with_emotion_filter_and_events_mirrored(client, personalize, django_capture_on_commit_callbacks):
    runtime_stub, events_stub = personalize
    a, b, c = (ImageFactory(emotion="calm", favorite="cat") for _ in range(3))
    visitor = str(uuid.uuid4())
    runtime_stub.add_response(
        "get_recommendations",
        {"itemList": [{"itemId": b.key}, {"itemId": "emotions/sad/elsewhere.jpeg"}, {"itemId": a.key}], "recommendationId": "r-1"},
        {"campaignArn": CAMPAIGN, "userId": visitor, "numResults": 100, "filterArn": FILTER, "filterValues": {"EMOTION": '"calm/cat"'}},
    )
    response = post(client, "/garden", {"id": visitor, "emotion": "calm/cat"})
    keys = [item["url"].split("/media/", 1)[1] for item in response.json()["landscape"]]
    assert keys == [b.key, a.key, c.key]  # Personalize's order, then the rest locally

    events_stub.add_response(
        "put_events",
        {},
        {
            "trackingId": "tracking-1",
            "userId": visitor,
            "sessionId": visitor,
            "eventList": [{"eventType": "click", "sentAt": ANY, "itemId": a.key, "impression": [a.key, b.key], "recommendationId": ANY}],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        rec = response["X-Recommendation-Id"]
        assert (
            post(client, "/like", {"id": visitor, "itemId": a.key, "impression": [a.key, b.key], "recommendationId": rec}).status_code
            == 200
        )
    events_stub.assert_no_pending_responses()


def test_personalize_errors_fall_back_to_local_and_events_stay_local(client, personalize, django_capture_on_commit_callbacks):
    runtime_stub, events_stub = personalize
    images = [ImageFactory(emotion="calm") for _ in range(2)]
    runtime_stub.add_client_error("get_recommendations", service_error_code="ResourceNotFoundException", http_status_code=404)
    response = post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"})
    assert response.status_code == 200 and len(response.json()["landscape"]) == 2

    events_stub.add_client_error("put_events", service_error_code="ThrottlingException", http_status_code=400)
    with django_capture_on_commit_callbacks(execute=True):
        like = {"id": str(uuid.uuid4()), "itemId": images[0].key, "impression": [images[0].key]}
        assert post(client, "/like", like).status_code == 200
    assert Interaction.objects.filter(event_type="click").count() == 1
