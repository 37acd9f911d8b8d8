"""Run the gardener once, or print its plan (--dry-run)."""

from django.core.management.base import BaseCommand, CommandError

from gardener import selectors, services


class Command(BaseCommand):
    help = "Tend the garden once: harvest finished jobs, retire images visitors pass over, fill thin keys (docs/gardener.md)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print the plan and change nothing.")
        parser.add_argument("--enable", choices=["review", "trusted"], help="Turn the global policy on in this promotion mode first.")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="make run's demo: on an install whose policy was never saved, turn it on (one trial pair; trusted with the "
            "procedural painter, review with a real model) first; an existing policy is left as it is.",
        )

    def handle(self, *args, dry_run, enable, demo, **options):
        if (enable or demo) and dry_run:
            raise CommandError("--enable and --demo change the policy: they cannot be combined with --dry-run.")
        if enable and demo:
            raise CommandError("Give --enable or --demo, not both.")
        if demo and services.enable_for_demo():
            mode = selectors.global_policy().promotion_mode
            self.stdout.write(f"Gardener enabled for the demo ({mode} mode, one trial pair).")
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
