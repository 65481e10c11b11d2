"""A bounded queue and the one thread per process that works it off the request path.

Error e-mails (app.logging) and account e-mails (app.accounts.mail) both go through one: a view
only puts the item on the queue, so a slow or unreachable server delays no answer, and a burst
while it stalls fills the queue and then drops items (the caller says so) instead of piling up
memory. The thread is started on first use in each process: gunicorn forks its workers from a
preloaded master, and threads do not survive a fork.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class BackgroundWorker(Generic[Item]):
    """Hands each queued item to `consume` on a daemon thread of this process (see the module)."""

    def __init__(self, consume: Callable[[Item], None], capacity: int, name: str):
        self.consume = consume
        self.capacity = capacity
        self.name = name
        self.queue: queue.Queue[Item] = queue.Queue(capacity)
        self._pid: int | None = None
        self._start_lock = threading.Lock()

    def _running_queue(self) -> queue.Queue[Item]:
        """This process's queue, with its thread running."""
        if self._pid != os.getpid():
            with self._start_lock:
                if self._pid != os.getpid():
                    # A fresh queue: whatever the parent had queued is the parent's to handle.
                    self.queue = queue.Queue(self.capacity)
                    thread = threading.Thread(
                        target=self._work_forever, args=(self.queue,), daemon=True, name=self.name
                    )
                    thread.start()
                    self._pid = os.getpid()
        return self.queue

    def _work_forever(self, items: queue.Queue[Item]) -> None:
        while True:
            item = items.get()
            try:
                self.consume(item)
            except Exception as error:  # the thread must outlive one bad item
                sys.stderr.write(f"stockdash: {self.name}: {type(error).__name__}: {error}\n")
            finally:
                items.task_done()

    def put(self, item: Item) -> bool:
        """Queue `item`; False when the queue is full (the item is not queued)."""
        try:
            self._running_queue().put_nowait(item)
        except queue.Full:
            return False
        return True

    def drain(self, timeout: float) -> bool:
        """Wait until every queued item was handled, at most `timeout` s; True if so."""
        deadline = time.monotonic() + timeout
        while self._pid == os.getpid() and self.queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def discard(self) -> None:
        """Throw away the items still waiting (not the one being handled)."""
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return
            self.queue.task_done()
