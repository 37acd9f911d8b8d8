"""The web server's thread pool (config/web_threads.py): GARDEN_WEB_THREADS threads take requests, and
one more for each request that waits, for as long as it waits; nothing else runs beside them."""

import threading
import time

from config.web_threads import Pool


def test_a_waiting_request_s_thread_is_replaced_while_it_waits():
    ended, release = [], threading.Event()
    pool = Pool(1, on_thread_end=lambda: ended.append(threading.current_thread().name))

    def long_poll():
        with pool.one_waiting():
            release.wait(10)
        return "answered"

    try:
        poll = pool.submit(long_poll)
        time.sleep(0.1)
        started = time.monotonic()
        assert [pool.submit(lambda n=n: n).result(timeout=2) for n in range(3)] == [0, 1, 2]  # the one thread is waiting
        assert time.monotonic() - started < 1.0 and pool.threads == 2
        release.set()
        assert poll.result(timeout=2) == "answered"
        deadline = time.monotonic() + 2
        while pool.threads > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.threads == 1 and len(ended) == 1  # one thread ended once the wait did, its connections closed
    finally:
        pool.shutdown()


def test_no_more_requests_run_at_once_than_the_pool_s_size():
    running, most, lock = [0], [0], threading.Lock()

    def request():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    pool = Pool(2, on_thread_end=lambda: None)
    try:
        for future in [pool.submit(request) for _ in range(12)]:
            future.result(timeout=5)
        assert most[0] == 2 and pool.threads == 2
    finally:
        pool.shutdown()


def test_an_error_reaches_the_caller_and_the_thread_goes_on():
    pool = Pool(1, on_thread_end=lambda: None)
    try:
        failed = pool.submit(lambda: 1 / 0)
        assert isinstance(failed.exception(timeout=2), ZeroDivisionError)
        assert pool.submit(lambda: "next").result(timeout=2) == "next"
    finally:
        pool.shutdown()


def test_past_the_pool_s_size_a_waiting_request_is_told_to_let_its_connection_go():
    pool = Pool(1, on_thread_end=lambda: None)
    try:
        with pool.one_waiting() as first, pool.one_waiting() as second:
            assert (first, second) == (False, True) and pool.threads == 3
    finally:
        pool.shutdown()
