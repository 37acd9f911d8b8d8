"""The gardener's report: keys against the target, actions per day, bred like-rates with intervals."""

import pytest
from django.contrib.auth.models import Permission
from scipy.stats import beta

from gardener import report, services
from gardener.models import EmotionPolicy, GardenerAction
from insights import services as insights_services
from tests.gardener.conftest import serving_with_stats

pytestmark = pytest.mark.django_db


def test_bred_pictures_are_compared_with_their_parents_and_fresh_ones(
    policy, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    from gardener import selectors
    from recommend.models import ImageStat

    monkeypatch.setattr(selectors, "kiosk_keys", lambda: [("calm", "")])
    policy.enabled, policy.daily_image_budget, policy.bred_share, policy.images_per_job = False, 8, 0.5, 1
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=7, minimum_per_key=1)
    parents = serving_with_stats([40, 30, 2], impressions=100)
    with django_capture_on_commit_callbacks(execute=True):
        services.tend(seed=3)
    bred_jobs = [a.job for a in GardenerAction.objects.filter(kind=GardenerAction.Kind.BRED)]
    fresh_jobs = [a.job for a in GardenerAction.objects.filter(kind=GardenerAction.Kind.PLANNED)]
    assert bred_jobs and fresh_jobs
    bred = [image for job in bred_jobs for image in job.images.all()]
    fresh = [image for job in fresh_jobs for image in job.images.all()]
    for image in bred:
        ImageStat.objects.create(image=image, segment="*", impressions=50, likes=10)
    for image in fresh:
        ImageStat.objects.create(image=image, segment="*", impressions=50, likes=5, dislikes=1)

    rates = {r.group: r for r in report.like_rates()}
    used = {p for image in bred for p in image.parameters["lineage"]["parents"]}
    assert rates["bred"].images == len(bred) and rates["bred"].likes == 10 * len(bred) and rates["bred"].impressions == 50 * len(bred)
    assert rates["their parents"].images == len(used) and used <= {p.pk for p in parents}
    assert rates["fresh (gardener, not bred)"].likes == 4 * len(fresh)  # net of dislikes
    low, high = rates["bred"].interval
    assert (low, high) == pytest.approx(
        (beta.ppf(0.025, 1 + 10 * len(bred), 1 + 40 * len(bred)), beta.ppf(0.975, 1 + 10 * len(bred), 1 + 40 * len(bred)))
    )
    assert low < rates["bred"].rate < high


def test_the_report_page_for_analysts_and_its_section_on_the_insights_page(policy, client, django_user_model):
    policy.enabled = False  # calm alone is tended
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=3, minimum_per_key=2)
    serving_with_stats([1])
    GardenerAction.objects.create(kind=GardenerAction.Kind.RETIRED, search_key="calm", reason="retired by the gardener")
    analyst = django_user_model.objects.create_user("ana", is_staff=True)
    client.force_login(analyst)
    assert client.get("/admin/gardener/gardeneraction/report/").status_code == 403
    insights_services.make_analyst(user=analyst)
    page = client.get("/admin/gardener/gardeneraction/report/").content.decode()
    assert '<tr data-emotion="calm"><th scope="row">Calm</th><td>yes</td><td>65</td><td>0</td><td>65</td><td>65</td><td>1</td></tr>' in page
    thinnest = page.split('id="thinnest"')[1].split("</table>")[0]
    assert thinnest.count("<tr>") == 1 + 20 and '<th scope="row">calm/autumn,cloudy,day</th><td>0</td><td>3</td><td>2</td>' in thinnest
    assert "<td>1</td>" in page.split('id="actions"')[1].split("</tr>")[1]  # today's row: one retirement
    # The insights page holds the same tables as a section of its own (config.dashboard), from the same data.
    dashboard = client.get("/admin/insights/dashboard/").content.decode()
    section = dashboard.split('id="section-gardener"')[1].split("</section>")[0]
    assert '<h2 class="insights-section">The gardener</h2>' in section
    calm_row = '<tr data-emotion="calm"><th scope="row">Calm</th><td>yes</td><td>65</td><td>0</td><td>65</td><td>65</td><td>1</td></tr>'
    assert calm_row in section
    assert "<td>1</td>" in section.split('id="gardener-actions"')[1].split("</tr>")[1]
    assert 'id="gardener-rates"' in section and 'href="/admin/gardener/gardeneraction/report/"' in section
    assert dashboard.count('id="coverage"') == 1  # the insights page's own coverage grid; the gardener's is prefixed


def test_the_dashboard_section_is_only_for_readers_of_the_report(policy, rf, django_user_model):
    from config import dashboard

    request = rf.get("/admin/insights/dashboard/")
    request.user = django_user_model.objects.create_user("staff-only", is_staff=True)
    assert "gardener" not in [section.name for section, _ in dashboard.rendered(request)]
    request.user.user_permissions.add(Permission.objects.get(codename="view_gardeneraction"))
    request.user = django_user_model.objects.get(pk=request.user.pk)  # permissions are cached per user object
    assert "gardener" in [section.name for section, _ in dashboard.rendered(request)]


def test_curators_with_the_log_can_read_the_report(policy, client, django_user_model):
    curator = django_user_model.objects.create_user("cur", is_staff=True)
    curator.user_permissions.add(Permission.objects.get(codename="view_gardeneraction"))
    client.force_login(curator)
    assert client.get("/admin/gardener/gardeneraction/report/").status_code == 200
