"""The GUI's thread pools, in one place, and :func:`run_task`, the one way work leaves the GUI
thread and its result comes back.

Each kind of work has its own pool (below, with why it is separate). A pool belongs to the
object that asks for it (the window, a dialog, the thumbnail cache), which shuts it down when
it closes; only this module creates them.

What may run on the GUI thread
------------------------------
Only Library calls that never touch the disk or the model: ``lib.model.state``,
``lib.model.problem`` (and the other plain attributes of the model host), ``lib.search_index
.build_progress()``, ``lib.settings``, ``lib.home``. Every call into ``lib.folders``,
``lib.search``, ``lib.tags`` and ``lib.categories`` (and ``lib.switch_model``, the Worker's
folder changes) goes through :func:`run_task`, with a callback that updates the widgets; what
a menu or dialog offers comes from what its sidebar last read. The one exception is the
start, before any window shows (gui/application.py opens the library and asks whether it
has folders yet). ``tests/unit/gui/test_gui_thread.py`` drives a window through searches,
tag sets, tags, categories, the preview, folder removal and settings, and fails on any
service call made on the GUI thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMenu
from shiboken6 import isValid

log = logging.getLogger(__name__)


def _make(threads: int, name: str) -> ThreadPoolExecutor:
    """A plain Python thread pool; results come back to the GUI thread as queued signals."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"photoclip-{name}")


def search_pool() -> ThreadPoolExecutor:
    """Ranked searches and making search ready (the model's text tower). One thread: only the
    newest query waits behind the one running, typing never queues a backlog."""
    return _make(1, "search")


def browse_pool() -> ThreadPoolExecutor:
    """Browsing (the newest photos, no query). Separate so that a browse never waits behind a
    search that is slow while the model loads."""
    return _make(1, "browse")


def library_pool() -> ThreadPoolExecutor:
    """Reads and writes of the library for the sidebar and the menus: folder counts, tags,
    tag sets, categories. One thread, so a write and the refresh after it run in order."""
    return _make(1, "library")


def edit_pool() -> ThreadPoolExecutor:
    """What the user changes by hand: tags, examples, categories, tag sets, folders. Quick
    writes, apart from the library pool so none waits behind a category being retrained;
    one thread, so they apply in the order they were made. Shut down waiting (never
    cancelled): an edit made just before closing is kept."""
    return _make(1, "edit")


def preview_pool() -> ThreadPoolExecutor:
    """Full-size images for the preview. Separate so a large photo being decoded never delays
    a search or a sidebar refresh; the dialog drops it when it closes."""
    return _make(1, "preview")


def thumbnail_pool() -> ThreadPoolExecutor:
    """Thumbnails for the grid: several threads (decoding is I/O and C code), kept apart so a
    screenful of thumbnails never waits on library work."""
    return _make(max(2, min(4, os.cpu_count() or 2)), "thumbs")


def model_pool() -> ThreadPoolExecutor:
    """Loading or downloading a model, detecting devices (settings, the model panel): slow
    one-off work, kept off the search pool so searching stays available meanwhile."""
    return _make(1, "model")


def move_pool() -> ThreadPoolExecutor:
    """Copying the library to another folder: long disk work with its own progress dialog,
    which nothing else should wait behind."""
    return _make(1, "move")


class _Dispatcher(QObject):
    """One object for the life of the app, in the GUI thread: pool threads emit ``call`` with
    what to run there (a queued connection). No per-task QObject: such an object, released
    by whichever thread let go of it last, could be deleted in a pool thread while its
    signal was still queued ("shared QObject was deleted directly", then a crash)."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()


_dispatcher: _Dispatcher | None = None


def _gui_thread() -> _Dispatcher:
    global _dispatcher
    if _dispatcher is None:  # (made by the first run_task, which the GUI thread calls)
        _dispatcher = _Dispatcher()
    return _dispatcher


def _failed(on_error: Callable[[Exception], None] | None, error: Exception) -> None:
    if on_error is not None:
        on_error(error)
    else:
        log.warning("background task failed: %s", error)


def run_task(pool: ThreadPoolExecutor, fn: Callable[[], Any],
             on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[Exception], None] | None = None) -> None:
    """Run ``fn()`` in ``pool``; ``on_done(result)`` or ``on_error(exc)`` run on the GUI thread
    (the MusicBrainz Picard pattern). Call from the GUI thread."""
    dispatcher = _gui_thread()

    def work() -> None:
        try:
            result = fn()
        except Exception as e:  # delivered to the GUI as a message, never lost in a thread
            log.debug("background task failed", exc_info=True)
            dispatcher.call.emit(lambda error=e: _failed(on_error, error))
        else:
            if on_done is not None:
                dispatcher.call.emit(lambda: on_done(result))

    try:
        pool.submit(work)
    except RuntimeError:  # the pool is shut down: the window is closing
        pass


T = TypeVar("T")


def submenu_when_read(menu: QMenu, title: str, pool: ThreadPoolExecutor,
                      read: Callable[[], list[tuple[str, T]]],
                      choose: Callable[[T], None]) -> QMenu:
    """A submenu of ``menu`` whose entries come from the library: hidden until ``read()``
    (run in ``pool``) gives them as (text, value), then shown if there are any; choosing one
    calls ``choose(value)``. Nothing happens if the menu closed first."""
    sub = menu.addMenu(title)
    sub.menuAction().setVisible(False)

    def fill(entries: list[tuple[str, T]]) -> None:
        if not isValid(sub):
            return
        for text, value in entries:
            def chosen(value: T = value) -> None:
                choose(value)

            sub.addAction(text, chosen)
        sub.menuAction().setVisible(bool(entries))

    run_task(pool, read, fill)
    return sub
