"""One window per library: a second launch on the same data folder raises the first window.

The first instance holds a lock file in the data folder (QLockFile: a lock left by a crashed
process is recognised by its dead process id and taken over) and listens on a local socket
named after the folder. A second instance fails to take the lock, tells the first one to show
itself, and exits. The command line does not take this lock: `photoclip index` while the app
runs is serialised with the app's worker by the library's indexing lock instead.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from photoclip.core.lock import APP_LOCK

log = logging.getLogger(__name__)

RAISE = b"raise\n"


def server_name(home: Path) -> str:
    digest = hashlib.sha1(str(Path(home).resolve()).encode("utf-8")).hexdigest()[:16]
    return f"photoclip-{digest}"


class SingleInstance(QObject):
    """``claim()`` True: this process owns the library (``activated`` fires when another
    launch asks for the window). False: another process has it and was asked to show itself."""

    activated = Signal()

    def __init__(self, home: Path, parent=None):
        super().__init__(parent)
        self.home = Path(home)
        self.name = server_name(self.home)
        self.lock = QLockFile(str(self.home / APP_LOCK))
        self.lock.setStaleLockTime(0)  # only a dead owner makes the lock stale
        self.server: QLocalServer | None = None

    def claim(self) -> bool:
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.lock.tryLock(100):
            self.lock.removeStaleLockFile()
            if not self.lock.tryLock(100):
                self._ask_first_to_show()
                return False
        QLocalServer.removeServer(self.name)  # (a socket file left by a crash)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(self.name):
            log.warning("cannot listen on %s: %s", self.name, self.server.errorString())
        self.server.newConnection.connect(self._connected)
        return True

    def _ask_first_to_show(self) -> None:
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if sock.waitForConnected(2000):
            sock.write(RAISE)
            sock.waitForBytesWritten(2000)
            sock.disconnectFromServer()
        else:
            log.warning("PhotoCLIP already runs on %s but does not answer (%s)", self.home,
                        sock.errorString())

    def _connected(self) -> None:
        """Another launch: read its one line (it writes at once; a local socket) and let go."""
        while self.server is not None and self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            ready = sock.bytesAvailable() or sock.waitForReadyRead(1000)
            if ready and bytes(sock.readAll().data()).startswith(RAISE.strip()):
                self.activated.emit()
            sock.abort()
            sock.deleteLater()

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server.deleteLater()
            self.server = None
        self.lock.unlock()
