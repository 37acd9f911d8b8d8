"""asyncio.run for tests that may share a process with the browser tests."""

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run_apart(coroutine):
    """``asyncio.run(coroutine)`` in a thread of its own: the browser tests' Playwright (sync API)
    keeps an event loop running in the main thread for the whole session, and asyncio.run refuses
    to start inside a running loop."""
    with ThreadPoolExecutor(1, thread_name_prefix="run-apart") as pool:
        return pool.submit(asyncio.run, coroutine).result()
