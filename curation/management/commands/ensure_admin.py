"""Make sure an operator can log in to the admin, without a password in any file you commit."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def site_url() -> str:
    """Where the app is: the public site (GARDEN_SHARE_BASE_URL, else the first real host name in
    DJANGO_ALLOWED_HOSTS, https behind DJANGO_SECURE), or the local server of `make run`."""
    if settings.GARDEN_SHARE_BASE_URL:
        return settings.GARDEN_SHARE_BASE_URL.rstrip("/") + "/"
    local = {"localhost", "127.0.0.1", "[::1]", "*"}
    hosts = [host.lstrip(".") for host in settings.ALLOWED_HOSTS if host not in local and "*" not in host]
    if hosts:
        scheme = "https" if getattr(settings, "SESSION_COOKIE_SECURE", False) else "http"
        return f"{scheme}://{hosts[0]}/"
    return f"http://{os.environ.get('GARDEN_BIND', '127.0.0.1:8000')}/"


def admin_url() -> str:
    return site_url() + "admin/"


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' with a random password when no superuser exists. The password is "
        "printed once and kept in var/admin-password (mode 0600); change it in the admin after logging in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--banner", action="store_true", help="End with where the app is, the admin login and where its password is kept (make run)."
        )

    def handle(self, *args, username, banner, **options):
        users = get_user_model()
        password_file = settings.VAR_DIR / "admin-password"
        existing = users.objects.filter(is_superuser=True).order_by("pk").values_list("username", flat=True).first()
        if existing is None:
            password = secrets.token_urlsafe(12)
            users.objects.create_superuser(username=username, email="", password=password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Created admin login '{username}' with password: {password}"))
            self.stdout.write(f"(kept in {password_file}; change it after logging in at {admin_url()})")
        elif not banner:
            hint = f" (first password in {password_file})" if password_file.exists() else ""
            self.stdout.write(f"Admin login exists{hint}: {admin_url()}")
        if banner:
            self._banner(existing or username, password_file)

    def _banner(self, username: str, password_file) -> None:
        kept = f"its first password is kept in {password_file}" if password_file.exists() else "its password is the one you set"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Emotion Garden: {site_url()} (the kiosk), {admin_url()} (the admin)"))
        self.stdout.write(f"Admin login: {username}; {kept}. Ctrl-C stops every process.")
