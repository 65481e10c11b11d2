"""The bounded queue and thread behind error e-mails and account e-mails (app.background)."""

from __future__ import annotations

import threading

from app.background import BackgroundWorker


def test_items_are_handled_in_order_off_the_calling_thread():
    handled = []
    worker = BackgroundWorker(
        lambda item: handled.append((item, threading.current_thread())), 10, "t"
    )
    assert all(worker.put(number) for number in range(5))
    assert worker.drain(5)
    assert [item for item, _ in handled] == [0, 1, 2, 3, 4]
    assert {thread.name for _, thread in handled} == {"t"}


def test_one_failing_item_does_not_stop_the_thread(capsys):
    handled = []

    def consume(item):
        if item == "bad":
            raise ValueError("cannot handle it")
        handled.append(item)

    worker = BackgroundWorker(consume, 10, "picky worker")
    for item in ("a", "bad", "b"):
        worker.put(item)
    assert worker.drain(5)
    assert handled == ["a", "b"]
    assert "stockdash: picky worker: ValueError: cannot handle it" in capsys.readouterr().err


def test_a_full_queue_refuses_and_discard_empties_it():
    started, release = threading.Event(), threading.Event()
    worker = BackgroundWorker(lambda item: started.set() or release.wait(5), 2, "stuck")
    worker.put("taken by the thread")
    assert started.wait(5)  # the thread holds the first item: the queue is empty again
    assert [worker.put(number) for number in range(4)] == [True, True, False, False]
    assert not worker.drain(0.1)
    worker.discard()
    release.set()
    assert worker.drain(5)
