"""manage.py c2pa_test_cert DIR: a test C2PA signing chain (private root + ES256 leaf) and key.

Manifests it signs validate as intact but untrusted (signingCredential.untrusted): for trying
the setup, not for publishing; docs/provenance.md says where a trusted certificate comes from.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from provenance.certs import make_test_chain


class Command(BaseCommand):
    help = "Write c2pa-chain.pem and c2pa-key.pem (a test signing chain) into DIR."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--force", action="store_true", help="overwrite existing files")

    def handle(self, *args, **options):
        directory = Path(options["directory"])
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "c2pa-chain.pem", directory / "c2pa-key.pem"
        if not options["force"] and (cert_path.exists() or key_path.exists()):
            raise CommandError(f"{cert_path} or {key_path} exists; pass --force to replace them.")
        chain, key = make_test_chain(days=options["days"])
        cert_path.write_bytes(chain)
        # The key is readable by its owner only.
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        self.stdout.write(f"GARDEN_C2PA_CERT={cert_path}\nGARDEN_C2PA_KEY={key_path}")
