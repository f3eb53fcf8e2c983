"""Start the desktop app: QApplication, the library, the first-run welcome, the main window."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from photoclip import __version__
from photoclip.config import data_home
from photoclip.core.errors import explain, for_gui
from photoclip.core.library import Library
from photoclip.core.relocate import finish_move
from photoclip.gui.dialogs import FirstRunDialog
from photoclip.gui.main_window import MainWindow, app_icon
from photoclip.gui.single import SingleInstance

log = logging.getLogger(__name__)


LOG_BYTES = 1_000_000  # photoclip.log is rotated at this size; photoclip.log.1 … .3 kept


def setup_logging() -> None:
    from logging.handlers import RotatingFileHandler

    home = data_home()
    home.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(home / "photoclip.log", maxBytes=LOG_BYTES, backupCount=3,
                                  encoding="utf-8", errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def welcome(library: Library, window: MainWindow) -> FirstRunDialog:
    """The first-run dialog, kept up to date with the model as the window loads it."""
    dlg = FirstRunDialog(library, window)
    dlg.model_panel.failure = lambda: window.model_failure
    window.model_changed.connect(dlg.model_panel.refresh)
    window.model_changed.connect(lambda: log.info("first run: %s", dlg.model_panel.plain_state()))
    log.info("first run: welcome shown; %s", dlg.model_panel.plain_state())
    return dlg


def first_run(library: Library, window: MainWindow) -> None:
    dlg = welcome(library, window)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return
    if dlg.chosen_model:
        window.switch_model(dlg.chosen_model)
    for folder in dlg.folders:
        window.add_folder(folder)


def run(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="photoclip gui")
    ap.add_argument("--minimized", action="store_true", help="start in the background")
    args, qt_args = ap.parse_known_args(argv)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("PhotoCLIP")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.photoclip.PhotoCLIP")
    app.setWindowIcon(app_icon())
    home = data_home()
    instance = SingleInstance(home)
    if not instance.claim():  # the library is open in another window: that one is raised
        log.info("PhotoCLIP already runs on %s: its window was asked to show itself", home)
        print(f"PhotoCLIP is already open on {home}; its window was brought to the front.",
              file=sys.stderr)
        return 0
    try:
        return _open(app, args, instance)
    finally:
        instance.release()


def _open(app: QApplication, args, instance: SingleInstance) -> int:
    home = instance.home
    try:
        setup_logging()
        library = Library.open(home)
    except Exception as e:  # (the same sentences as the command line)
        explained = explain(e, instance.home)
        QMessageBox.critical(None, "PhotoCLIP", "PhotoCLIP cannot open its library:\n"
                             + (for_gui(explained) if explained else f"{type(e).__name__}: {e}"))
        return 1
    window = MainWindow(library)
    instance.activated.connect(window.bring_to_front)
    moved = finish_move(library.home)  # the first start after moving the library
    if moved:
        window.statusBar().showMessage(moved, 15000)
    if args.minimized:
        window.showMinimized()
    else:
        window.show()
    log.info("PhotoCLIP %s: window shown on %s", __version__, home)
    repaired = [m for m in (library.notice, *library.settings.problems) if m]
    if repaired:  # a damaged catalog or settings file was repaired: say what happened
        QMessageBox.warning(window, "PhotoCLIP", "\n\n".join(repaired))
    if not library.folders.all() and not args.minimized:
        first_run(library, window)
    return app.exec()
