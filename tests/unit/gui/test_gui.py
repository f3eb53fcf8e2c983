"""The desktop app, driven like a user would: a real widget tree (pytest-qt, offscreen)."""

from __future__ import annotations

import math
import os
import time

import pytest
from conftest import (
    label_of,
    make_library,
    write_photos,
)
from driving import click_entry, right_click
from PySide6.QtCore import Qt

from photoclip.core.errors import ModelUnavailable
from photoclip.core.library import Library

pytest.importorskip("pytestqt")


def first_labels(window, n=10):
    return [label_of(h.path) for h in window.model.hits()[:n]]


def type_query(qtbot, window, text):
    window.search.clear()
    qtbot.keyClicks(window.search, text)
    qtbot.waitUntil(lambda: (shown := window.searching.shown) is not None
                    and shown.query == text and shown.similar is None, timeout=30000)


def test_typing_a_query_shows_dogs_first(qtbot, cifar_window):
    w = cifar_window
    type_query(qtbot, w, "a photo of a dog")
    assert w.results.caption.text().startswith("Best matches for “a photo of a dog” — ")
    assert first_labels(w).count("dog") >= 8, first_labels(w)
    hit = w.model.hit(0)
    assert "score" in w.model.data(w.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert not math.isnan(hit.score)


def test_find_similar_on_a_cat_shows_cats(qtbot, cifar_window):
    w = cifar_window
    type_query(qtbot, w, "cat")
    row = next(r for r in range(w.model.rowCount()) if label_of(w.model.hit(r).path) == "cat")
    w.find_similar(row)
    qtbot.waitUntil(lambda: w.searching.shown.similar is not None, timeout=30000)
    assert w.results.caption.text().startswith("Photos like it — ")
    assert w.results.chip.isVisible() and "Similar to:" in w.results.chip.label.text()
    assert first_labels(w).count("cat") >= 7, first_labels(w)
    # Esc (or the chip's ✕) goes back to the search before: "cat"
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.searching.shown.similar is None, timeout=30000)
    assert not w.results.chip.isVisible() and w.searching.shown.query == "cat"
    assert w.search.text() == "cat" and w.model.shown < 1000


def test_leaving_a_photo_search_goes_back_to_the_search_before(qtbot, copy_window):
    """✕ on "Similar to" (or Esc) goes back to the search the photo was found in: its words,
    filters and the photo it was at; from a photo found by a photo, to that photo search."""
    from PySide6.QtWidgets import QToolButton

    w = copy_window
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    type_query(qtbot, w, "a photo of a ship")
    ships = w.searching.shown
    assert ships.filters.after is None
    row = 2
    w.view.setCurrentIndex(w.model.index(row))
    first = w.model.hit(row)
    right_click(w, row, lambda menu: click_entry(qtbot, menu, "Find similar"))
    qtbot.waitUntil(lambda: (s := w.searching.shown).similar is not None
                    and s.similar[0] == first.id, timeout=30000)
    assert w.search.text() == "" and w.results.chip.isVisible()
    w.filter_bar.period.setCurrentIndex(2)  # (the past year: filters changed meanwhile)
    qtbot.waitUntil(lambda: w.searching.shown.filters.after is not None, timeout=30000)
    w.filter_bar.period.setCurrentIndex(0)
    qtbot.waitUntil(lambda: w.searching.shown.filters.after is None, timeout=30000)
    second = w.model.hit(w.model.first_photo_row() + 1)
    right_click(w, w.model.row_of(second.path),
                lambda menu: click_entry(qtbot, menu, "Find similar"))
    qtbot.waitUntil(lambda: w.searching.shown.similar[0] == second.id, timeout=30000)
    w.filter_bar.period.setCurrentIndex(2)
    qtbot.waitUntil(lambda: w.searching.shown.filters.after is not None, timeout=30000)

    # ✕: back to the first photo search, with the filters it had
    close = w.results.chip.findChild(QToolButton)
    assert "Back to the search before" in close.toolTip()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.searching.shown.similar[0] == first.id, timeout=30000)
    assert w.searching.shown.filters.after is None and w.filter_bar.period.currentIndex() == 0
    assert w.results.chip.isVisible() and first.path.endswith(
        w.results.chip.label.text().split("<b>")[1].split("</b>")[0])
    # Esc: back to the words searched, at the photo the search by photo started from
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.searching.shown.similar is None, timeout=30000)
    assert w.searching.shown == ships and w.search.text() == "a photo of a ship"
    assert not w.results.chip.isVisible()
    assert w.model.hit(w.view.current_row()).path == first.path
    # Esc again: the words go, the whole library shows
    qtbot.keyClick(w.view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.searching.shown.browsing, timeout=30000)
    assert w.search.text() == "" and w.model.shown == 36


def test_results_end_where_good_matches_end_and_weaker_ones_are_a_click_away(qtbot,
                                                                             cifar_window):
    from photoclip.core.search import relevance

    w = cifar_window
    type_query(qtbot, w, "a photo of a ship")
    good = w.model.shown
    print(f"ship: {good} good matches of {w.model.total}: {first_labels(w, good).count('ship')}"
          " ships")
    assert 20 < good < w.model.total == 500  # a cut-off, not 500 "best matches"
    assert first_labels(w, good).count("ship") >= 0.6 * good
    assert all(h.relevance >= relevance.GOOD for h in w.model.hits())
    assert w.results.caption.text().endswith(f"— {good:,} photos")  # counts what is shown
    assert w.results.weaker_btn.isVisible()
    more = int(w.results.weaker_btn.text().split()[1].replace(",", ""))
    w.results.weaker_btn.click()
    assert w.model.shown == good + more
    assert w.results.caption.text().endswith(f"— {good + more:,} photos")
    assert w.filter_bar.slider_label.text() == "Weaker too"
    w.results.weaker_btn.click()  # then every result
    assert w.model.shown == 500 and w.results.weaker_btn.text() == "Show 500 more"
    type_query(qtbot, w, "a photo of a horse")  # a new search: good matches again
    assert w.model.shown < 500 and w.filter_bar.slider_label.text() == "Good matches"


def test_a_lone_minus_is_not_a_search(qtbot, cifar_window):
    w = cifar_window
    type_query(qtbot, w, "-")
    assert w.model.shown == 0 and w.results.empty.isVisible()
    assert "Nothing to search for" in w.results.empty_text.text()
    assert "photoclip" not in w.results.empty_text.text()


def test_preview_opens_and_steps_with_arrow_keys(qtbot, cifar_window):
    w = cifar_window
    type_query(qtbot, w, "horse")
    w.view.setFocus()
    w.view.setCurrentIndex(w.model.index(0))
    qtbot.keyClick(w.view, Qt.Key.Key_Space)
    dlg = w.photos.dialog
    assert dlg.isVisible() and dlg.row == 0
    assert w.model.hit(0).path.endswith(dlg.info.text().split()[0])
    qtbot.keyClick(dlg, Qt.Key.Key_Right)
    qtbot.keyClick(dlg, Qt.Key.Key_Right)
    assert dlg.row == 2 and w.view.current_row() == 2
    qtbot.keyClick(dlg, Qt.Key.Key_Left)
    assert dlg.row == 1
    qtbot.waitUntil(lambda: dlg.canvas.pixmap is not None and not dlg.canvas.pixmap.isNull(),
                    timeout=10000)
    # End / Home: the last and first photo shown
    qtbot.keyClick(dlg, Qt.Key.Key_End)
    assert dlg.row == w.model.row_of(w.model.hits()[-1].path)
    assert dlg.windowTitle().endswith(f"{w.model.shown} of {w.model.shown}")
    qtbot.keyClick(dlg, Qt.Key.Key_Home)
    assert dlg.row == w.model.first_photo_row()
    # zoom: fit, 100 % (the photo's own pixels), the wheel zooms in, the photo pans
    qtbot.waitUntil(lambda: dlg.canvas.pixmap is not None and not dlg.canvas.pixmap.isNull(),
                    timeout=10000)
    assert dlg.canvas.fit and "(fit)" in dlg.zoom_label.text()
    qtbot.keyClick(dlg, Qt.Key.Key_1)
    assert not dlg.canvas.fit and dlg.zoom_label.text() == "100 %"
    before = dlg.canvas.percent()
    qtbot.keyClick(dlg, Qt.Key.Key_Plus)
    assert dlg.canvas.percent() > before
    qtbot.keyClick(dlg, Qt.Key.Key_0)
    assert dlg.canvas.fit
    qtbot.keyClick(dlg, Qt.Key.Key_F)
    qtbot.waitUntil(dlg.isFullScreen, timeout=5000)
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)  # leaves full screen first
    qtbot.waitUntil(lambda: not dlg.isFullScreen(), timeout=5000)
    assert dlg.isVisible()
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert not dlg.isVisible()


def test_empty_search_browses_the_library_and_date_filter_applies(qtbot, cifar_window):
    w = cifar_window
    type_query(qtbot, w, "")
    assert w.model.shown == 1000 and "All photos — 1,000 photos" in w.results.caption.text()


def test_first_run_without_a_model_opens_and_explains(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "fresh"))

    def no_model(*a, **k):
        raise ModelUnavailable("The model ViT-B-32:laion2b_s34b_b79k is not on this computer "
                               "and could not be downloaded (no internet connection?).")

    lib = Library(tmp_path / "fresh", encoder_loader=no_model)
    from photoclip.gui.dialogs import FirstRunDialog
    from photoclip.gui.main_window import MainWindow

    window = MainWindow(lib, watch=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20000)
    assert "No model yet" in window.model_panel.state.text()
    assert "could not be downloaded" in window.model_panel.state.text()
    qtbot.waitUntil(lambda: "No photo folders yet" in window.results.empty_text.text(),
                    timeout=20000)
    # folders are still catalogued without a model
    folder = tmp_path / "pics"
    write_photos(folder, 5)
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: lib.status()["photos"] == 5, timeout=20000)
    qtbot.waitUntil(lambda: window.model.shown == 5, timeout=20000)
    dlg = FirstRunDialog(lib, window)
    qtbot.addWidget(dlg)
    dlg.add_folder(str(folder))
    assert dlg.list.count() == 1 and "No model yet" in dlg.model_panel.state.text()
    window.close()


@pytest.mark.timing
def test_gui_never_stalls_while_the_worker_indexes(qtbot, tmp_path, tiny_encoder, monkeypatch):
    from photoclip.gui.lag import LagProbe
    from photoclip.gui.main_window import MainWindow

    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "lag-home"))
    lib = make_library(tmp_path / "lag-home", tiny_encoder)
    folder = tmp_path / "incoming"
    write_photos(folder, 300, size=(640, 480))
    window = MainWindow(lib, watch=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=20000)
    probe = LagProbe()
    probe.start()
    window.add_folder(str(folder))
    deadline = time.monotonic() + 120
    searches = 0
    while lib.status()["indexed"] < 300 and time.monotonic() < deadline:
        window.search.setText(f"photo {searches}")  # searching while indexing
        searches += 1
        qtbot.wait(200)
    qtbot.waitUntil(lambda: window.bridge.worker.wait_idle(0), timeout=30000)
    probe.stop()
    assert lib.status()["indexed"] == 300
    print(f"max GUI lag {probe.max_lag * 1000:.1f} ms over {probe.samples} samples")
    assert probe.samples > 20, "the probe ran while the worker indexed"
    assert probe.max_lag < 0.1, f"GUI stalled {probe.max_lag * 1000:.0f} ms"
    window.close()


def test_launcher_writes_a_valid_desktop_file(tmp_path, monkeypatch):
    import shutil
    import subprocess

    from photoclip import desktop

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    path = desktop.install_launcher("/usr/bin/python3")
    assert path == tmp_path / ".local/share/applications/io.photoclip.PhotoCLIP.desktop"
    text = path.read_text()
    assert "Exec=\"/usr/bin/python3\" -m photoclip gui" in text
    icons = tmp_path / ".local/share/icons/hicolor"
    assert (icons / "256x256/apps/io.photoclip.PhotoCLIP.png").exists()
    desktop.set_autostart(True, "/usr/bin/python3")
    auto = tmp_path / ".config/autostart/io.photoclip.PhotoCLIP.desktop"
    assert auto.exists()
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    for f in (path, auto):
        proc = subprocess.run([validator, str(f)], capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    desktop.set_autostart(False)
    assert not auto.exists()


def test_installer_script_installs_into_a_temp_home(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "installer" / "install-linux.sh"
    env = {**os.environ, "HOME": str(tmp_path), "PHOTOCLIP_PYTHON": sys.executable}
    env.pop("XDG_DATA_HOME", None)
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".local/share/applications/io.photoclip.PhotoCLIP.desktop").exists()


def test_signals_do_not_leak_references(qtbot):
    """PySide6 6.12.0 drops a reference to False on every emit: on Python < 3.12 the app then
    aborts after a few thousand signals (found by bench/bench_gui.py). Guard the pin."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        ping = Signal(str)

    e = Emitter()
    e.ping.connect(lambda _s: None)
    before = sys.getrefcount(False), sys.getrefcount(True)
    for _ in range(500):
        e.ping.emit("x")
    after = sys.getrefcount(False), sys.getrefcount(True)
    assert after[0] >= before[0] - 5 and after[1] >= before[1] - 5, (before, after)


def test_app_starts_from_the_entry_point_and_shows_the_welcome(qtbot, tmp_path, monkeypatch):
    """What a double-click runs: app.run() with an empty data folder and no model."""
    from PySide6.QtWidgets import QApplication

    from photoclip.gui import application as gui_app
    from photoclip.gui.dialogs import FirstRunDialog

    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PHOTOCLIP_MODEL", f"local-dir:{tmp_path / 'no-model-here'}")
    shown = []

    def fake_exec(dialog):
        shown.append(dialog.windowTitle())
        return 0  # the user closes the welcome

    monkeypatch.setattr(FirstRunDialog, "exec", fake_exec)
    windows = []

    def fake_app_exec():
        windows.extend(w for w in QApplication.topLevelWidgets() if w.isVisible())
        main = next(w for w in windows if w.windowTitle() == "PhotoCLIP")
        qtbot.waitUntil(lambda: main.banner.isVisible(), timeout=20000)
        assert "does not exist" in main.model_panel.state.text()
        main.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_app_exec))
    assert gui_app.run([]) == 0
    assert shown == ["Welcome to PhotoCLIP"]
    assert (tmp_path / "home" / "photoclip.log").exists()


def test_show_in_folder_falls_back_to_opening_the_folder(qtbot, tmp_path, monkeypatch):
    """Without a freedesktop file manager on the session bus (as here), the folder opens."""
    from PySide6.QtGui import QDesktopServices

    from photoclip.gui import desktop_actions

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url) or True))
    photo = write_photos(tmp_path / "album", 1)[0]
    assert desktop_actions.show_in_folder(str(photo)) is None
    assert [u.toLocalFile() for u in opened] == [str(tmp_path / "album")]


def test_settings_offer_the_fastest_path_and_say_which_one_runs(qtbot, cifar_window):
    from photoclip.config import Settings
    from photoclip.gui.settings import SettingsDialog

    lib = cifar_window.library
    dlg = SettingsDialog(lib, cifar_window)
    qtbot.addWidget(dlg)
    labels = [dlg.precision.itemText(i) for i in range(dlg.precision.count())]
    assert dlg.precision.currentData() == "auto"
    assert any(t.startswith("int8") and "fastest" in t for t in labels)
    # what runs, and why (measured on this machine: fp32 on AVX2, bf16 where it is native)
    qtbot.waitUntil(lambda: dlg.precision_now.text() != "", timeout=10000)  # (read off-thread)
    assert dlg.precision_now.text().startswith("Now: ") and "CPU" in dlg.precision_now.text()
    dlg.precision.setCurrentIndex(dlg.precision.findData("int8"))
    with qtbot.waitSignal(dlg.finished, timeout=60000):
        dlg.accept()  # (tried first, then saved)
    assert Settings.load(lib.home).precision == "int8"
