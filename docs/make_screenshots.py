"""Take the README screenshots from a real window (run under xvfb-run for a real X display).

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Uses the fixture model and ../shared/photos/library in a temporary data folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOCLIP_SHARED", ROOT.parent / "shared")).resolve()
OUT = ROOT / "docs" / "screenshots"
# The fixture model only knows the ten CIFAR-10 concepts at 32x32 pixels; ships it finds well.
QUERY = "a photo of a ship"
HOME = Path(tempfile.mkdtemp(prefix="photoclip-shots-"))
os.environ["PHOTOCLIP_HOME"] = str(HOME)

from PySide6.QtWidgets import QApplication  # noqa: E402

from photoclip.app import configure_threads  # noqa: E402
from photoclip.core.errors import ModelUnavailable  # noqa: E402
from photoclip.core.library import Library  # noqa: E402


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait(app, cond, timeout=60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    configure_threads()
    app = QApplication(sys.argv[:1])
    from photoclip.gui.dialogs import FirstRunDialog
    from photoclip.gui.main_window import MainWindow, app_icon

    app.setWindowIcon(app_icon())
    OUT.mkdir(parents=True, exist_ok=True)
    lib = Library(HOME / "lib", model=f"local-dir:{SHARED / 'models' / 'cifar-clip'}")
    lib.add_folder(SHARED / "photos" / "library")
    lib.index_folders()
    window = MainWindow(lib, watch=False)
    window.resize(1400, 900)
    window.show()
    wait(app, lambda: window.model_ready)
    window.search.setText(QUERY)
    wait(app, lambda: window.shown_request and window.shown_request[0] == QUERY)
    pump(app, 3.0)  # thumbnails
    window.grab().save(str(OUT / "search.png"))
    window.view.setCurrentIndex(window.model.index(0))
    dlg = window.preview(0)
    dlg.resize(1000, 760)
    pump(app, 2.5)
    dlg.grab().save(str(OUT / "preview.png"))
    dlg.close()

    # a category taught from five ship photos (CIFAR-10 sample added to the library)
    cifar = SHARED / "datasets" / "cifar10-sample"
    lib.add_folder(cifar)
    lib.index_folders()
    lib.create_category("Boats", "a photo of a boat on the water")
    lib.label_photos("Boats", sorted((cifar / "ship").iterdir())[:5], True)
    lib.label_photos("Boats", sorted((cifar / "truck").iterdir())[:2], False)
    panel = window.category_panel
    panel.refresh()
    wait(app, lambda: not panel.busy and panel.count("Boats"))
    window.search.setText("category:Boats")
    wait(app, lambda: window.shown_request and window.shown_request[0] == "category:Boats")
    pump(app, 3.0)
    window.grab().save(str(OUT / "categories.png"))
    review = panel.review("Boats")
    review.resize(640, 560)
    wait(app, lambda: review.current() is not None)
    pump(app, 1.0)
    review.grab().save(str(OUT / "review.png"))
    review.close()
    window.close()

    def no_model(*a, **k):
        raise ModelUnavailable("The model ViT-B-32:laion2b_s34b_b79k is not on this computer and "
                               "could not be downloaded (no internet connection?).")

    fresh = Library(HOME / "fresh", encoder_loader=no_model)
    fresh.model_ready()
    first = FirstRunDialog(fresh)
    first.add_folder(str(Path.home()))
    first.show()
    pump(app, 1.0)
    first.grab().save(str(OUT / "first-run.png"))
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
