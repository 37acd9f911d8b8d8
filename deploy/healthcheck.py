#!/usr/bin/env python3
"""The web container's health check: GET /healthz from this container's gunicorn (standard library only).

/healthz answers before host checking and the HTTPS redirect (config.probes), so plain HTTP to
127.0.0.1 is enough. Exit 0: healthy; anything else: unhealthy, with the reason on stderr.
"""

import os
import sys
import urllib.request


def main() -> int:
    port = (os.environ.get("GARDEN_BIND") or "0.0.0.0:8000").rsplit(":", 1)[-1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:  # any failure means unhealthy; the reason lands in the container's health log
        print(f"healthz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
