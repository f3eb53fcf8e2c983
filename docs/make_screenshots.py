"""Take the README screenshots from a real window (run under xvfb-run for a real X display;
with openbox installed, windows get a window manager and are captured with their frames).

    xvfb-run -a -s "-screen 0 1700x1100x24" .venv/bin/python docs/make_screenshots.py

Names of shots after it take only those (of the ones that can be taken alone: duplicates),
e.g. ``docs/make_screenshots.py duplicates``.

Uses the fixture model, ../shared/photos/library and the CIFAR-10 sample, copied into a
temporary folder (the copies get capture dates spread over two years, so browsing shows its
month sections); the data folder is temporary too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOCLIP_SHARED", ROOT.parent / "shared")).resolve()
OUT = ROOT / "docs" / "screenshots"
# The fixture model only knows the ten CIFAR-10 concepts at 32x32 pixels; ships it finds well.
QUERY = "a photo of a ship"
HOME = Path(tempfile.mkdtemp(prefix="photoclip-shots-"))
os.environ["PHOTOCLIP_HOME"] = str(HOME)

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
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


def shoot(app, widget, name: str) -> None:
    """The widget as the screen shows it: with its window frame when a window manager runs."""
    pump(app, 0.3)
    frame = widget.frameGeometry()
    screen = widget.screen() or app.primaryScreen()
    shot = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if shot.isNull() or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        shot = widget.grab()
    shot.save(str(OUT / name))


def window_manager() -> subprocess.Popen | None:
    if not os.environ.get("DISPLAY") or not shutil.which("openbox"):
        return None
    wm = subprocess.Popen(["openbox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return wm


def dated_copy(src: Path, dst: Path) -> Path:
    """The photos of ``src`` copied into ``dst``, dated one every few days back from today."""
    dst.mkdir(parents=True, exist_ok=True)
    start = datetime.now()
    for i, p in enumerate(sorted(src.iterdir())):
        shutil.copy(p, dst / p.name)
        t = (start - timedelta(days=3 * i, hours=i % 7)).timestamp()
        os.utime(dst / p.name, (t, t))
    return dst


def duplicates_shot(app, window, lib, pictures: Path) -> None:
    """The Duplicates dialog on copies of a few of the photos, as a phone backup and
    exports leave them: a byte copy and a smaller re-saved copy of one, a PNG of another, a
    light crop of a third (a near-identical shot)."""
    from PIL import Image

    backup = pictures / "Phone backup"
    backup.mkdir(exist_ok=True)
    horses = Image.open(pictures / "horses.jpg").convert("RGB")
    shutil.copy(pictures / "horses.jpg", backup / "IMG_2041.jpg")
    horses.resize((horses.width // 2, horses.height // 2)).save(
        backup / "horses (1).jpg", quality=70)
    Image.open(pictures / "eagle.jpg").convert("RGB").save(backup / "eagle.png")
    giraffe = Image.open(pictures / "giraffe.jpg").convert("RGB")
    w, h = giraffe.size
    giraffe.crop((int(w * 0.06), 0, w, int(h * 0.97))).save(backup / "giraffe-edit.jpg",
                                                              quality=90)
    lib.folders.index()
    dlg = window.open_duplicates()
    dlg.resize(1240, 700)
    dlg.move(60, 60)
    wait(app, lambda: dlg.scope.findData(str(pictures.resolve())) >= 0)
    dlg.scope.setCurrentIndex(dlg.scope.findData(str(pictures.resolve())))  # (not CIFAR's)
    dlg.similar.setChecked(True)
    wait(app, lambda: not dlg.finding and dlg.list.count() >= 3)
    row = next(i for i in range(dlg.list.count())
               if dlg.list.item(i).text().startswith("The same photo · 3 photos"))
    dlg.list.setCurrentRow(row)
    wait(app, lambda: all(c.facts["sharpness"].text() != "Sharpness —"
                          and not c.image.pixmap().isNull() for c in dlg.card_widgets()))
    pump(app, 1.0)
    shoot(app, dlg, "duplicates.png")
    dlg.close()


def main() -> int:
    configure_threads()
    only = set(sys.argv[1:])  # (shots taken alone: duplicates)
    wm = window_manager()
    app = QApplication(sys.argv[:1])
    from photoclip.gui.dialogs import FirstRunDialog
    from photoclip.gui.main_window import MainWindow, app_icon

    app.setWindowIcon(app_icon())
    OUT.mkdir(parents=True, exist_ok=True)
    pictures = dated_copy(SHARED / "photos" / "library", HOME / "Pictures")
    lib = Library(HOME / "lib", model=f"local-dir:{SHARED / 'models' / 'cifar-clip'}")
    lib.folders.add(pictures)
    lib.folders.index()
    window = MainWindow(lib, watch=False)
    window.resize(1600, 1000)
    window.move(20, 20)
    window.show()
    wait(app, lambda: window.model_ready)
    wait(app, lambda: window.model.shown > 0)
    if only:
        if "duplicates" in only:
            duplicates_shot(app, window, lib, pictures)
        window.close()
        if wm is not None:
            wm.terminate()
        print(f"screenshots in {OUT}")
        return 0
    pump(app, 3.0)  # thumbnails
    shoot(app, window, "grid-1600.png")  # the whole width used, month sections
    window.resize(1024, 700)
    pump(app, 2.0)
    shoot(app, window, "grid-1024.png")  # the filters folded, the search box kept
    window.resize(1400, 900)
    window.search.setText(QUERY)
    wait(app, lambda: window.searching.shown and window.searching.shown.query == QUERY)
    pump(app, 3.0)
    shoot(app, window, "search.png")
    window.find_similar_to_file(str(pictures / "horses.jpg"))
    wait(app, lambda: window.searching.shown and window.searching.shown.similar is not None)
    pump(app, 3.0)
    shoot(app, window, "similar.png")  # the "Similar to" chip
    nonsense = "xkcd flibber"
    window.search.setText(nonsense)
    wait(app, lambda: window.searching.shown and window.searching.shown.query == nonsense)
    pump(app, 1.0)
    shoot(app, window, "no-good-matches.png")
    window.search.setText(QUERY)
    wait(app, lambda: window.searching.shown and window.searching.shown.query == QUERY)
    pump(app, 1.0)
    window.view.setCurrentIndex(window.model.index(0))
    dlg = window.preview(0)
    dlg.resize(1000, 760)
    pump(app, 2.5)
    shoot(app, dlg, "preview.png")
    # driven by the keyboard, as a user does: two photos on, then 100 % (keys go where the
    # focus is: the photo has it, not the tag box)
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_1):
        QTest.keyClick(app.focusWidget() or dlg, key)
        pump(app, 0.8)
    pump(app, 1.5)
    shoot(app, dlg, "preview-keys.png")
    dlg.close()

    # Add tag… on three selected photos: the dialog starts empty and says how many
    from PySide6.QtCore import QItemSelection, QItemSelectionModel

    from photoclip.gui.tagsets import AddTagDialog

    rows = [r for r in range(window.model.rowCount()) if window.model.hit(r) is not None][:3]
    picked = QItemSelection()
    for r in rows:
        picked.select(window.model.index(r), window.model.index(r))
    window.view.selectionModel().select(picked, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    add = AddTagDialog(len(rows), window.tag_panel.tag_names(), window)
    add.show()
    add.field.setText("holi")
    pump(app, 1.0)
    shoot(app, window, "add-tag.png")
    add.reject()

    settings = window.open_settings()  # the help lines under each choice, whole
    pump(app, 1.0)
    shoot(app, settings, "settings.png")
    settings.reject()

    # the settings refusing a model folder whose weights are damaged
    broken = HOME / "downloaded-model"
    broken.mkdir()
    shutil.copy(SHARED / "models" / "cifar-clip" / "open_clip_config.json", broken)
    (broken / "open_clip_model.safetensors").write_bytes(b"\x00not weights" * 64)
    settings = window.open_settings()
    settings.model.setText(f"local-dir:{broken}")
    settings.accept()
    wait(app, lambda: settings.error.isVisible() and "Not saved" in settings.error.text())
    shoot(app, settings, "settings-bad-model.png")
    settings.reject()

    # a USB stick that was unplugged: its photos stay, with a badge
    stick = HOME / "USB stick"
    stick.mkdir()
    for p in sorted((SHARED / "datasets" / "cifar10-sample" / "horse").iterdir())[:12]:
        shutil.copy(p, stick / p.name)
    lib.folders.add(stick)
    lib.folders.index()
    shutil.move(str(stick), str(HOME / "unplugged"))
    lib.folders.index()
    window.refresh_folders()
    window.search.clear()
    wait(app, lambda: window.filter_bar.folder.findData(str(stick)) >= 0)
    window.filter_bar.select_folder(str(stick))
    wait(app, lambda: window.model.shown == 12 and window.model.hits()[0].offline)
    pump(app, 2.5)
    shoot(app, window, "offline.png")
    window.filter_bar.select_folder(None)
    shutil.move(str(HOME / "unplugged"), str(stick))
    lib.folders.index()

    # a category taught from five ship photos (CIFAR-10 sample added to the library)
    cifar = SHARED / "datasets" / "cifar10-sample"
    lib.folders.add(cifar)
    lib.folders.index()
    lib.categories.create("Boats", "a photo of a boat on the water")
    lib.categories.label("Boats", sorted((cifar / "ship").iterdir())[:5], True)
    lib.categories.label("Boats", sorted((cifar / "truck").iterdir())[:2], False)
    panel = window.category_panel
    panel.refresh()
    wait(app, lambda: not panel.busy and panel.count("Boats"))
    window.search.setText("category:Boats")
    wait(app, lambda: window.searching.shown and window.searching.shown.query == "category:Boats")
    pump(app, 3.0)
    shoot(app, window, "categories.png")
    # enough answers for a quality estimate, then the sentence at two thresholds
    lib.categories.label("Boats", sorted((cifar / "ship").iterdir())[5:15], True)
    lib.categories.label("Boats", sorted((cifar / "truck").iterdir())[2:8], False)
    for threshold in (0.5, 0.95):  # the quality sentence describes the threshold in force
        lib.categories.update("Boats", threshold=threshold)
        panel.refresh()
        wait(app, lambda t=threshold: not panel.busy
             and panel.threshold_label.text() == f"Threshold {t:.0%}")
        pump(app, 2.0)
        panel.grab().save(str(OUT / f"category-quality-{round(threshold * 100)}.png"))
    lib.categories.update("Boats", threshold=0.5)
    panel.refresh()
    wait(app, lambda: not panel.busy)
    review = panel.review("Boats")
    review.resize(640, 560)
    wait(app, lambda: review.current() is not None)
    pump(app, 1.0)
    shoot(app, review, "review.png")
    review.close()
    duplicates_shot(app, window, lib, pictures)
    window.close()

    def no_model(*a, **k):
        raise ModelUnavailable("The model ViT-B-32:laion2b_s34b_b79k is not on this computer and "
                               "could not be downloaded (no internet connection?).")

    fresh = Library(HOME / "fresh", encoder_loader=no_model)
    fresh.model.ready()
    first = FirstRunDialog(fresh)
    first.add_folder(str(Path.home()))
    first.show()
    pump(app, 1.0)
    shoot(app, first, "first-run.png")
    if wm is not None:
        wm.terminate()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
