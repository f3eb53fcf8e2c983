"""The model picker (gui/model_picker.py) in the first run's model panel and in Settings."""

from __future__ import annotations

import pytest
from conftest import write_photos

from photoclip.config import DEFAULT_MODEL
from photoclip.core.library import Library
from photoclip.core.model.choices import CHOICES, by_key
from photoclip.gui.dialogs import ModelPanel
from photoclip.gui.model_picker import OTHER, ModelPicker
from photoclip.gui.settings import SettingsDialog


@pytest.fixture
def new_library(tmp_path):
    """A library on the default model, which is not on this computer (no download here)."""
    lib = Library.open(tmp_path / "home")
    yield lib
    lib.close()


def _desktop_language(monkeypatch, lang):
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", lang)


def test_a_chinese_desktop_is_offered_the_multilingual_model_first_and_told_why(
        qtbot, new_library, monkeypatch):
    _desktop_language(monkeypatch, "zh_CN.UTF-8")
    panel = ModelPanel(new_library)
    qtbot.addWidget(panel)
    multi = by_key("multilingual")
    assert panel.picker.spec() == multi.spec
    assert "Chinese" in panel.picker.details.text() and "100 languages" in \
        panel.picker.details.text()
    assert panel.download_btn.text() == f"Download {multi.title} (about 1.5 GB)"
    assert "suggested" in panel.picker.combo.currentText()


def test_an_english_desktop_is_offered_the_default_and_can_pick_another(qtbot, new_library,
                                                                       monkeypatch):
    _desktop_language(monkeypatch, "en_GB.UTF-8")
    panel = ModelPanel(new_library)
    qtbot.addWidget(panel)
    assert panel.picker.spec() == DEFAULT_MODEL
    assert panel.download_btn.text() == "Download Standard (ViT-B/32) (about 605 MB)"
    panel.picker.combo.setCurrentIndex(panel.picker.combo.findData(by_key("small").spec))
    assert panel.download_btn.text() == "Download Small (MobileCLIP2-S0) (about 300 MB)"


def test_the_picker_lists_the_offered_models_and_other(qtbot):
    picker = ModelPicker(DEFAULT_MODEL, measured=(DEFAULT_MODEL, 30.0))
    qtbot.addWidget(picker)
    specs = [picker.combo.itemData(i) for i in range(picker.combo.count())]
    assert specs == [c.spec for c in CHOICES] + [OTHER]
    assert "30 photos/s on this computer (measured)" in picker.details.text()
    assert picker._other_box.isHidden()
    picker.combo.setCurrentIndex(picker.combo.findData(by_key("large").spec))
    assert "about 2 photos/s" in picker.details.text() and "GPU" in picker.details.text()
    picker.combo.setCurrentIndex(picker.combo.findData(OTHER))
    assert not picker._other_box.isHidden() and picker.spec() == ""
    picker.other.setText("  hf-hub:someone/clip ")
    assert picker.spec() == "hf-hub:someone/clip" and picker.choice() is None
    picker.set_spec("local-dir:/models/mine")
    assert picker.combo.currentData() == OTHER and picker.other.text() == \
        "local-dir:/models/mine"


def test_settings_switch_to_another_model_picked_as_other(qtbot, tmp_path, tiny_spec,
                                                          tiny_xlmr_spec):
    write_photos(tmp_path / "Pictures", 3)
    lib = Library.open(tmp_path / "home", model=tiny_spec, remember_model=True)
    try:
        lib.folders.add(tmp_path / "Pictures")
        lib.folders.index()
        dlg = SettingsDialog(lib)
        qtbot.addWidget(dlg)
        assert dlg.model.spec() == tiny_spec and dlg.model.combo.currentData() == OTHER
        dlg.model.other.setText(tiny_xlmr_spec)
        with qtbot.waitSignal(dlg.finished, timeout=60000):
            dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
        assert dlg.model_changed and lib.model.id == tiny_xlmr_spec
        assert lib.folders.index().encoded == 3  # (what the app's worker then does)
        assert len(lib.search.find("一只猫", limit=5)) == 3
    finally:
        lib.close()
