"""The query watchdog: one thread firing each registered deadline once, unless cancelled first."""

from __future__ import annotations

import threading
import time

from timestream_local.watchdog import Watchdog


def test_deadlines_fire_in_order_and_cancelled_ones_never_do():
    watchdog = Watchdog()
    fired: list[str] = []
    done = threading.Event()

    def note(name: str):
        def callback() -> None:
            fired.append(name)
            if name == "last":
                done.set()

        return callback

    watchdog.watch(30, note("late"))  # the thread now sleeps until this one
    cancelled = watchdog.watch(0.1, note("cancelled"))
    watchdog.watch(0.3, note("last"))  # earlier than "late": must wake the sleeping thread
    watchdog.watch(0.2, note("first"))
    watchdog.cancel(cancelled)
    assert done.wait(5), "the watchdog did not fire an earlier deadline registered later"
    time.sleep(0.2)
    assert fired == ["first", "last"]


def test_a_failing_callback_does_not_stop_the_watchdog():
    watchdog = Watchdog()
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("boom")

    watchdog.watch(0.05, broken)
    watchdog.watch(0.1, done.set)
    assert done.wait(5)
