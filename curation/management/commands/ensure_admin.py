"""Make sure an operator can log in to the admin, without a password in any file you commit."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def admin_url() -> str:
    """Where the admin is: the public site (GARDEN_SHARE_BASE_URL, else the first real host name in
    DJANGO_ALLOWED_HOSTS, https behind DJANGO_SECURE), or the local server of `make run`."""
    if settings.GARDEN_SHARE_BASE_URL:
        return settings.GARDEN_SHARE_BASE_URL.rstrip("/") + "/admin/"
    local = {"localhost", "127.0.0.1", "[::1]", "*"}
    hosts = [host.lstrip(".") for host in settings.ALLOWED_HOSTS if host not in local and "*" not in host]
    if hosts:
        scheme = "https" if getattr(settings, "SESSION_COOKIE_SECURE", False) else "http"
        return f"{scheme}://{hosts[0]}/admin/"
    return f"http://{os.environ.get('GARDEN_BIND', '127.0.0.1:8000')}/admin/"


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' with a random password when no superuser exists. The password is "
        "printed once and kept in var/admin-password (mode 0600); change it in the admin after logging in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model()
        password_file = settings.VAR_DIR / "admin-password"
        if users.objects.filter(is_superuser=True).exists():
            hint = f" (first password in {password_file})" if password_file.exists() else ""
            self.stdout.write(f"Admin login exists{hint}: {admin_url()}")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Created admin login '{username}' with password: {password}"))
        self.stdout.write(f"(kept in {password_file}; change it after logging in at {admin_url()})")
