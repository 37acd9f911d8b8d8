"""A data-subject request: delete one visitor's labels, events and served gardens now."""

from django.core.management.base import BaseCommand, CommandError

from garden.visitors import InvalidVisitorId, parse_visitor_id
from recommend import retention, training


class Command(BaseCommand):
    help = (
        "Delete everything kept about one visitor (labels, events, served gardens); aggregate counts stay. "
        "Name the visitor by id, or by the code the kiosk showed them (--code ABCD-EFGH)."
    )

    def add_arguments(self, parser):
        parser.add_argument("visitor_id", nargs="?", help="The id as the kiosk knows it (shown as `id` by /emotion)")
        parser.add_argument("--code", help="The visitor code the kiosk showed (ABCD-EFGH), instead of the id")

    def handle(self, *args, visitor_id, code, **options):
        if bool(visitor_id) == bool(code):
            raise CommandError("Name the visitor by id or by --code, not both.")
        try:
            if code:
                matches = retention.visitor_ids_with_code(code)
                if len(matches) != 1:
                    found = "no visitor" if not matches else f"{len(matches)} visitors ({', '.join(matches)}): delete each by id"
                    raise CommandError(f"Code {code}: {found}.")
                visitor_id = matches[0]
            visitor_id = parse_visitor_id(visitor_id)
            deleted = retention.forget_visitor(visitor_id=visitor_id)
        except InvalidVisitorId as exc:
            raise CommandError(exc.message) from None
        except training.RebuildBusy:
            raise CommandError("A recommender rebuild is running; try again when it is done.") from None
        if not (deleted.visitors or deleted.events or deleted.recommendations or deleted.job_links or deleted.retry_keys):
            self.stdout.write(f"Nothing is kept about visitor {visitor_id}.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted visitor {visitor_id}: {deleted.visitors} label row, {deleted.events} event(s), "
                f"{deleted.recommendations} served garden(s), {deleted.job_links} live job link(s), "
                f"{deleted.retry_keys} retry key(s)."
            )
        )
