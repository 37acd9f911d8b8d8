"""The admin's budgeted requests: for every model admin its changelist, add, change, history and
delete-confirmation pages (GET, as a superuser) and the bare object URL's redirect; then the admin
site's own pages and each model admin's extra views. ``{pk[app.model]}`` is the dataset's row."""

from __future__ import annotations

from django.contrib import admin

from tests.query_budget.case import ANONYMOUS, STAFF, Case

# Pages the admin refuses on purpose (rows written by the app, never typed in) or redirects.
STATUS = {
    "accessattempt add": 403,
    "accessfailurelog add": 403,
    "accesslog add": 403,
    "clientchoice add": 403,
    "dashboard add": 403,
    "displayzone delete": 403,
    "gardeneraction add": 403,
    "gardeneraction delete": 403,
    "gardenerpolicy add": 403,
    "gardenerpolicy changelist": 302,  # one row: straight to its change page
    "gardenerpolicy delete": 403,
    "generationjob delete": 403,
    "image add": 403,
    "image delete": 403,
    "libraryentry add": 403,
    "libraryentry delete": 403,
    "release add": 403,
    "release delete": 403,
    "screencommand add": 403,
    "visitor add": 403,
}


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def model_admin_cases() -> list[Case]:
    cases = []
    for model in sorted(admin.site._registry, key=_label):
        label = _label(model)
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        obj = f"{base}{{pk[{label}]}}/"
        pages = [("changelist", base), ("add", f"{base}add/")]
        if model._meta.managed:  # a table-less model has no object pages to show (routes.EXCLUDED)
            pages += [("change", f"{obj}change/"), ("history", f"{obj}history/"), ("delete", f"{obj}delete/"), ("object", obj)]
        for page, path in pages:
            name = f"{model._meta.model_name} {page}"  # the model's name alone: an app may move, its budget stays
            cases.append(Case(f"GET admin {name}", path, who=STAFF, status=STATUS.get(name, 302 if page == "object" else 200)))
    return cases


SITE = [
    Case("GET admin index", "/admin/", who=STAFF),
    Case("GET admin app index", "/admin/garden/", who=STAFF),
    Case("GET admin login", "/admin/login/", who=ANONYMOUS),
    Case("POST admin logout", "/admin/logout/", "POST", STAFF),
    Case("GET admin password_change", "/admin/password_change/", who=STAFF),
    Case("GET admin password_change/done", "/admin/password_change/done/", who=STAFF),
    Case("GET admin autocomplete", "/admin/autocomplete/?app_label=garden&model_name=image&field_name=visitor", who=STAFF, status=403),
    Case("GET admin jsi18n", "/admin/jsi18n/", who=STAFF),
    Case("GET admin view_on_site", "/admin/r/{image_content_type}/{serving[0].pk}/", who=STAFF, status=404),
    Case("GET admin unknown path (catch-all)", "/admin/no-such-page/", who=STAFF, status=404),
    Case("GET admin user password", "/admin/auth/user/{staff.pk}/password/", who=STAFF),
]

JOBS = "/admin/generation/generationjob/"
EXTRA_VIEWS = [
    Case("GET admin image review (redirect)", "/admin/garden/image/review/", who=STAFF, status=302),
    Case("GET admin image promote-kept", "/admin/garden/image/promote-kept/", who=STAFF),
    Case("GET admin image purge-rejected", "/admin/garden/image/purge-rejected/", who=STAFF),
    Case("GET admin image thumbnail", "/admin/garden/image/{serving[0].pk}/thumbnail/", who=STAFF, status=302),
    Case("GET admin image release", "/admin/garden/image/{pool.pk}/release/", who=STAFF),
    Case("GET admin generationjob progress", "/admin/generation/generationjob/progress/", who=STAFF),
    Case(
        "GET admin generationjob plan",
        "/admin/generation/generationjob/plan/?emotion=calm&repeat_count=2&resolution=768x512&backend=procedural",
        who=STAFF,
    ),
    Case("POST admin generationjob cancel", f"{JOBS}{{queued_job.pk}}/cancel/", "POST", STAFF, status=302),
    Case("POST admin generationjob retry", f"{JOBS}{{failed_job.pk}}/retry/", "POST", STAFF, status=302),
    Case("POST admin libraryentry rescan", "/admin/library/libraryentry/rescan/", "POST", STAFF, status=302),
    Case("GET admin libraryentry install", "/admin/library/libraryentry/install/", who=STAFF),
    Case("GET admin libraryentry version", "/admin/library/libraryentry/version/", who=STAFF),
    Case("GET admin clientkey issued", "/admin/infra/clientkey/{pk[infra.clientkey]}/issued/", who=STAFF),
    Case("GET admin screen enrolment.svg", "/admin/screens/screen/{enrolling_screen.pk}/enrolment.svg", who=STAFF),
    Case(
        "POST admin screen command",
        "/admin/screens/screen/{screen.pk}/command/",
        "POST",
        STAFF,
        body=lambda d: b"kind=reload",
        content_type="application/x-www-form-urlencoded",
        status=302,
    ),
    Case("POST admin screen enrolment", "/admin/screens/screen/{screen.pk}/enrolment/", "POST", STAFF, status=302),
    Case("GET admin dashboard csv", "/admin/insights/dashboard/csv/coverage/", who=STAFF),
    Case("GET admin gardeneraction report", "/admin/gardener/gardeneraction/report/", who=STAFF),
]


def admin_cases() -> list[Case]:
    return [*model_admin_cases(), *SITE, *EXTRA_VIEWS]
