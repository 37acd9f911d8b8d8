"""Run the gardener once, or print its plan (--dry-run)."""

from django.core.management.base import BaseCommand, CommandError

from gardener import services


class Command(BaseCommand):
    help = "Tend the garden once: harvest finished jobs, retire images visitors pass over, fill thin keys (docs/gardener.md)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print the plan and change nothing.")
        parser.add_argument(
            "--enable", choices=["review", "trusted"], help="Turn the global policy on in this promotion mode first (the demo setup)."
        )

    def handle(self, *args, dry_run, enable, **options):
        if enable and dry_run:
            raise CommandError("--enable changes the policy: it cannot be combined with --dry-run.")
        if enable:
            services.enable(mode=enable)
            self.stdout.write(f"Gardener enabled ({enable} mode).")
        try:
            result = services.tend(dry_run=dry_run)
        except services.Busy as exc:
            raise CommandError(str(exc)) from exc
        for line in result.plan.lines():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: {result.summary()}."))
