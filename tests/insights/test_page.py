"""The insights page and its CSVs through the admin: rights, filters, numbers, and that it reads rollups."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from insights import selectors, services
from recommend.models import Interaction, Recommendation
from tests.insights.conftest import DAY2, PASSWORD, at

pytestmark = pytest.mark.django_db
PAGE = "/admin/insights/dashboard/"
PRUNE_CHARTS = ("best-images", "worst-images")
RANGE = {"start": "2026-03-01", "end": "2026-03-04"}


class Tables(HTMLParser):
    """Each chart section's table as text rows: {chart id: [[cell, …], …]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.chart = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-chart" in attrs:
            self.chart = attrs["data-chart"]
            self.tables[self.chart] = []
        elif tag == "tr" and self.chart:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.chart:
            self.tables[self.chart].append(self.row)
            self.row = None
        elif tag == "section":
            self.chart = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


@pytest.fixture
def refreshed(events, settings):
    settings.RECOMMEND_FRESH_IMPRESSIONS = 4
    services.refresh_rollups(now=at(DAY2, 20))
    return events


def test_who_may_see_it(client, analyst_client, admin_client, refreshed):
    assert client.get(PAGE).status_code == 302  # the admin's login page
    staff = get_user_model().objects.create_user(username="staff", password=PASSWORD, is_staff=True)
    plain = Client()
    plain.force_login(staff)
    assert plain.get(PAGE).status_code == 403
    assert plain.get(PAGE + "csv/visitors/").status_code == 403
    assert analyst_client.get(PAGE, RANGE).status_code == 200
    assert admin_client.get(PAGE, RANGE).status_code == 200
    # The admin index lists the dashboard for analysts, and they cannot change anything else.
    index = analyst_client.get("/admin/").content.decode()
    assert "Insights" in index and PAGE in index
    assert analyst_client.get("/admin/garden/visitor/").status_code == 403
    assert analyst_client.get(PAGE + "add/").status_code == 403


def test_analysts_group_has_exactly_its_rights(analyst):
    group = Group.objects.get(name="Analysts")
    names = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert names == {"insights.view_dashboard", "garden.view_image"}
    assert analyst.is_staff and not analyst.is_superuser
    out = io.StringIO()
    bob = get_user_model().objects.create_user(username="bob", password=PASSWORD)
    call_command("setup_analysts", user=["bob"], stdout=out)
    bob.refresh_from_db()
    assert bob.is_staff and bob.has_perm("insights.view_dashboard")
    assert "bob is now an analyst" in out.getvalue()


def test_every_chart_has_its_numbers_and_csv(analyst_client, refreshed):
    response = analyst_client.get(PAGE, RANGE)
    html = response.content.decode()
    tables = tables_of(html)
    assert set(tables) == set(selectors.CHARTS)
    # This small garden proves no picture liked or unliked: the prune list's two charts have their
    # header only (test_prune_demote.py::test_the_prune_list_needs_evidence); every other chart has rows.
    for chart_id, rows in tables.items():
        assert len(rows) >= (1 if chart_id in PRUNE_CHARTS else 2), f"{chart_id} has no rows"
        download = analyst_client.get(f"{PAGE}csv/{chart_id}/", RANGE)
        assert download["Content-Type"] == "text/csv; charset=utf-8"
        assert download["Content-Disposition"] == f'attachment; filename="insights-{chart_id}-2026-03-01-2026-03-04.csv"'
        assert list(csv.reader(io.StringIO(download.content.decode()))) == rows, chart_id
    assert "insights/vendor/chart.umd.min.js" in html and 'id="insights-charts"' in html
    assert "<script>" not in html and " style=" not in html  # strict CSP: no inline code or styles
    # A few numbers worth reading.
    assert tables["visitors"][:4] == [
        ["day", "happy", "calm", "sad", "unknown", "total"],
        ["2026-03-01", "0", "0", "0", "0", "0"],
        ["2026-03-02", "1", "1", "0", "1", "3"],
        ["2026-03-03", "1", "0", "1", "1", "3"],
    ]
    assert tables["likers"][2:4] == [["2026-03-02", "3", "2", "66.7%"], ["2026-03-03", "3", "1", "33.3%"]]
    key_rows = {row[0]: row for row in tables["key-feedback"][1:]}
    assert key_rows["happy/spring,sunny,day"][:5] == ["happy/spring,sunny,day", "13", "3", "1", "23.1%"]
    rankers = {row[0]: row for row in tables["rankers"][1:]}
    assert rankers["counting-v3"][1:6] == ["2", "1", "9", "2", "22.2%"]
    assert rankers["counting-v3"][8:] == ["100.0%", "22.2%", ""]  # day 1: every image was fresh
    # Day 2: A (shown 4 times before) is established; B and C are fresh, and B got the like.
    assert rankers["popularity"][1:] == ["1", "1", "3", "1", "33.3%", "6.1%", "79.2%", "66.7%", "50.0%", "0.0%"]
    times = {row[0]: row for row in tables["generation-times"][1:]}
    assert times["procedural"][2:] == ["2", "1", "1", "0", "50.0%", "2", "30.00", "0.65"]


def test_prune_list_links_to_the_images(analyst_client, refreshed):
    # Evidence for the happy images: A liked on 10 more screens of its own, C passed over on 12.
    for _ in range(10):
        Interaction.objects.create(
            visitor_id="kiosk-9", event_type="click", image=refreshed.a, item_key=refreshed.a.key, impression=[refreshed.a.key]
        )
    for _ in range(12):
        Interaction.objects.create(visitor_id="kiosk-9", event_type="impression", impression=[refreshed.c.key])
    services.refresh_rollups()
    html = analyst_client.get(PAGE, RANGE).content.decode()
    best, worst = tables_of(html)["best-images"], tables_of(html)["worst-images"]
    assert best[0] == ["image", "emotion", "impressions", "likes", "like-rate", "95% low", "95% high"]
    assert [row[0] for row in best[1:]] == [refreshed.a.key] and [row[0] for row in worst[1:]] == [refreshed.c.key]
    assert f"/admin/garden/image/{refreshed.a.pk}/change/" in html
    assert f"/admin/garden/image/{refreshed.a.pk}/thumbnail/" in html or "/media/thumbs/" in html
    # The emotion filter narrows the list, and its bar: calm's one picture, 0 of 2, proves nothing.
    calm = tables_of(analyst_client.get(PAGE, {**RANGE, "emotion": "calm"}).content.decode())
    assert calm["best-images"][1:] == [] and calm["worst-images"][1:] == []


def test_the_page_reads_rollups_not_raw_events(analyst_client, refreshed):
    before = tables_of(analyst_client.get(PAGE, RANGE).content.decode())
    Interaction.objects.all().delete()  # retention, or anything else happening to the raw rows
    Recommendation.objects.all().delete()
    assert tables_of(analyst_client.get(PAGE, RANGE).content.decode()) == before
    with CaptureQueriesContext(connection) as queries:
        analyst_client.get(PAGE, RANGE)
    tables = {query["sql"].split(" FROM ")[1].split()[0].strip('"') for query in queries if " FROM " in query["sql"]}
    assert not {"recommend_interaction", "recommend_recommendation", "generation_generationjob"} & tables
    assert len(queries) < 31  # 30 with the prune list's bar (the like-rate of all serving images shown)


@pytest.mark.parametrize(
    "query",
    [
        {"start": "yesterday", "end": "2026-13-45"},
        {"start": "2026-03-04", "end": "2026-03-01"},  # swapped
        {"start": "1900-01-01", "end": "2026-03-04", "by": "hour"},  # clamped to a year, hours refused
        {"emotion": "<script>alert(1)</script>", "by": "minute"},
        {"start": ["a", "b"]},
        {"start": "0001-01-01", "end": "9999-12-31"},  # no date overflow
    ],
)
def test_hostile_filters_fall_back_quietly(analyst_client, refreshed, query):
    response = analyst_client.get(PAGE, query)
    assert response.status_code == 200
    assert b"<script>alert" not in response.content
    assert analyst_client.get(PAGE + "csv/visitors/", query).status_code == 200


def test_filters_are_parsed_and_bounded():
    from datetime import date

    filters = selectors.parse_filters({"start": "2026-03-04", "end": "2026-03-01", "by": "hour", "emotion": "sad"})
    assert (filters.start, filters.end, filters.by, filters.emotion) == (date(2026, 3, 1), date(2026, 3, 4), "hour", "sad")
    wide = selectors.parse_filters({"start": "2020-01-01", "end": "2026-03-04", "by": "hour"})
    assert (wide.end - wide.start).days == selectors.MAX_DAYS - 1 and wide.by == "day"
    default = selectors.parse_filters({}, today=date(2026, 3, 31))
    assert (default.start, default.end, default.emotion) == (date(2026, 3, 2), date(2026, 3, 31), "")


def test_hourly_visitors(analyst_client, refreshed):
    tables = tables_of(analyst_client.get(PAGE, {"start": "2026-03-02", "end": "2026-03-03", "by": "hour"}).content.decode())
    rows = {row[0]: row for row in tables["visitors"][1:]}
    assert tables["visitors"][0][0] == "hour" and len(rows) == 48
    assert rows["2026-03-02 10:00"][-1] == "1" and rows["2026-03-02 13:00"][-1] == "0"


def test_unknown_chart_csv_is_404(analyst_client):
    assert analyst_client.get(PAGE + "csv/nope/").status_code == 404


def test_refresh_command(events):
    out = io.StringIO()
    call_command("refresh_insights", "--since", "2026-03-02", stdout=out)
    assert "day(s) from 2026-03-02" in out.getvalue()
    out = io.StringIO()
    call_command("refresh_insights", totals=True, stdout=out)
    assert "totals recomputed for 4 images" in out.getvalue()
