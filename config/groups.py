"""Role groups whose rights are defined in code (Curators, Analysts): reset, join, and the command.

Resetting (not adding) is deliberate: a role's rights are what its app lists, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q


def reset_group(name: str, permission_names: Iterable[str]) -> tuple[Group, bool, list[str]]:
    """Create or reset group ``name`` to exactly these ``app_label.codename`` rights.

    Returns (group, created, missing): ``missing`` names rights whose Permission rows do not exist
    yet (their app not migrated).
    """
    names = list(permission_names)
    query = Q(pk__in=[])
    for app_label, codename in (name.split(".", 1) for name in names):
        query |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(query).select_related("content_type"))
    found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
    group, created = Group.objects.get_or_create(name=name)
    group.permissions.set(permissions)
    return group, created, sorted(set(names) - found)


def join_as_staff(*, user, group: Group) -> None:
    """Staff (so the admin lets them log in) and a member of ``group``; no superuser rights."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)


class RoleGroupCommand(BaseCommand):
    """``setup_<role>s [--user NAME]…``: reset the role's group, then make the named users members."""

    member = ""  # what a member is called: "a curator", "an analyst"
    # Set with staticmethod() by each command: the app's own service functions.
    ensure_group: Callable[[], tuple[Group, list[str]]]
    make_member: Callable[..., None]

    def add_arguments(self, parser):
        parser.add_argument("--user", action="append", default=[], help="username to add (repeatable)")

    def handle(self, *args, user, **options):
        group, missing = self.ensure_group()
        names = sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type"))
        self.stdout.write(f"Group '{group.name}': {', '.join(names)}")
        if missing:
            self.stdout.write(self.style.WARNING(f"Not yet available (run migrate): {', '.join(missing)}"))
        users = get_user_model()
        for username in user:
            try:
                account = users.objects.get(username=username)
            except users.DoesNotExist:
                raise CommandError(f"No user '{username}'") from None
            self.make_member(user=account)
            self.stdout.write(self.style.SUCCESS(f"{username} is now {self.member} (staff, group '{group.name}')"))
