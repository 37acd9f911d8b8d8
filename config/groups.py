"""Role groups whose rights are defined in code (Curators, Analysts): reset, join, and the command.

Resetting (not adding) is deliberate: a role's rights are what its app lists, nothing more.
"""

from __future__ import annotations

import secrets
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
        parser.add_argument("usernames", nargs="*", help="usernames to add (same as --user)")
        parser.add_argument("--user", action="append", default=[], help="username to add (repeatable)")
        parser.add_argument("--create", action="store_true", help="create the --user logins that do not exist yet")

    def handle(self, *args, user, usernames=(), create=False, **options):
        user = [*usernames, *user]
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
                if not create:
                    raise CommandError(
                        f"No user '{username}'. Add --create to create the login (a random password is printed once), "
                        "or add the user in the admin (Users → Add user) and run this again."
                    ) from None
                password = secrets.token_urlsafe(12)
                account = users.objects.create_user(username=username, password=password)
                self.stdout.write(f"Created login '{username}' with password: {password} (they change it after logging in)")
            self.make_member(user=account)
            self.stdout.write(self.style.SUCCESS(f"{username} is now {self.member} (staff, group '{group.name}')"))
