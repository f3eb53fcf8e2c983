"""The Library (core/library.py): the services composed over a fresh folder, its status, a
model switch, closing, and the doctor's check and repair. A fake encoder stands in for CLIP."""

from __future__ import annotations

import pytest
from conftest import write_photos
from fakes import SameTextEncoder, fake_library

from photoclip.core.library import CATALOG_FILE, check_library, repair_library


def open_lib(home, spec):
    return fake_library(home, spec, SameTextEncoder)


@pytest.fixture
def spec(tmp_path):
    return f"local-dir:{tmp_path / 'fake-model'}"


def test_a_fresh_folder_opens_with_every_service(tmp_path, spec):
    lib = open_lib(tmp_path / "new" / "home", spec)
    try:
        assert (tmp_path / "new" / "home" / CATALOG_FILE).is_file()
        assert lib.notice is None
        assert lib.folders.list() == [] and lib.tags.sets() == [] == lib.categories.all()
        assert lib.search.browse() == []
        assert lib.model.id == spec and lib.model.loaded is None
    finally:
        lib.close()


def test_status_keys_and_values(tmp_path, spec):
    lib = open_lib(tmp_path / "home", spec)
    try:
        st = lib.status()
        assert {"home", "model", "model_state", "model_error", "folders", "photos", "indexed",
                "index", "fast_search"} <= set(st)
        assert st["model_state"] == "not loaded" and "device" not in st
        write_photos(tmp_path / "pics", 3)
        lib.folders.add(tmp_path / "pics")
        lib.folders.index()
        st = lib.status(load_model=True)
        assert st["model_state"] == "ready" and st["device"] == "cpu"
        assert st["photos"] == st["indexed"] == st["index"]["vectors"] == 3
        assert st["index"]["mode"] == "exact"
        assert [f["path"] for f in st["folders"]] == [str(tmp_path / "pics")]
    finally:
        lib.close()


def test_switch_model_drops_the_index_only_when_the_model_changes(tmp_path, spec):
    lib = open_lib(tmp_path / "home", spec)
    try:
        write_photos(tmp_path / "pics", 3)
        lib.folders.add(tmp_path / "pics")
        lib.folders.index()
        index = lib.search_index.index
        lib.switch_model(spec, precision="fp32")
        assert lib.search_index.loaded is index
        other = f"local-dir:{tmp_path / 'other'}"
        lib.switch_model(other, encoder=SameTextEncoder(other))
        assert lib.search_index.loaded is None
        assert lib.model.id == other and lib.status()["indexed"] == 0  # re-encoded next
    finally:
        lib.close()


def test_close_releases_the_library(tmp_path, spec):
    home = tmp_path / "home"
    first = open_lib(home, spec)
    first.folders.add(write_photos(tmp_path / "pics", 1)[0].parent)
    first.close()
    second = open_lib(home, spec)
    try:
        assert [f.path for f in second.folders.list()] == [str(tmp_path / "pics")]
    finally:
        second.close()
    assert repair_library(home) is None  # (a repair needs the library to itself: it got it)


def test_a_sound_catalog_checks_clean_and_needs_no_repair(tmp_path, spec):
    home = tmp_path / "home"
    lib = open_lib(home, spec)
    lib.close()
    findings = check_library(home)
    by_what = {f.what: f for f in findings}
    assert by_what["catalog"].ok and by_what["catalog"].detail == "catalog.sqlite3 is sound"
    assert by_what["settings"].ok
    assert not by_what["backups"].ok  # a fresh library has no snapshot yet
    assert repair_library(home) is None
