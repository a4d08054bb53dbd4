"""A thread pool of daemon threads.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the ``with`` block ends and again
at interpreter exit, so Ctrl-C while a worker waits on a stalled connection keeps ``varwheel``
alive for the whole read timeout. Here an exception leaving the ``with`` block (Ctrl-C included)
abandons the workers: they are daemon threads and die with the process.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class DaemonExecutor:
    """The ``submit``/``map``/``shutdown`` subset of ``ThreadPoolExecutor``, on daemon threads."""

    def __init__(self, max_workers: int, name: str = "varwheel-worker") -> None:
        self._max_workers = max(1, max_workers)
        self._name = name
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        future: Future[R] = Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # delivered to whoever waits on the future
                future.set_exception(exc)

        self._tasks.put(task)
        with self._lock:
            if len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        futures = [self.submit(fn, item) for item in items]
        return (f.result() for f in futures)

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            task()

    def shutdown(self, wait: bool = True) -> None:
        """Let queued tasks finish, then end the workers; ``wait`` joins them."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._tasks.put(None)
        if wait:
            for thread in threads:
                thread.join()

    def __enter__(self) -> DaemonExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown(wait=exc_type is None)
