"""The search index over a library's lifetime (core/search/index_keeper.py): loaded lazily,
saved when dirty, dropped on a model switch, patched on removal, cancelled on close."""

from __future__ import annotations

import pytest
from conftest import write_photos
from fakes import SameTextEncoder, fake_library


@pytest.fixture
def lib(tmp_path):
    spec = f"local-dir:{tmp_path / 'fake-model'}"
    library = fake_library(tmp_path / "home", spec, SameTextEncoder)
    library.search_index.exact_max = 2  # an HNSW graph (the exact regime saves no graph)
    photos = write_photos(tmp_path / "pics", 5)
    library.folders.add(tmp_path / "pics")
    library.folders.index()
    assert library.search_index.wait_built(30)
    library.ids = [library.folders.photo_id(p) for p in photos]
    # what indexing did to the index: start each test with nothing loaded
    library.search_index.save()
    library.search_index.drop()
    yield library
    library.close()


def files(keeper) -> list[str]:
    return sorted(p.name for p in keeper.dir.glob("index-*"))


def test_loaded_lazily_on_first_use(lib):
    keeper = lib.search_index
    assert keeper.loaded is None
    assert keeper.build_progress() is None and keeper.wait_built(0) is True
    index = keeper.index
    assert keeper.loaded is index and sorted(index.ids().tolist()) == sorted(lib.ids)
    assert keeper.index is index  # once


def test_save_writes_files_only_when_dirty(lib):
    keeper = lib.search_index
    assert keeper.index.mode == "hnsw" and files(keeper)  # loaded from disk, unchanged
    for p in keeper.dir.glob("index-*"):
        p.unlink()
    assert keeper.bytes_on_disk() == 0
    keeper.save()
    assert files(keeper) == []  # nothing changed: nothing written
    keeper.mark_dirty()
    keeper.save()
    assert files(keeper)
    assert keeper.bytes_on_disk() == sum(p.stat().st_size for p in keeper.dir.glob("index-*"))
    assert keeper.bytes_on_disk() > 0


def test_remove_takes_photos_out_and_saves(lib):
    keeper = lib.search_index
    keeper.index  # noqa: B018
    keeper.remove([lib.ids[0], lib.ids[1]])
    assert sorted(keeper.index.ids().tolist()) == sorted(lib.ids[2:])
    keeper.drop()
    reloaded = keeper.index  # (from the saved files, patched to the catalog)
    assert reloaded is not None and keeper.loaded is reloaded


def test_remove_before_loading_does_nothing(lib):
    keeper = lib.search_index
    keeper.remove([lib.ids[0]])
    assert keeper.loaded is None


def test_drop_on_model_switch_only(lib, tmp_path):
    keeper = lib.search_index
    keeper.index  # noqa: B018
    lib.switch_model(lib.model.id)
    assert keeper.loaded is not None  # same model: its vectors stay
    lib.switch_model(f"local-dir:{tmp_path / 'other-model'}",
                     encoder=SameTextEncoder(f"local-dir:{tmp_path / 'other-model'}"))
    assert keeper.loaded is None


class Building:
    """An index still being built in the background."""

    mode = "hnsw"

    def __init__(self):
        self.build_progress = (3, 10)
        self.cancelled = 0

    def cancel_build(self):
        self.cancelled += 1


def test_close_and_drop_cancel_a_build(lib):
    keeper = lib.search_index
    building = Building()
    keeper._index = building
    assert keeper.build_progress() == (3, 10)
    keeper.close()  # not dirty: nothing saved, the build cancelled
    assert building.cancelled == 1
    keeper.drop()
    assert building.cancelled == 2 and keeper.loaded is None


def test_loading_context_loads_in_the_background(lib):
    keeper = lib.search_index
    with keeper.loading():
        pass
    assert keeper.loaded is not None and len(keeper.loaded) == 5
