"""Threads to Qt: run work off the GUI thread and deliver results and progress as signals.

- :func:`run_task` runs a function in a thread pool and posts its result (or error) back to the
  GUI thread (the MusicBrainz Picard pattern).
- :class:`WorkerBridge` owns the core background Worker and re-emits its plain callbacks as
  queued Qt signals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from photoclip.core.indexing.indexer import Report
from photoclip.core.indexing.worker import Worker, WorkerStatus

log = logging.getLogger(__name__)


class _Delivery(QObject):
    """Lives in the GUI thread; the pool thread emits, the slots run here (queued)."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, on_done, on_error):
        super().__init__()
        self.on_done, self.on_error = on_done, on_error
        self.done.connect(self._deliver_done)
        self.failed.connect(self._deliver_failed)

    @Slot(object)
    def _deliver_done(self, result) -> None:
        _pending.discard(self)
        if self.on_done is not None:
            self.on_done(result)

    @Slot(object)
    def _deliver_failed(self, error) -> None:
        _pending.discard(self)
        if self.on_error is not None:
            self.on_error(error)
        else:
            log.warning("background task failed: %s", error)


# Deliveries stay referenced until their result has been handed over; otherwise Python could
# collect one while its task still runs, and the result would silently never arrive.
_pending: set[_Delivery] = set()


def make_pool(threads: int, name: str) -> ThreadPoolExecutor:
    """A plain Python thread pool; results come back to the GUI thread as queued signals."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)


def run_task(pool: ThreadPoolExecutor, fn: Callable[[], Any],
             on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[Exception], None] | None = None) -> None:
    """Run ``fn()`` in ``pool``; ``on_done(result)`` or ``on_error(exc)`` run on the GUI thread.
    Call from the GUI thread."""
    delivery = _Delivery(on_done, on_error)
    _pending.add(delivery)

    def work() -> None:
        try:
            result = fn()
        except Exception as e:  # delivered to the GUI as a message, never lost in a thread
            log.debug("background task failed", exc_info=True)
            delivery.failed.emit(e)
        else:
            delivery.done.emit(result)

    try:
        pool.submit(work)
    except RuntimeError:  # the pool is shut down: the window is closing
        _pending.discard(delivery)


class WorkerBridge(QObject):
    """The background worker, seen from Qt: signals arrive on the GUI thread."""

    status = Signal(object)  # WorkerStatus
    report = Signal(object)  # Report

    def __init__(self, library, parent=None, watch: bool = True):
        super().__init__(parent)
        self.worker = Worker(library, on_status=self._on_status, on_report=self._on_report,
                             watch=watch)

    def _on_status(self, status: WorkerStatus) -> None:  # worker thread
        self.status.emit(status)

    def _on_report(self, report: Report) -> None:  # worker thread
        self.report.emit(report)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
