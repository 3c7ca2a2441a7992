"""The restart policy: which endings restart, the doubling delay, and the start limit at and past its edge."""

from __future__ import annotations

import signal

import pytest

from local_pipeline.restart import Ending, RestartPolicy, StartHistory


def test_on_failure_restarts_after_errors_and_kills_but_not_after_a_requested_stop():
    policy = RestartPolicy(mode="on-failure")
    assert policy.wants_restart(Ending(code=1))
    assert policy.wants_restart(Ending(signal=signal.SIGKILL))
    assert policy.wants_restart(Ending(signal=signal.SIGSEGV))
    assert not policy.wants_restart(Ending(code=0))
    for clean in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        assert not policy.wants_restart(Ending(signal=clean))
    assert RestartPolicy(mode="always").wants_restart(Ending(code=0))
    assert not RestartPolicy(mode="no").wants_restart(Ending(signal=signal.SIGKILL))


def test_endings_are_described_with_their_status():
    assert Ending(signal=9).describe() == "killed by signal 9 (SIGKILL)"
    assert Ending(code=3).describe() == "exited with status 3"
    assert Ending(signal=9).exit_code == 137
    assert Ending.from_wait_status(3 << 8) == Ending(code=3)
    assert Ending.from_wait_status(9) == Ending(signal=9)


def test_the_delay_doubles_while_failures_pile_up_and_is_capped():
    history = StartHistory(RestartPolicy(delay=1, max_delay=5, burst=100, interval=1000))
    now, delays = 0.0, []
    for _ in range(6):
        history.started(now)
        now += 0.1  # fails at once
        decision = history.next_start(now)
        delays.append(decision.delay)
        now += decision.delay
    assert delays == [1, 2, 4, 5, 5, 5]


def test_a_long_run_resets_the_delay():
    history = StartHistory(RestartPolicy(delay=1, max_delay=30, burst=5, interval=60))
    for at in (0.0, 1.0, 3.0):
        history.started(at)
    assert history.next_start(3.5).delay == 4  # three starts in the window
    history.started(7.5)
    assert history.next_start(500.0).delay == 1  # ran for minutes: the window holds only its own start


def test_the_start_limit_allows_burst_starts_and_refuses_one_more():
    burst, interval = 4, 100.0
    history = StartHistory(RestartPolicy(delay=1, max_delay=1, burst=burst, interval=interval))
    now = 0.0
    history.started(now)  # the first start counts, as in systemd
    for expected in range(2, burst + 1):
        now += 1
        decision = history.next_start(now)
        assert decision.delay == 1
        assert decision.starts_in_window == expected
        now += decision.delay
        history.started(now)
    assert history.restarts == burst - 1
    refused = history.next_start(now + 1)
    assert refused.delay is None
    assert refused.starts_in_window == burst + 1
    # Once the oldest start has left the window, starting is allowed again.
    assert history.next_start(interval + 0.5).delay == 1


def test_bad_settings_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="restart mode"):
        RestartPolicy(mode="sometimes")
    with pytest.raises(ValueError, match="burst"):
        RestartPolicy(burst=0)
    with pytest.raises(ValueError, match="delay"):
        RestartPolicy(delay=5, max_delay=1)
