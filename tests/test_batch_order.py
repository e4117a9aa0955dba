"""`BatchOrder`: with two batches in flight, codes and writes still happen in batch order."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.process.flow import BatchError, BatchOrder


def test_turns_are_taken_in_batch_order_whoever_arrives_first() -> None:
    order = BatchOrder()
    taken: list[tuple[str, int]] = []

    def batch(number: int) -> None:
        time.sleep(0.05 * (5 - number))  # later batches arrive first
        for stage in ("register", "write"):
            with order.turn(stage, number):
                taken.append((stage, number))

    with ThreadPoolExecutor(5) as pool:
        list(pool.map(batch, range(5)))
    assert [n for s, n in taken if s == "register"] == [0, 1, 2, 3, 4]
    assert [n for s, n in taken if s == "write"] == [0, 1, 2, 3, 4]


def test_a_failed_run_releases_the_batches_waiting_for_their_turn() -> None:
    order = BatchOrder()
    errors: list[BaseException] = []

    def waiting() -> None:
        try:
            with order.turn("register", 1):  # batch 0 never takes its turn
                pass
        except BatchError as exc:
            errors.append(exc)

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.1)
    assert thread.is_alive() and not errors
    order.fail()
    thread.join(timeout=5)
    assert not thread.is_alive() and len(errors) == 1


def test_a_turn_left_by_an_exception_still_passes_on() -> None:
    order = BatchOrder()
    with pytest.raises(ValueError), order.turn("write", 0):
        raise ValueError("store error")
    with order.turn("write", 1):  # does not wait: batch 0 left its turn
        pass
