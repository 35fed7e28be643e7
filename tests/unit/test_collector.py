"""The cycle collector is paused while bundles are made or verified (proofs.collector), and comes
back as it was: overlapping pauses restart it only when the last ends, and a collector someone
else switched off stays off."""

from __future__ import annotations

import gc
import threading

from proofs import collector


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_pauses_restart_it_when_the_last_ends() -> None:
    first_in, second_out = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with collector.paused():
            first_in.set()
            second_out.wait(5)
        seen.append(gc.isenabled())

    thread = threading.Thread(target=other)
    thread.start()
    first_in.wait(5)
    with collector.paused():
        pass
    assert not gc.isenabled()  # the other thread's pause still holds
    second_out.set()
    thread.join(5)
    assert seen == [True] and gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_restarts_it() -> None:
    try:
        with collector.paused():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled()
