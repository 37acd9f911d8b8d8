"""The project's settings with the benchmark's URLconf (bench/_serving_urls.py adds the floor view)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench._serving_urls"
