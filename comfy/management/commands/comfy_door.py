"""``manage.py comfy_door [--bind host:port]``: the ComfyUI-compatible door (docs/comfyui.md)."""

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve ComfyUI's HTTP and websocket API on GARDEN_COMFY_BIND (default 127.0.0.1:8188)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="", help="host:port (default: GARDEN_COMFY_BIND)")

    def handle(self, *args, **options):
        from comfy import door  # aiohttp is imported only by the process that serves

        bind = options["bind"] or settings.GARDEN_COMFY_BIND
        self.stdout.write(f"ComfyUI door on http://{bind}")
        door.serve(bind)
