"""Issue 20, item 5: what an operator asks first.

- /garden records whether an answer was the key's own images, a fallback to the emotion's other
  favorites, or empty (Recommendation.fallback, set where the garden is built);
- the refresh counts those per day and search key (GardenRollup);
- the coverage grid: serving images per emotion × the kiosk's favorites against
  INSIGHTS_TARGET_PER_KEY, with the empty and fallback gardens of the range, and its CSV;
- the headline numbers against the previous period of the same length (▲/▼ and %).
Real rows throughout: images from the factories, real /garden answers, events, a real refresh.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from config import caches
from insights import selectors, services
from insights.models import GardenRollup
from insights.selectors.common import Filters
from insights.selectors.coverage import CSV_COLUMNS, KIOSK_FAVORITES, headline, previous_period
from recommend.models import Fallback, Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db
PAGE = "/admin/insights/dashboard/"


def garden(client: Client, key: str, visitor: str = "kiosk-1") -> Recommendation:
    response = client.post("/garden", {"id": visitor, "emotion": key}, content_type="application/json")
    assert response.status_code == 200, response.content
    return Recommendation.objects.get(pk=response["X-Recommendation-Id"])


@pytest.fixture
def serving(settings):
    """happy: 3 without a favorite, 7 of spring,sunny,day, 2 of winter,snowy,day; sad: 2 of a favorite
    kiosks never send; nothing for angry."""
    settings.RECOMMEND_MIN_RESULTS = 6
    settings.INSIGHTS_TARGET_PER_KEY = 7
    caches.reset_all(rows_only=True)
    for _ in range(3):
        ImageFactory(emotion="happy", favorite="")
    for _ in range(7):
        ImageFactory(emotion="happy", favorite="spring,sunny,day")
    for _ in range(2):
        ImageFactory(emotion="happy", favorite="winter,snowy,day")
    for _ in range(2):
        ImageFactory(emotion="sad", favorite="autumn,rainy,night")
    yield
    caches.reset_all(rows_only=True)


def test_garden_records_own_fallback_and_empty_answers(serving):
    kiosk = Client()
    own = garden(kiosk, "happy/spring,sunny,day")  # 7 ≥ 6 of its own
    few = garden(kiosk, "happy/winter,snowy,day")  # 2 < 6: the emotion's other favorites added
    none_of_its_own = garden(kiosk, "happy/summer,rainy,sunset")  # 0 of its own: all from the others
    empty = garden(kiosk, "angry")  # nothing for angry at all
    any_favorite = garden(kiosk, "happy")  # "any": the 3 without a favorite; never falls back
    assert (own.fallback, few.fallback, none_of_its_own.fallback) == (Fallback.NONE, Fallback.OTHER_FAVORITES, Fallback.OTHER_FAVORITES)
    assert (empty.fallback, any_favorite.fallback) == (Fallback.EMPTY, Fallback.NONE)
    assert empty.image_ids == [] and len(few.image_ids) > 2


def test_refresh_counts_gardens_per_key_and_coverage_shows_them(serving, settings):
    kiosk = Client()
    for _ in range(3):
        garden(kiosk, "angry")
    garden(kiosk, "happy/winter,snowy,day")
    garden(kiosk, "happy/spring,sunny,day")
    garden(kiosk, "sad/autumn,rainy,night")
    services.refresh_rollups()
    rows = {row.search_key: (row.gardens, row.fallback, row.empty) for row in GardenRollup.objects.all()}
    assert rows == {
        "angry": (3, 0, 3),
        "happy/winter,snowy,day": (1, 1, 0),
        "happy/spring,sunny,day": (1, 0, 0),
        "sad/autumn,rainy,night": (1, 0, 0),
    }

    result = selectors.coverage(selectors.parse_filters({}))
    cells = {(cell.emotion, cell.favorite): cell for cell in result.cells}
    assert result.target == 7 and result.emotions[0] == "happy" and len(result.emotions) == 8
    # Rows: "any" first, every season × weather × time, then the favorite kiosks never send.
    assert [row.favorite for row in result.rows] == [*KIOSK_FAVORITES, "autumn,rainy,night"]
    assert len(KIOSK_FAVORITES) == 1 + 4 * 4 * 4 and "winter,snowy,the-middle-of-the-night" in KIOSK_FAVORITES
    assert [row.kiosk for row in result.rows[-2:]] == [True, False]
    assert (cells[("happy", "")].serving, cells[("happy", "")].state) == (3, "under")
    assert (cells[("happy", "spring,sunny,day")].serving, cells[("happy", "spring,sunny,day")].state) == (7, "ok")
    assert (cells[("happy", "winter,snowy,day")].serving, cells[("happy", "winter,snowy,day")].fallback) == (2, 1)
    angry = cells[("angry", "")]
    assert (angry.serving, angry.state, angry.gardens, angry.empty, angry.fallback) == (0, "none", 3, 3, 0)
    assert cells[("sad", "autumn,rainy,night")].serving == 2
    assert cells[("sad", "")].serving == 0
    # Every kiosk cell but happy/spring,sunny,day is under the target of 7.
    assert result.kiosk_cells == 8 * 65 and result.under_target == 8 * 65 - 1

    settings.INSIGHTS_TARGET_PER_KEY = 3
    assert selectors.coverage(selectors.parse_filters({})).under_target == 8 * 65 - 2  # happy/any reaches 3
    only_sad = selectors.coverage(selectors.parse_filters({"emotion": "sad"}))
    assert only_sad.emotions == ["sad"] and {cell.emotion for cell in only_sad.cells} == {"sad"}


def test_coverage_on_the_page_and_its_csv(serving, admin_client):
    garden(Client(), "angry")
    services.refresh_rollups()
    html = admin_client.get(PAGE).content.decode()
    assert 'id="coverage-grid"' in html
    assert 'data-favorite="any"' in html and 'data-favorite="autumn,rainy,night"' in html
    assert 'class="coverage-cell is-none" data-emotion="angry" data-serving="0" data-gardens="1" data-empty="1"' in html
    assert 'class="coverage-cell is-ok" data-emotion="happy" data-serving="7"' in html
    response = admin_client.get("/admin/insights/dashboard/csv/coverage/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == CSV_COLUMNS
    assert CSV_COLUMNS[:4] == ["emotion", "favorite", "kiosk value", "serving images"]
    assert CSV_COLUMNS[4:] == ["target", "gardens served", "fallback gardens", "empty gardens"]
    assert len(rows) == 1 + 8 * 66
    assert ["angry", "any", "yes", "0", "7", "1", "0", "1"] in rows
    assert ["sad", "autumn,rainy,night", "no", "2", "7", "0", "0", "0"] in rows


# --- Headline numbers -------------------------------------------------------------------------------

D1, D2, D3, D4 = (datetime(2026, 5, day, 12, tzinfo=UTC) for day in (1, 2, 3, 4))


def test_previous_period_has_the_same_length():
    before = previous_period(Filters(start=date(2026, 5, 3), end=date(2026, 5, 4), emotion="calm"))
    assert (before.start, before.end, before.emotion) == (date(2026, 5, 1), date(2026, 5, 2), "calm")


def test_headline_against_the_previous_period():
    image = ImageFactory(emotion="calm")
    shown = [image.key]

    def visit(moment, *, likes=0, screens=0, fallback=None):
        visitor = VisitorFactory(emotion="calm", first_seen=moment, last_seen=moment)
        if fallback is not None:
            Recommendation.objects.create(
                visitor=visitor, search_key="calm", image_ids=[], ranker="counting", created_at=moment, fallback=fallback
            )
        for _ in range(likes):
            Interaction.objects.create(
                visitor=visitor, event_type="click", image=image, item_key=image.key, impression=shown, created_at=moment
            )
        for _ in range(screens):
            Interaction.objects.create(visitor=visitor, event_type="impression", impression=shown, created_at=moment)

    # Previous period (May 1-2): 2 visitors, 1 like in 4 images shown (25%), 2 gardens, 1 fallback.
    visit(D1, likes=1, screens=1, fallback=Fallback.NONE)
    visit(D2, screens=2, fallback=Fallback.OTHER_FAVORITES)
    # This period (May 3-4): 3 visitors, 3 likes in 6 shown (50%), 4 gardens: 1 empty, 2 fallback.
    visit(D3, likes=2, fallback=Fallback.EMPTY)
    visit(D3, likes=1, screens=1, fallback=Fallback.OTHER_FAVORITES)
    visit(D4, screens=2, fallback=Fallback.OTHER_FAVORITES)
    Recommendation.objects.create(search_key="calm/spring,sunny,day", image_ids=[1], ranker="counting", created_at=D4)
    services.refresh_rollups(now=datetime(2026, 5, 4, 23, tzinfo=UTC))

    result = headline(Filters(start=date(2026, 5, 3), end=date(2026, 5, 4)))
    assert (result["previous"].start, result["previous"].end) == (date(2026, 5, 1), date(2026, 5, 2))
    items = {item.id: item for item in result["items"]}
    numbers = {key: (item.value_text, item.previous_text, item.change_text, item.verdict) for key, item in items.items()}
    assert numbers == {
        "visitors": ("3", "2", "▲ 50.0%", "better"),
        "likes": ("3", "1", "▲ 200.0%", "better"),
        "like-rate": ("50.0%", "25.0%", "▲ 25.0 pts", "better"),
        "gardens": ("4", "2", "▲ 100.0%", "better"),
        "empty": ("1", "0", "▲ new", "worse"),  # more empty gardens is worse
        "fallback": ("2", "1", "▲ 100.0%", "worse"),
    }
    # The period before had nothing: no percentage, and a fall is shown as such.
    earlier = {item.id: item for item in headline(Filters(start=date(2026, 5, 1), end=date(2026, 5, 2)))["items"]}
    assert (earlier["visitors"].value_text, earlier["visitors"].change_text) == ("2", "▲ new")
    assert earlier["like-rate"].change_text == "no comparison"
    later = {item.id: item for item in headline(Filters(start=date(2026, 5, 5), end=date(2026, 5, 6)))["items"]}
    assert (later["gardens"].value_text, later["gardens"].change_text, later["gardens"].verdict) == ("0", "▼ 100.0%", "worse")
    assert (later["empty"].change_text, later["empty"].verdict) == ("▼ 100.0%", "better")
    # The emotion filter narrows both periods.
    happy = {item.id: item for item in headline(Filters(start=date(2026, 5, 3), end=date(2026, 5, 4), emotion="happy"))["items"]}
    assert happy["gardens"].value_text == "0" and happy["visitors"].value_text == "0"


def test_headline_on_the_page(admin_client):
    html = admin_client.get(PAGE, {"start": "2026-05-03", "end": "2026-05-04"}).content.decode()
    assert 'id="headline-visitors"' in html and "2026-05-01 – 2026-05-02" in html
    assert html.count('class="headline-card"') == 6
