"""docs/settings.md, written from the settings' declarations (config.appsettings): ``bin/settings-doc``.

The page is one table per conf module (the core first, then the apps in INSTALLED_APPS order), each
setting with its variable, type, default and meaning; the prose around the tables is HEADER.
tests/config/test_settings_doc.py fails while the committed page differs from what this writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from config import conf
from config.appsettings import BASE_DIR, TYPE_NAMES, Setting, app_conf_modules


@dataclass(frozen=True)
class Group:
    """One conf module as the docs show it."""

    module: str
    title: str
    doc: str  # the feature page that explains these settings ("recommendation.md#settings")
    settings: list[Setting] = field(default_factory=list)
    sections: dict[str, list[Setting]] = field(default_factory=dict)  # the core's, by title


def groups(installed_apps: Iterable[str]) -> list[Group]:
    modules = [conf, *app_conf_modules(installed_apps)]
    return [
        Group(module.__name__, module.TITLE, getattr(module, "DOC", ""), list(module.SETTINGS), getattr(module, "SECTIONS", {}))
        for module in modules
    ]


PAGE = BASE_DIR / "docs" / "settings.md"

HEADER = """\
# Settings

<!-- Written by bin/settings-doc from the declarations in config/conf.py and each app's conf.py: edit those, then run it. -->

Every setting is an environment variable; a `.env` file beside `manage.py` is read too (real
environment variables win). The defaults need no server: SQLite and media under `var/`, an embedded
Celery broker on the filesystem, a local-memory cache. Production points the same variables at
PostgreSQL, Redis and S3 ([operations.md](operations.md#running-against-postgresql-redis-and-s3)).

Each setting is declared once, with its type, default and meaning: the core ones in
`config/conf.py`, each app's own in its `conf.py` (`config/appsettings.py` is the declaration
helper). `config/settings.py` reads them all onto `django.conf.settings`, and `bin/settings-doc`
writes this page from the same declarations. The feature page named in each section explains its
settings in context.

## Names

Every variable starts with `GARDEN_`, except Django's own (`DJANGO_*`) and the connection settings
other software names (`DATABASE_*`, `CACHE_URL`, `CELERY_*`, `PROMETHEUS_MULTIPROC_DIR`). The
recommendation, display zone, screen and insights variables are `GARDEN_RECOMMEND_*`,
`GARDEN_DISPLAY_*`, `GARDEN_SCREENS_*` and `GARDEN_INSIGHTS_*`, while code and tests use the
settings' own names (`settings.RECOMMEND_BACKEND`, `override_settings(RECOMMEND_BACKEND=…)`). Their
older variable names (`RECOMMEND_BACKEND`) are still read until the next release, with a warning
at start-up naming the new one; where both are set, the new one wins.

Backend choices (`GARDEN_FACE_BACKEND`, `GARDEN_GENERATOR_BACKEND`, `GARDEN_DIFFUSION_SCHEDULER`,
`GARDEN_RECOMMEND_BACKEND`, `GARDEN_RECOMMEND_EXPLORATION`) are validated when the process starts:
a typo stops it with a message naming the setting and the allowed values.
"""

# What the tables of the core's sections (config.conf.SECTIONS) do not say.
SECTION_PROSE = {
    "Storage": """\
Images are local files under `GARDEN_MEDIA_ROOT` unless `GARDEN_S3_BUCKET` is set; then they go
to S3 (django-storages + boto3) with identical keys. The storage is checked at start-up and by
`manage.py check --deploy` ([operations.md](operations.md#storage-bucket-and-policy)).
""",
    "Health and metrics": """\
`/healthz`, `/readyz` and `/metrics` are answered before the host check and the TLS redirect, so
probes and scrapers can address a container by IP over plain HTTP ([deploy.md](deploy.md#health-and-metrics)).
""",
    "Security headers and logins": """\
Every answer carries a **Content-Security-Policy** (django-csp): scripts only from the site itself
(no inline code anywhere: pages pass data in `data-*` attributes and `json_script`), styles from
the site and inline (the Django admin needs them), images also from the bucket or CDN that serves
them (derived from `GARDEN_PUBLIC_BASE_URL`, `GARDEN_S3_CUSTOM_DOMAIN`, `GARDEN_S3_ENDPOINT_URL`,
or `*.amazonaws.com` for a plain S3 bucket), no plugins, no framing by other sites. A
**Permissions-Policy** allows the camera for the site itself (the kiosk films visitors) and
nothing else (microphone, geolocation, payment, USB, screen capture). The Swagger UI runs as its
split view and ReDoc without its web fonts, so the API docs work under the policy too; a browser
test visits every page and fails on any reported violation.

Admin logins (and HTTP Basic logins to the APIs) are throttled by **django-axes**: after
`GARDEN_LOGIN_FAILURE_LIMIT` failed attempts for one username from one address, that pair is
locked out (429, the site's own page in the admin's language, saying in how many minutes to try
again, with `Retry-After`) for `GARDEN_LOGIN_COOLOFF_MINUTES`; a success resets the count, and a
login tried while locked is not checked nor recorded as a failure. Another account, or the same
account from elsewhere, is not affected. API calls' wrong passwords are counted apart (under
`api:<name>`): an SD client never locks a person out of the admin. A login whose `?next=` points off the site
lands on the admin index. `manage.py axes_reset` lifts all lockouts. An API call's password is
checked in full once and then remembered for `GARDEN_LOGIN_REMEMBER_SECONDS`; failed ones are
counted per address too (`GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT`), and a call over either limit is a
429 with `Retry-After` before any password is hashed ([a1111.md](a1111.md#authentication)).
""",
}


def shown_default(setting: Setting) -> str:
    if setting.shown_default:
        return setting.shown_default
    if callable(setting.default):
        raise ValueError(f"{setting.name}: a computed default needs shown_default, the way the docs say it")
    value = setting.default
    if value in ("", None, []):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{','.join(map(str, value))}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def meaning(setting: Setting) -> str:
    notes = []
    if setting.on_settings and setting.name != setting.var and setting.name == setting.old_var:
        notes.append(f"setting `{setting.name}`, also the former variable (still read until the next release)")
    else:
        if setting.on_settings and not setting.read_by and setting.name != setting.var:
            notes.append(f"setting `{setting.name}`")
        if setting.old_var:
            notes.append(f"formerly `{setting.old_var}` (still read until the next release)")
    if setting.read_by:
        notes.append(f"read by {setting.read_by}")
    return setting.help + (" — " + "; ".join(notes) if notes else "")


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows(settings: Iterable[Setting]) -> list[str]:
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for setting in settings:
        lines.append(f"| `{setting.var}` | {TYPE_NAMES[setting.type]} | {cell(shown_default(setting))} | {cell(meaning(setting))} |")
    return lines


def table(group: Group) -> str:
    source = group.module.replace(".", "/") + ".py"
    lines = [f"## {group.title}", "", f"Declared in `{source}`" + (f"; more in {group.doc}." if group.doc else "."), ""]
    if not group.sections:
        return "\n".join([*lines, *rows(group.settings)]) + "\n"
    for title, settings in group.sections.items():
        prose = SECTION_PROSE.get(title, "").strip()
        lines += [f"### {title}", "", *([prose, ""] if prose else []), *rows(settings), ""]
    return "\n".join(lines)


def render(installed_apps: Iterable[str]) -> str:
    return "\n".join([HEADER, *(table(group) for group in groups(installed_apps))])


def write(installed_apps: Iterable[str], page: Path = PAGE) -> bool:
    """Write the page; True when it changed."""
    text = render(installed_apps)
    if page.exists() and page.read_text() == text:
        return False
    page.write_text(text)
    return True
