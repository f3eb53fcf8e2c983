"""Threads to Qt: run work off the GUI thread and deliver results and progress as signals.

- :class:`Task` runs a function in a QThreadPool and posts its result (or error) back to the GUI
  thread (the MusicBrainz Picard pattern).
- :class:`WorkerBridge` owns the core background Worker and re-emits its plain callbacks as
  queued Qt signals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from photoclip.core.indexer import Report
from photoclip.core.worker import Worker, WorkerStatus

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
        Task._pending.discard(self)
        if self.on_done is not None:
            self.on_done(result)

    @Slot(object)
    def _deliver_failed(self, error) -> None:
        Task._pending.discard(self)
        if self.on_error is not None:
            self.on_error(error)
        else:
            log.warning("background task failed: %s", error)


class Task(QRunnable):
    """``Task.start(pool, fn, on_done, on_error)``: fn() in the pool, callbacks on the GUI thread.

    Each task's delivery object stays referenced in ``_pending`` until its result has been
    handed over: otherwise Python could collect it while the pool still runs the task, and the
    result would silently never arrive. (Connecting a bare lambda to a cross-thread signal is
    not enough in PySide6: it is never called.)
    """

    _pending: ClassVar[set[_Delivery]] = set()

    def __init__(self, fn: Callable[[], Any], delivery: _Delivery):
        super().__init__()
        self.fn = fn
        self.delivery = delivery
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:  # delivered to the GUI as a message, never lost in a thread
            log.debug("background task failed", exc_info=True)
            self.delivery.failed.emit(e)
        else:
            self.delivery.done.emit(result)

    @classmethod
    def start(cls, pool: QThreadPool, fn: Callable[[], Any],
              on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[Exception], None] | None = None) -> None:
        delivery = _Delivery(on_done, on_error)
        Task._pending.add(delivery)
        pool.start(cls(fn, delivery))


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
