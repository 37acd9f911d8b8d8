"""Create or reset the Analysts group; optionally make users analysts."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from insights import services


class Command(BaseCommand):
    help = "Create or reset the 'Analysts' group to exactly the insights rights; --user NAME makes a user an analyst (staff + group)."

    def add_arguments(self, parser):
        parser.add_argument("--user", action="append", default=[], help="username to add (repeatable)")

    def handle(self, *args, user, **options):
        group, missing = services.ensure_analysts_group()
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
            services.make_analyst(user=account)
            self.stdout.write(self.style.SUCCESS(f"{username} is now an analyst (staff, group '{group.name}')"))
