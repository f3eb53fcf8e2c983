"""Thumbnails: decoded off the GUI thread, cached on disk (platform cache dir) and in memory.

The disk cache is capped (:data:`DISK_CAP`): when it grows past the cap, the thumbnails used
longest ago are deleted until it is down to 80 % of it (a file's mtime is its last use)."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from photoclip.core.indexing.imageio import DecodeError, open_upright
from photoclip.gui import executors

DISK_CAP = 1 << 30  # 1 GiB: ~80k thumbnails at the default size (12-14 KB each)
PRUNE_EVERY = 2000  # thumbnails written between two checks of the cap


def _cache_file(path: str, size: int, cache_dir: Path) -> Path | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{size}".encode("utf-8", "surrogateescape")
    digest = hashlib.sha1(key).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.jpg"


def load_thumbnail(path: str, size: int, cache_dir: Path) -> QImage:
    """A QImage of at most size×size (null if the photo cannot be read). Any thread."""
    cached = _cache_file(path, size, cache_dir)
    if cached is not None and cached.exists():
        image = QImage(str(cached))
        if not image.isNull():
            try:
                os.utime(cached)  # used now: kept when the cache is pruned
            except OSError:
                pass
            return image
    try:
        pil = open_upright(path, size)
    except DecodeError:
        return QImage()
    data = pil.tobytes("raw", "RGB")
    image = QImage(data, pil.width, pil.height, 3 * pil.width, QImage.Format.Format_RGB888).copy()
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp.jpg")
            if image.save(str(tmp), quality=85):  # (JPEG: from the .jpg suffix)
                os.replace(tmp, cached)
        except OSError:
            pass
    return image


def prune_cache(cache_dir: Path, cap: int = DISK_CAP, keep: float = 0.8) -> int:
    """If the disk cache holds more than ``cap`` bytes, delete the least recently used
    thumbnails until it holds at most ``keep × cap``. Returns the bytes freed. Any thread."""
    entries, total = [], 0
    try:
        for sub in os.scandir(cache_dir):
            if not sub.is_dir(follow_symlinks=False):
                continue
            for f in os.scandir(sub.path):
                try:
                    st = f.stat(follow_symlinks=False)
                except OSError:
                    continue
                entries.append((st.st_mtime, st.st_size, f.path))
                total += st.st_size
    except OSError:  # no cache yet
        return 0
    if total <= cap:
        return 0
    entries.sort()
    freed = 0
    for _, size, path in entries:
        if total - freed <= keep * cap:
            break
        try:
            os.unlink(path)
            freed += size
        except OSError:
            pass
    return freed


class ThumbnailCache(QObject):
    """Ask with :meth:`get`; a missing thumbnail is loaded in the pool and announced by
    ``ready(path)``. Keeps the most recent ``capacity`` pixmaps in memory."""

    ready = Signal(object)  # path (a Python str: Qt strings lose undecodable name bytes)
    _loaded = Signal(object, QImage, int, int)  # from pool threads (path, image, gen, size)

    def __init__(self, cache_dir: Path, size: int = 192, capacity: int = 2000, parent=None,
                 disk_cap: int = DISK_CAP):
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self.disk_cap = disk_cap
        self._loads = 0  # since the last check of the disk cap
        self.size = size
        self.capacity = capacity
        self.pool = executors.thumbnail_pool()
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._generation = 0  # bumped when the grid changes: older queued loads are skipped
        self._loaded.connect(self._on_loaded)
        self._prune()  # (in the pool: a big cache takes a moment to list)

    def get(self, path: str) -> QPixmap | None:
        pm = self._pixmaps.get(path)
        if pm is not None:
            self._pixmaps.move_to_end(path)
            return pm
        if path not in self._pending and path not in self._failed:
            self._pending.add(path)
            try:
                self.pool.submit(self._load, path, self._generation, self.size)
            except RuntimeError:  # shut down: the window is closing
                pass
        return None

    def _prune(self) -> None:
        try:
            self.pool.submit(prune_cache, self.cache_dir, self.disk_cap)
        except RuntimeError:  # shut down
            pass

    def _load(self, path: str, generation: int, size: int) -> None:  # pool thread
        if generation != self._generation:
            self._loaded.emit(path, QImage(), -1, size)  # skipped, not failed
            return
        self._loaded.emit(path, load_thumbnail(path, size, self.cache_dir), generation, size)

    def shutdown(self) -> None:
        self._generation += 1
        self.pool.shutdown(wait=True, cancel_futures=True)

    def failed(self, path: str) -> bool:
        return path in self._failed

    def clear_pending(self) -> None:
        """Skip queued loads (a new search replaced the grid); visible cells ask again."""
        self._generation += 1
        self._pending.clear()

    def set_size(self, size: int) -> None:
        """Load thumbnails at another size from now on (the grid zoomed past this one)."""
        if size != self.size:
            self.size = size
            self._pixmaps.clear()
            self._failed.clear()
            self.clear_pending()

    def _on_loaded(self, path: str, image: QImage, generation: int, size: int) -> None:
        self._pending.discard(path)
        self._loads += 1
        if self._loads >= PRUNE_EVERY:
            self._loads = 0
            self._prune()
        if generation < 0 or size != self.size:
            return
        if image.isNull():
            self._failed.add(path)
        else:
            self._pixmaps[path] = QPixmap.fromImage(image)
            while len(self._pixmaps) > self.capacity:
                self._pixmaps.popitem(last=False)
        self.ready.emit(path)
