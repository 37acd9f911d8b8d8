"""Display zones: copy chosen serving images to the fixed keys edge screens poll.

``update_zone`` is the one way a zone changes (``POST /updateDisplay``, the admin's Displays
page, live zones). A zone's copy is all-or-nothing: every source is read and every previous slot
file is backed up in memory before the first write; a storage failure part-way restores each slot
already touched (or removes it if it was empty) and leaves the zone row as it was. Every change
is written to the admin log with its user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from config import groups
from config.errors import Conflict, DomainError, NotFound
from displays import selectors
from displays.models import DisplayZone
from garden import keys
from garden import services as garden_services
from garden.models import Image

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 512


class ZoneError(DomainError):
    """A zone name or image list that cannot be shown (a 400 naming the offending value)."""


class DisplayImageNotFound(NotFound):
    """A listed key names no serving image (a 404 naming it)."""


@dataclass(frozen=True)
class Selection:
    """What a zone should show: source keys per orientation, slot order; None leaves that side as it is."""

    landscape: list[str] | None = None
    portrait: list[str] | None = None

    def sides(self) -> dict[str, list[str]]:
        return {side: list(value) for side, value in (("landscape", self.landscape), ("portrait", self.portrait)) if value is not None}


def validate_zone_name(name: object) -> str:
    if not isinstance(name, str) or not keys.DISPLAY_ZONE_RE.match(name):
        raise ZoneError(
            fields={"zone": "A zone is a short lower-case name: letters, digits, '-' or '_', at most 32 characters (e.g. zone1)."}
        )
    return name


def validate_language(value: object) -> str:
    """A zone's language: a code of settings.LANGUAGES, or "" for the installation's (GARDEN_LANGUAGE)."""
    codes = [code for code, _name in settings.LANGUAGES]
    if value == "" or value in codes:
        return str(value)
    raise ZoneError(fields={"language": f"Unknown language {value!r}: expected one of {', '.join(codes)}, or empty for GARDEN_LANGUAGE."})


def _key_problem(value: object, orientation: str) -> str | None:
    """Why this list item cannot be shown, or None. Checked before any database or storage access."""
    if not isinstance(value, str) or not value:
        return f"{value!r} is not a key"
    if len(value) > MAX_KEY_LENGTH:
        return f"a key of {len(value)} characters (at most {MAX_KEY_LENGTH})"
    if value.startswith("/") or "\\" in value or "\x00" in value or ".." in value.split("/") or "%" in value:
        return f"{value!r} is not a plain storage key"
    try:
        parsed = keys.parse_key(value)
    except keys.InvalidKey:
        return f"{value!r} is not an image key of the garden layout"
    if not parsed.is_serving:
        return f"{value!r} is a pool image: only serving images (emotions/…) can be displayed"
    if parsed.orientation != orientation:
        names = {keys.LANDSCAPE: "landscape", keys.PORTRAIT: "portrait"}
        return f"{value!r} is {names[parsed.orientation]}, not {names[orientation]}"
    return None


def resolve_selection(selection: Selection) -> dict[str, list[Image]]:
    """The serving images of each listed side, in order; ZoneError (400) or DisplayImageNotFound (404)
    naming every offending key."""
    sides = selection.sides()
    if not sides:
        raise ZoneError(fields={"landscape": "Give a 'landscape' or a 'portrait' list (or both)."})
    problems: dict[str, list[str]] = {}
    for side, values in sides.items():
        if len(values) > selectors.SLOTS:
            problems.setdefault(side, []).append(f"{len(values)} images: a zone shows at most {selectors.SLOTS} per orientation")
            continue
        for position, value in enumerate(values, start=1):
            if problem := _key_problem(value, selectors.SIDES[side]):
                problems.setdefault(side, []).append(f"item {position}: {problem}")
    if problems:
        raise ZoneError(fields={side: "; ".join(texts) for side, texts in problems.items()})
    found = selectors.serving_by_key([key for values in sides.values() for key in values])
    missing = {side: [key for key in values if key not in found] for side, values in sides.items()}
    if any(missing.values()):
        named = {side: ", ".join(repr(key) for key in dict.fromkeys(absent)) for side, absent in missing.items() if absent}
        raise DisplayImageNotFound(fields={side: f"no serving image {names}" for side, names in named.items()})
    return {side: [found[key] for key in values] for side, values in sides.items()}


def _read_sources(images: dict[str, list[Image]]) -> dict[str, list[bytes]]:
    contents: dict[str, list[bytes]] = {}
    cache: dict[str, bytes] = {}
    for side, side_images in images.items():
        contents[side] = []
        for image in side_images:
            if image.key not in cache:
                try:
                    cache[image.key] = garden_services.read_file(image.key)
                except FileNotFoundError:
                    raise DisplayImageNotFound(fields={side: f"the file of {image.key!r} is missing from storage"}) from None
                except Exception as exc:
                    raise garden_services.StorageError(f"could not read {image.key}: {exc}") from exc
            contents[side].append(cache[image.key])
    return contents


def _slot_plan(zone: str, contents: dict[str, list[bytes]]) -> dict[str, bytes | None]:
    """Every slot key of the listed sides → its new bytes, or None for a slot to empty."""
    plan: dict[str, bytes | None] = {}
    for side, files in contents.items():
        for slot, key in enumerate(selectors.slot_keys(zone=zone, side=side), start=1):
            plan[key] = files[slot - 1] if slot <= len(files) else None
    return plan


def _read_current(key: str) -> bytes | None:
    try:
        if not default_storage.exists(key):
            return None
        return garden_services.read_file(key)
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise garden_services.StorageError(f"could not back up {key}: {exc}") from exc


def _put(key: str, content: bytes | None) -> None:
    if content is not None:
        garden_services.write_file(key=key, content=content)
        return
    try:
        default_storage.delete(key)
    except Exception as exc:
        raise garden_services.StorageError(f"could not empty {key}: {exc}") from exc


class SlotSwap:
    """Replace slot files all-or-nothing: every previous file is backed up in memory first, and
    ``restore()`` puts back each slot already touched (or empties it if it was empty)."""

    def __init__(self, plan: dict[str, bytes | None]) -> None:
        self.plan = plan
        self.backup = {key: _read_current(key) for key in plan}
        self.touched: list[str] = []

    def apply(self) -> int:
        """Write the plan (unchanged slots are skipped); on a failure restore and re-raise."""
        try:
            for key, content in self.plan.items():
                if content == self.backup[key]:
                    continue
                self.touched.append(key)
                _put(key, content)
        except Exception:
            self.restore()
            raise
        return len(self.touched)

    def restore(self) -> None:
        failed = []
        for key in reversed(self.touched):
            try:
                _put(key, self.backup[key])
            except Exception:
                log.exception("could not restore display slot %s", key)
                failed.append(key)
        self.touched = []
        if failed:
            log.error("display slots left changed after a failed update: %s", ", ".join(failed))


def _lock_zone(name: str) -> tuple[DisplayZone, bool]:
    """The zone row, locked for this transaction; created if new (within DISPLAY_MAX_ZONES)."""
    zone = DisplayZone.objects.select_for_update().filter(name=name).first()
    if zone is not None:
        return zone, False
    existing = list(DisplayZone.objects.order_by("name").values_list("name", flat=True))
    if len(existing) >= settings.DISPLAY_MAX_ZONES:
        raise ZoneError(
            fields={"zone": f"At most {settings.DISPLAY_MAX_ZONES} display zones (DISPLAY_MAX_ZONES); existing: {', '.join(existing)}."}
        )
    try:
        with transaction.atomic():
            return DisplayZone.objects.create(name=name), True
    except IntegrityError:
        raise Conflict(f"Display zone {name!r} was created by someone else at the same moment: try again.") from None


def _describe(selection: Selection, *, source: str, live_emotion: str, language: str | None) -> str:
    parts = []
    for side, values in selection.sides().items():
        parts.append(f"{side} [{', '.join(values)}]" if values else f"{side} emptied")
    if language is not None:
        parts.append(f"language {language or 'GARDEN_LANGUAGE'}")
    how = f"live zone ({live_emotion})" if live_emotion else "chosen images"
    return f"{source}: {how}; " + "; ".join(parts)


def _save_zone(row: DisplayZone, *, images: dict[str, list[Image]], user, live_emotion: str, language: str | None) -> None:
    for side, side_images in images.items():
        setattr(row, side, [image.key for image in side_images])
    row.live_emotion = live_emotion
    if language is not None:
        row.language = language
    row.version += 1
    row.updated_at = timezone.now()
    if user is not None:
        row.updated_by = user
    row.save()


def update_zone(
    *, zone: str, selection: Selection, user, source: str = "/updateDisplay", live_emotion: str = "", language: str | None = None
) -> DisplayZone:
    """Copy the selection's images to the zone's fixed keys, all-or-nothing, and log it.

    A listed side replaces that orientation entirely (slot i ← item i; the slots after the last
    item are emptied); an omitted side is left as it is. A change by hand ends live mode.
    ``language`` (the signage page's; "" for GARDEN_LANGUAGE) is set with it; None leaves it.
    """
    name = validate_zone_name(zone)
    if language is not None:
        language = validate_language(language)
    images = resolve_selection(selection)
    contents = _read_sources(images)
    swap: SlotSwap | None = None
    try:
        with transaction.atomic():
            row, created = _lock_zone(name)
            swap = SlotSwap(_slot_plan(name, contents))
            changed = swap.apply()
            _save_zone(row, images=images, user=user, live_emotion=live_emotion, language=language)
            if row.updated_by_id is not None:
                LogEntry.objects.log_actions(
                    user_id=row.updated_by_id,
                    queryset=DisplayZone.objects.filter(pk=row.pk),
                    action_flag=ADDITION if created else CHANGE,
                    change_message=_describe(selection, source=source, live_emotion=live_emotion, language=language),
                )
    except Exception:
        if swap is not None:  # the row was not saved (or not committed): the files go back too
            swap.restore()
        raise
    log.info("display zone %s: version %s, %s file(s) changed (%s)", name, row.version, changed, source)
    return row


def live_selection(emotion: str) -> Selection:
    """The most-liked serving images of an emotion, both orientations (what a live zone shows)."""
    return Selection(**{side: selectors.most_liked_keys(emotion=emotion, side=side) for side in selectors.SIDES})


def start_live(*, zone: str, emotion: str, user, language: str | None = None) -> DisplayZone:
    """Make a zone follow the most-liked serving images of ``emotion`` from now on."""
    if emotion not in keys.EMOTIONS:
        raise ZoneError(fields={"live_emotion": f"Unknown emotion {emotion!r}: expected one of {', '.join(keys.EMOTIONS)}."})
    selection = live_selection(emotion)
    return update_zone(zone=zone, selection=selection, user=user, source="live zone started", live_emotion=emotion, language=language)


def refresh_live_zones() -> list[str]:
    """Bring every live zone up to date (the beat task); returns the names of the zones that changed.

    Logged under the user who started the live zone. One zone's failure does not stop the others.
    """
    changed = []
    for zone in DisplayZone.objects.exclude(live_emotion="").order_by("name"):
        selection = live_selection(zone.live_emotion)
        if selection.landscape == zone.landscape and selection.portrait == zone.portrait:
            continue
        try:
            update_zone(zone=zone.name, selection=selection, user=None, source="live refresh", live_emotion=zone.live_emotion)
            changed.append(zone.name)
        except DomainError:
            log.warning("live display zone %s not refreshed", zone.name, exc_info=True)
    return changed


# --- The Displays group ---------------------------------------------------------------------------

DISPLAYS_GROUP = "Displays"
# What a display operator needs: the zones (no delete: a zone's files would stay on the screens),
# and the serving images the zone picker shows. No visitors, no jobs, no image changes.
DISPLAY_PERMISSIONS = (
    "displays.view_displayzone",
    "displays.add_displayzone",
    "displays.change_displayzone",
    "garden.view_image",
)


def ensure_displays_group() -> tuple[Group, list[str]]:
    """Create or reset the Displays group to exactly the display rights; returns (group, missing)."""
    group, _created, missing = groups.reset_group(DISPLAYS_GROUP, DISPLAY_PERMISSIONS)
    return group, missing


def make_display_operator(*, user) -> None:
    """Staff (so the admin lets them log in) and a member of Displays; no superuser rights."""
    group, _missing = ensure_displays_group()
    groups.join_as_staff(user=user, group=group)
