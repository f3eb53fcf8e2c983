"""The search index over a library's lifetime (core/search/index_keeper.py): loaded lazily,
saved when dirty, dropped on a model switch, patched on removal, cancelled on close."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import write_photos

from photoclip.core.indexing.imageio import Preprocess
from photoclip.core.library import Library


class FakeEncoder:
    dim = 16
    logit_scale = 100.0
    device = "cpu"
    precision = "fp32"
    choice = SimpleNamespace(reason="fake")

    def __init__(self, model_id: str):
        self.model_id = model_id
        self.preprocess = Preprocess(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
        self._proj = np.random.default_rng(0).normal(size=(3 * 16 * 16, self.dim))

    def encode_images(self, batch):
        v = batch.reshape(len(batch), -1) @ self._proj
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def encode_texts(self, texts):
        return np.tile(np.eye(self.dim, dtype=np.float32)[:1], (len(texts), 1))


@pytest.fixture
def lib(tmp_path):
    spec = f"local-dir:{tmp_path / 'fake-model'}"
    enc = FakeEncoder(spec)
    library = Library(tmp_path / "home", model=spec, encoder_loader=lambda *a, **k: enc)
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
                     encoder=FakeEncoder(f"local-dir:{tmp_path / 'other-model'}"))
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
