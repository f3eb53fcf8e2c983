"""Start the desktop app: QApplication, the library, the first-run welcome, the main window."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from photoclip import __version__
from photoclip.config import data_home
from photoclip.core.errors import explain
from photoclip.core.library import Library
from photoclip.gui.dialogs import FirstRunDialog
from photoclip.gui.main_window import MainWindow, app_icon

log = logging.getLogger(__name__)


def setup_logging() -> None:
    home = data_home()
    home.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(home / "photoclip.log", encoding="utf-8",
                                  errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def first_run(library: Library, window: MainWindow) -> None:
    dlg = FirstRunDialog(library, window)
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
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("PhotoCLIP")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.photoclip.PhotoCLIP")
    app.setWindowIcon(app_icon())
    try:
        setup_logging()
        library = Library.open()
    except Exception as e:  # (the same sentences as the command line)
        explained = explain(e, data_home())
        QMessageBox.critical(None, "PhotoCLIP", "PhotoCLIP cannot open its library:\n"
                             + str(explained or f"{type(e).__name__}: {e}"))
        return 1
    window = MainWindow(library)
    if args.minimized:
        window.showMinimized()
    else:
        window.show()
    repaired = [m for m in (library.notice, *library.settings.problems) if m]
    if repaired:  # a damaged catalog or settings file was repaired: say what happened
        QMessageBox.warning(window, "PhotoCLIP", "\n\n".join(repaired))
    if not library.catalog.folders() and not args.minimized:
        first_run(library, window)
    return app.exec()
