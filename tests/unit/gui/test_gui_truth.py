"""The app tells the truth and fills the screen (issue 11), driven like a user would: settings
that are checked before they apply, one window per library, results and labels that follow the
library, a grid that fills the window and zooms, offline photos, small windows, the preview."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CIFAR_SAMPLE, copy_cifar, label_of, make_library, open_window, write_photos
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from photoclip.core.library import Library
from photoclip.core.model.encoder import Encoder, available_devices, pick_device
from photoclip.gui import status_text
from photoclip.gui.format import duration, human_size, plural

pytest.importorskip("pytestqt")


def labels(window, n=10):
    return [label_of(h.path) for h in window.model.hits()[:n]]


def search_for(qtbot, window, text):
    window.search.setText(text)
    qtbot.waitUntil(lambda: window.searching.shown is not None
                    and window.searching.shown.query == text, timeout=30000)


def real_loader(cifar_encoder):
    """Loads models for real, except the fixture CLIP that is already loaded (seconds saved);
    the device is checked for real too."""
    def load(spec, device="auto", **kw):
        pick_device(device)
        if spec == cifar_encoder.model_id:
            return cifar_encoder
        return Encoder.load(spec, device=device, **kw)
    return load


def broken_model(tmp_path: Path) -> Path:
    """A folder that looks like a model (open_clip_config.json) with damaged weights."""
    from conftest import TINY_CONFIG

    folder = tmp_path / "broken-model"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps(TINY_CONFIG))
    (folder / "open_clip_model.safetensors").write_bytes(b"\x00garbage" * 100)
    return folder


@pytest.fixture
def small_window(qtbot, tmp_path, cifar_encoder, monkeypatch):
    """12 CIFAR photos each of cat, dog and ship; the window's loader loads other models for
    real."""
    home = tmp_path / "home"
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    root = copy_cifar(tmp_path / "Pictures", n=12)
    lib = Library(home, model=cifar_encoder.model_id, encoder_loader=real_loader(cifar_encoder))
    lib.folders.add(root)
    lib.folders.index()
    w = open_window(qtbot, lib)
    yield w
    w.close()


# -- 1, 2: settings ------------------------------------------------------------------------------

def test_settings_refuse_a_model_that_does_not_load_and_search_keeps_working(
        qtbot, small_window, tmp_path, caplog):
    w, lib = small_window, small_window.library
    before = lib.model.id
    dlg = w.open_settings()
    qtbot.waitUntil(lambda: dlg.devices_known, timeout=30000)
    offered = [dlg.device.itemData(i) for i in range(dlg.device.count())]
    assert offered == ["auto", *available_devices()]  # only what this computer has
    dlg.model.set_spec(f"local-dir:{broken_model(tmp_path)}")
    with caplog.at_level(logging.INFO), qtbot.waitSignal(dlg.checked, timeout=60000):
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    assert dlg.isVisible() and dlg.error.isVisible()
    assert dlg.error.text().startswith(f"Not saved — PhotoCLIP keeps using {before}")
    assert "photoclip --model" not in dlg.error.text()  # (no command for a GUI user)
    assert lib.model.id == before
    assert not (lib.home / "settings.json").exists()  # nothing saved
    assert any("cannot be used" in r.getMessage() for r in caplog.records)  # in the log file
    dlg.reject()
    search_for(qtbot, w, "a photo of a ship")
    assert labels(w, 5) == ["ship"] * 5


def test_a_device_this_computer_lacks_is_explained_and_setting_it_back_recovers(
        qtbot, tmp_path, cifar_encoder, monkeypatch):
    if "cuda" in available_devices():
        pytest.skip("this computer has a CUDA GPU")
    home = tmp_path / "home"
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    lib = Library(home, model=cifar_encoder.model_id, encoder_loader=real_loader(cifar_encoder))
    lib.folders.add(copy_cifar(tmp_path / "Pictures", n=4))
    lib.folders.index()
    lib.close()
    (home / "settings.json").write_text(json.dumps({"device": "cuda"}))  # (another computer)

    lib = Library(home, model=cifar_encoder.model_id, encoder_loader=real_loader(cifar_encoder))
    # (no exported text tower: the model must load)
    lib.model.store.text_encoder = lambda spec: None
    from photoclip.gui.main_window import MainWindow

    w = MainWindow(lib, watch=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=30000)
    text = w.model_panel.state.text()
    assert "no NVIDIA GPU" in text and "Settings → Device" in text
    assert w.model_panel.settings_btn.isVisible()
    assert w.search.placeholderText() == w.search.OFF
    dlg = w.open_settings()
    qtbot.waitUntil(lambda: dlg.devices_known, timeout=30000)
    assert dlg.device.currentData() == "cuda"
    assert "not on this computer" in dlg.device.currentText()
    dlg.device.setCurrentIndex(dlg.device.findData("auto"))
    with qtbot.waitSignal(dlg.finished, timeout=60000):
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: w.model_ready, timeout=30000)  # no restart, no model folder
    assert not w.banner.isVisible() and w.search.placeholderText() == w.search.READY
    search_for(qtbot, w, "a photo of a dog")
    assert labels(w, 3).count("dog") >= 2, labels(w, 3)
    w.close()


def test_a_data_folder_set_by_the_environment_is_shown_as_such(qtbot, small_window):
    dlg = small_window.open_settings()
    assert dlg.home.isReadOnly() and "PHOTOCLIP_HOME" in dlg.home_note.text()
    dlg.reject()


def test_settings_move_the_library_and_restart_on_the_new_copy(qtbot, tmp_path, tiny_encoder,
                                                              monkeypatch):
    from photoclip.config import data_home
    from photoclip.gui.main_window import MainWindow

    monkeypatch.delenv("PHOTOCLIP_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    old = data_home()
    lib = make_library(old, tiny_encoder)
    lib.folders.add(write_photos(tmp_path / "Pictures", 6)[0].parent)
    lib.folders.index()
    w = MainWindow(lib, watch=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_ready, timeout=30000)
    restarted = []
    monkeypatch.setattr(w, "restart", lambda: restarted.append(True))
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda *a, **k: None))
    dlg = w.open_settings()
    assert not dlg.home.isReadOnly() and "moves them there" in dlg.home_note.text()
    dlg.home.setText(str(tmp_path / "Elsewhere"))
    dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: bool(restarted), timeout=30000)
    assert data_home() == (tmp_path / "Elsewhere").resolve()
    moved = make_library(data_home(), tiny_encoder)
    assert moved.status()["indexed"] == 6
    moved.close()
    assert (old / "catalog.sqlite3").exists()  # kept until the new copy has opened
    w.close()


# -- 3: one window per library -------------------------------------------------------------------

def test_a_second_launch_raises_the_first_window_instead_of_opening_another(qtbot, tmp_path,
                                                                            monkeypatch):
    from photoclip.gui import application as gui_app
    from photoclip.gui.single import SingleInstance

    home = tmp_path / "home"
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    first = SingleInstance(home)
    assert first.claim()
    opened = []
    monkeypatch.setattr(gui_app, "_open", lambda *a: opened.append(a) or 0)
    with qtbot.waitSignal(first.activated, timeout=10000):
        assert gui_app.run([]) == 0
    assert not opened  # no second window, no second library
    first.release()
    assert gui_app.run([]) == 0 and opened  # the library is free again


def test_a_lock_left_by_a_crashed_app_is_taken_over(qapp, tmp_path):
    from photoclip.gui.single import SingleInstance

    home = tmp_path / "home"
    code = ("import sys, time\nfrom PySide6.QtCore import QCoreApplication\n"
            "app = QCoreApplication([])\nfrom photoclip.gui.single import SingleInstance\n"
            f"s = SingleInstance({str(home)!r})\nprint(s.claim(), flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "True"
        second = SingleInstance(home)
        assert not second.claim()  # held by a live app
    finally:
        proc.kill()  # a crash: the lock file stays behind
        proc.wait()
    assert (home / "app.lock").exists()
    third = SingleInstance(home)
    assert third.claim()
    third.release()


# -- 5, 6, 7, 9: results and text that follow the library --------------------------------------

def test_a_search_made_while_photos_arrive_refreshes_by_itself(qtbot, tmp_path, cifar_encoder,
                                                               monkeypatch):
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(copy_cifar(tmp_path / "Cats", classes=("cat",), n=12))
    lib.folders.index()
    w = open_window(qtbot, lib)
    search_for(qtbot, w, "a photo of a dog")
    assert "dog" not in labels(w, 36)
    kept = w.model.hits()[0].path
    w.view.setCurrentIndex(w.model.index(w.model.row_of(kept)))
    w.add_folder(str(copy_cifar(tmp_path / "Dogs", classes=("dog",), n=12)))
    # nothing typed: the results follow the library as the dogs are indexed
    qtbot.waitUntil(lambda: labels(w, 12).count("dog") >= 9, timeout=60000)
    assert w.search.text() == "a photo of a dog"
    if w.model.row_of(kept) is not None:  # (the selected photo stays selected)
        assert w.model.hit(w.view.current_row()).path == kept
    w.close()


def test_labels_follow_the_library_without_a_restart(qtbot, tmp_path, tiny_encoder,
                                                     monkeypatch):
    """The date filter gets the years of new photos; the status bar and the folder list count
    what is there now."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    lib = make_library(tmp_path / "home", tiny_encoder)
    w = open_window(qtbot, lib)
    periods = lambda: [w.filter_bar.period.itemText(i)  # noqa: E731
                       for i in range(w.filter_bar.period.count())]
    assert "2019" not in periods()
    photos = write_photos(tmp_path / "Old", 5)
    stamp = datetime(2019, 7, 1).timestamp()
    for p in photos:
        os.utime(p, (stamp, stamp))
    w.add_folder(str(tmp_path / "Old"))
    qtbot.waitUntil(lambda: "2019" in periods(), timeout=30000)
    qtbot.waitUntil(lambda: w.state_label.text().startswith("5 photos indexed · up to date"),
                    timeout=30000)
    qtbot.waitUntil(lambda: w.folder_list.count() == 1
                    and w.folder_list.item(0).text() == "Old\n5 of 5 photos indexed",
                    timeout=10000)
    w.close()


def test_the_welcome_follows_the_model_as_it_loads(qtbot, tmp_path, tiny_encoder, monkeypatch):
    import threading

    from photoclip.gui.application import welcome
    from photoclip.gui.main_window import MainWindow

    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    go = threading.Event()

    def slow(*a, **k):
        go.wait(30)
        return tiny_encoder

    lib = Library(tmp_path / "home", model=tiny_encoder.model_id, encoder_loader=slow)
    lib.model.store.text_encoder = lambda spec: None
    w = MainWindow(lib, watch=False)
    qtbot.addWidget(w)
    dlg = welcome(lib, w)
    qtbot.addWidget(dlg)
    assert "loading" in dlg.model_panel.state.text()
    go.set()
    qtbot.waitUntil(lambda: "Model ready" in dlg.model_panel.state.text(), timeout=30000)
    w.close()


def test_status_and_folder_lines_say_what_is_true_now():
    from photoclip.core.indexing.folders import FolderStatus
    from photoclip.core.indexing.worker import WorkerStatus

    counts = {"photos": 1255, "indexed": 0, "failed": 0, "pending": 1255}
    assert status_text.status_line(None, counts, "ready") == \
        "0 of 1,255 photos indexed · 1,255 waiting"
    assert status_text.status_line(None, counts, "none") == \
        "1,255 photos catalogued · 1,255 to index once a model is there"
    assert status_text.status_line(None, {**counts, "indexed": 1, "pending": 0, "photos": 1},
                              "ready") == "1 photo indexed · up to date"
    working = WorkerStatus("working", 96, 1255, rate=12.5, eta=92.7, root="/p/A",
                           job_done=96, job_total=1000)  # (folder A first, then 255 more)
    assert status_text.status_line(working, counts, "ready") == \
        "Indexing 96 of 1,255 photos · 12.5 per second · about 2 min left"
    new = FolderStatus("/p/A", True, 96, 96, 0, None)
    assert status_text.folder_line(new, working) == "A\nindexing — 96 of 1,000"
    assert status_text.folder_line(FolderStatus("/p/B", True, 0, 0, 0, None), working) == \
        "B\nlooking for photos…"
    assert status_text.folder_line(FolderStatus("/p/C", False, 3, 3, 0, 1.0), None) == \
        "C\n3 photos · offline (not reachable now)"


def test_an_empty_grid_says_why():
    from photoclip.core.indexing.folders import FolderStatus
    from photoclip.core.indexing.worker import WorkerStatus
    from photoclip.core.search.searcher import Filters
    from photoclip.gui.search_controller import SearchRequest

    def why(query="", similar=None, filters=None, hidden=0, error=None, online=True,
            counts=None, worker=None, model="ready", folders=True):
        filters = filters or Filters()
        folder = [FolderStatus("/p/A", online, 10, 0, 0, 1.0)] if folders else []
        return status_text.empty_reason(SearchRequest(query, filters, similar), hidden=hidden,
                                        error=error, folders=folder, worker=worker, model=model,
                                   counts=counts or {"photos": 10, "indexed": 10, "failed": 0,
                                                     "pending": 0})

    assert why(folders=False).startswith("No photo folders yet")
    assert why("dog", hidden=40) == "No good matches for “dog”."
    assert why(similar=(3, "x.jpg"), hidden=5) == "No good matches for this photo."
    none_yet = {"photos": 10, "indexed": 0, "failed": 0, "pending": 10}
    indexing = WorkerStatus("working", 4, 10)
    assert why("dog", counts=none_yet, worker=indexing) == \
        "Not indexed yet: indexing — 4 of 10. Results appear as photos are indexed."
    assert why("dog", counts=none_yet).startswith("Not indexed yet: search works once")
    assert why("dog", model="none").startswith("Search turns on when a model is ready")
    assert why(online=False).startswith("Your photo folders are not reachable now")
    assert why(counts={"photos": 0, "indexed": 0, "failed": 0, "pending": 0},
               worker=WorkerStatus("working", 0, 300)) == "Reading your photos — 0 of 300."
    assert why("dog", filters=Filters(folder="/p/A")) == "No photos match “dog” with these filters."
    assert why(error="Nothing to search for in “-”.") == "Nothing to search for in “-”."


def test_numbers_sizes_and_durations_read_right():
    assert human_size(937) == "937 bytes" and human_size(1) == "1 byte"
    assert human_size(1536) == "1.5 KB" and human_size(5 * 2**20) == "5.0 MB"
    assert human_size(300 * 2**30) == "300 GB"
    assert plural(1, "photo") == "1 photo" and plural(1255, "photo") == "1,255 photos"
    assert plural(2, "weaker match", "weaker matches") == "2 weaker matches"
    assert duration(5) == "5 s" and duration(150) == "3 min" and duration(3900) == "1 h 05 min"


def test_no_good_matches_says_so_and_offers_the_closest_anyway(qtbot, small_window):
    w = small_window
    search_for(qtbot, w, "a photo of an airplane")  # no airplanes among cats, dogs, ships
    assert w.model.shown == 0 and w.results.empty.isVisible()
    assert w.results.empty_text.text() == "No good matches for “a photo of an airplane”."
    assert w.results.empty_action.isVisible()
    w.results.empty_action.click()
    assert w.model.shown > 0 and w.view.isVisible()


# -- 10, 11: the grid ------------------------------------------------------------------------

def test_the_grid_fills_the_width_and_zooms_live(qtbot, small_window):
    w = small_window
    w.resize(1400, 900)
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    view = w.view

    def fills():  # whole cells across the width: less than a pixel per column left over
        first = view.visualRect(w.model.index(w.model.first_photo_row()))
        left = view.viewport().width() - 1 - view.columns() * first.width()
        return 0 <= left < view.columns()

    qtbot.waitUntil(fills, timeout=5000)
    cell = view.cell
    QApplication.sendEvent(view.viewport(), QWheelEvent(
        QPointF(50, 50), QPointF(view.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase, False))
    assert view.cell > cell and w.zoom.value() == view.zoom  # one column fewer, at once
    qtbot.waitUntil(fills, timeout=5000)
    w.zoom.setValue(96)  # the slider: small thumbnails, many columns
    assert view.zoom == 96 and view.cell < cell
    qtbot.waitUntil(fills, timeout=5000)
    columns = view.columns()
    qtbot.keyClick(view, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert view.columns() == columns - 1
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.columns() == columns


def test_small_photos_fill_their_cell(qtbot, small_window):
    w = small_window  # CIFAR photos are 32 × 32; cells are 96 px and more
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    row = w.model.first_photo_row()
    qtbot.waitUntil(lambda: w.thumbs.get(w.model.hit(row).path) is not None, timeout=10000)
    w.view.viewport().repaint()
    image = w.view.viewport().grab().toImage()
    r = w.view.visualRect(w.model.index(row))
    inset = 10  # inside the cell, well outside a 32 px photo drawn at its own size
    corner = image.pixelColor(r.left() + inset, r.top() + inset)
    empty = w.view.palette().color(w.view.palette().ColorRole.AlternateBase)
    assert corner != empty, "the photo is drawn small in the middle of its cell"


def test_browsing_shows_month_sections(qtbot, tmp_path, tiny_encoder, monkeypatch):
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    photos = write_photos(tmp_path / "Pictures", 6)
    for p, month in zip(photos, (1, 1, 3, 3, 3, 7), strict=True):
        t = datetime(2024, month, 10).timestamp()
        os.utime(p, (t, t))
    lib = make_library(tmp_path / "home", tiny_encoder)
    lib.folders.add(tmp_path / "Pictures")
    lib.folders.index()
    w = open_window(qtbot, lib)
    qtbot.waitUntil(lambda: w.model.shown == 6, timeout=30000)
    from photoclip.gui.results_grid import HeaderRole

    rows = [w.model.data(w.model.index(r), HeaderRole) or label_of(w.model.hit(r).path)
            for r in range(w.model.rowCount())]
    assert rows == ["July 2024", "Pictures", "March 2024", "Pictures", "Pictures", "Pictures",
                    "January 2024", "Pictures", "Pictures"]
    qtbot.waitUntil(lambda: w.view.visualRect(w.model.index(2)).width() > 0, timeout=5000)
    header = w.view.visualRect(w.model.index(2))
    after = w.view.visualRect(w.model.index(3))
    assert header.width() >= w.view.viewport().width() - 2  # a line of its own
    assert after.left() == 0 and after.top() >= header.bottom()
    # keys and the preview step over the headers
    dlg = w.preview(1)
    qtbot.keyClick(dlg, Qt.Key.Key_Right)
    assert dlg.row == 3
    dlg.close()
    w.close()


def test_a_pasted_image_is_named_as_such_and_its_file_removed_on_exit(qtbot, small_window):
    w = small_window
    image = QImage(str(next((CIFAR_SAMPLE / "ship").glob("*.jpg"))))
    QApplication.clipboard().setImage(image)
    w.search.setFocus()
    qtbot.keyClick(w.search, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.searching.shown is not None and w.searching.shown.similar is not None,
                    timeout=30000)
    assert w.results.chip.isVisible() and "pasted image" in w.results.chip.label.text()
    temp = w.search._pasted
    assert temp is not None and os.path.exists(temp)
    assert labels(w, 3).count("ship") >= 2
    w.close()
    assert not os.path.exists(temp)


# -- 12: offline photos --------------------------------------------------------------------------

def test_offline_photos_carry_a_badge_and_the_preview_explains(qtbot, tmp_path, tiny_encoder,
                                                              monkeypatch):
    from photoclip.gui.results_grid import OfflineRole

    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    drive = tmp_path / "USB"
    write_photos(drive, 3)
    lib = make_library(tmp_path / "home", tiny_encoder)
    lib.folders.add(drive)
    lib.folders.index()
    shutil.move(str(drive), str(tmp_path / "unplugged"))
    lib.folders.index()  # (what the worker does when it finds the folder gone)
    w = open_window(qtbot, lib)
    qtbot.waitUntil(lambda: w.model.shown == 3, timeout=30000)
    row = w.model.first_photo_row()
    assert w.model.data(w.model.index(row), OfflineRole) is True
    assert "not reachable" in w.model.data(w.model.index(row), Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: w.folder_list.count() == 1
                    and "offline" in w.folder_list.item(0).text(), timeout=10000)
    dlg = w.preview(row)
    assert dlg.canvas.pixmap is None and "not reachable now" in dlg.canvas.message
    dlg.close()
    w.close()


# -- 13, 14: small windows, keys, messages -----------------------------------------------------

def test_a_small_window_keeps_the_search_box_and_the_size_is_remembered(qtbot, small_window,
                                                                         cifar_encoder):
    from photoclip.gui.main_window import MainWindow

    w = small_window
    w.resize(1024, 700)
    qtbot.waitUntil(lambda: w.filter_bar.folded, timeout=5000)
    assert w.search.width() >= 400 and w.filter_bar.button.isVisible()
    w.filter_bar.button.click()
    assert w.filter_bar.popup.isVisible() and w.filter_bar.folder.isVisible()
    w.filter_bar.popup.hide()
    w.resize(1500, 900)
    qtbot.waitUntil(lambda: not w.filter_bar.folded, timeout=5000)
    assert w.filter_bar.slider.isVisible()
    w.resize(761, 555)  # (within the offscreen screen: Qt keeps a restored window on it)
    qtbot.wait(50)
    lib = w.library
    w.close()
    again = MainWindow(Library(lib.home, model=cifar_encoder.model_id,
                               encoder_loader=lambda *a, **k: cifar_encoder), watch=False)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (761, 555)
    again.close()


def test_ctrl_q_quits_and_open_without_a_viewer_says_why(qtbot, small_window, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    w = small_window
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    w.view.setFocus()
    w.view.setCurrentIndex(w.model.index(w.model.first_photo_row()))
    qtbot.keyClick(w.view, Qt.Key.Key_Return)
    assert "No application on this computer is set to open image/jpeg files" in \
        w.statusBar().currentMessage()
    qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)


def test_the_welcome_removes_a_folder_and_asks_before_discarding(qtbot, tmp_path, tiny_encoder,
                                                                 monkeypatch):
    from photoclip.gui.dialogs import FirstRunDialog

    lib = make_library(tmp_path / "home", tiny_encoder)
    dlg = FirstRunDialog(lib)
    qtbot.addWidget(dlg)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        dlg.add_folder(str(tmp_path / name))
    dlg.list.setCurrentRow(0)
    dlg.remove_btn.click()
    assert dlg.folders == [str(tmp_path / "b")] and dlg.list.count() == 1
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel))
    dlg.show()
    dlg.reject()
    assert asked and dlg.isVisible()  # kept open: the choice is not lost
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    dlg.reject()
    assert not dlg.isVisible()


def test_gui_messages_never_ask_for_a_command(tmp_path):
    from photoclip.core.errors import explain, for_gui

    lib = Library(tmp_path / "home", model=f"local-dir:{tmp_path / 'nothing'}")
    assert not lib.model.ready()
    assert "photoclip" not in lib.model.problem and "photoclip --model" in lib.model.error
    import sqlite3

    err = explain(sqlite3.DatabaseError("database disk image is malformed"), tmp_path)
    assert "photoclip doctor" in str(err) and "photoclip" not in for_gui(err)
    lib.close()
