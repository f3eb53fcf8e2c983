"""The core background Worker, seen from Qt: :class:`WorkerBridge` owns it and re-emits its
plain callbacks as queued Qt signals. (Thread pools and ``run_task``: gui/executors.py.)"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from photoclip.core.indexing.indexer import Report
from photoclip.core.indexing.worker import Worker, WorkerStatus


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
