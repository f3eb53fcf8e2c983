"""The search index over a library's lifetime (core/search/index_keeper.py): loaded lazily,
saved when dirty, dropped on a model switch, patched on removal, cancelled on close."""

from __future__ import annotations

import time

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


def graph_of(keeper):
    """The index once the graph is in use (it loads in the background: the vector file is
    scanned meanwhile)."""
    keeper.index  # noqa: B018
    assert keeper.wait_built(30)
    return keeper.index


def test_loaded_lazily_on_first_use_in_the_background(lib):
    keeper = lib.search_index
    assert keeper.loaded is None
    assert keeper.build_progress() is None and keeper.wait_built(0) is True
    first = keeper.index
    assert first.mode == "scan"  # answers at once, while the graph loads
    assert sorted(first.ids().tolist()) == sorted(lib.ids)
    assert keeper.wait_built(30) and keeper.build_progress() is None  # (loaded, not built)
    index = keeper.index
    assert index.mode == "hnsw" and keeper.loaded is index
    assert sorted(index.ids().tolist()) == sorted(lib.ids)
    assert keeper.index is index  # once


def test_save_writes_files_only_when_dirty(lib):
    keeper = lib.search_index
    assert graph_of(keeper).mode == "hnsw" and files(keeper)  # loaded from disk, unchanged
    for p in keeper.dir.glob("index-*"):
        p.unlink()
    vector_file = keeper.vector_file.bytes_on_disk()
    assert keeper.bytes_on_disk() == vector_file  # (the vector file: the categories read it)
    keeper.save()
    assert files(keeper) == []  # nothing changed: nothing written
    keeper.mark_dirty()
    keeper.save()
    assert files(keeper)
    graph = sum(p.stat().st_size for p in keeper.dir.glob("index-*"))
    assert graph > 0 and keeper.bytes_on_disk() == graph + vector_file


def test_remove_takes_photos_out_and_saves(lib):
    keeper = lib.search_index
    graph_of(keeper)
    keeper.remove([lib.ids[0], lib.ids[1]])
    assert sorted(keeper.index.ids().tolist()) == sorted(lib.ids[2:])
    keeper.drop()
    reloaded = graph_of(keeper)  # (from the saved files, patched to the catalog)
    assert reloaded.mode == "hnsw" and keeper.loaded is reloaded


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


@pytest.fixture
def held_build(monkeypatch):
    """Graph builds wait, after their first chunk, until ``go`` is set (or they are
    cancelled)."""
    import threading

    from photoclip.core.search.vector_index import VectorIndex

    started, go = threading.Event(), threading.Event()
    make = VectorIndex.graph_from.__func__

    def held(cls, chunks, total, rev, dim, model_id, exact_max, progress=None, cancel=None):
        def step(done):
            progress(done)
            started.set()
            while not go.wait(0.02) and not cancel.is_set():
                pass

        def pairs():  # (two vectors a chunk)
            for ids, vecs in chunks:
                for k in range(0, len(ids), 2):
                    yield ids[k:k + 2], vecs[k:k + 2]
        return make(cls, pairs(), total, rev, dim, model_id, exact_max, step, cancel)

    monkeypatch.setattr(VectorIndex, "graph_from", classmethod(held))
    yield started, go
    go.set()


def test_a_graph_is_built_in_the_background_with_what_changed_meanwhile(lib, tmp_path,
                                                                         held_build):
    """No graph on disk: searches scan the vector file at once while the graph is built (from
    the catalog, streamed); photos added and removed during the build are in the graph it puts
    in use and saves."""
    started, go = held_build
    for p in (lib.search_index.dir).glob("index*"):
        p.unlink()
    keeper = lib.search_index
    assert keeper.index.mode == "scan"  # answers now
    assert started.wait(30) and keeper.build_progress() == (2, 5)
    keeper_vectors = len(keeper.vectors())
    more = write_photos(tmp_path / "pics" / "more", 2, start=100)
    lib.folders.index()
    new = [lib.folders.photo_id(p) for p in more]
    lib.catalog.delete_photos([lib.ids[0]])
    assert len(keeper.vectors()) == keeper_vectors + 1  # the scan sees them at once
    go.set()
    assert keeper.wait_built(30) and keeper.build_progress() is None
    graph = keeper.index
    assert graph.mode == "hnsw"
    assert set(graph.ids().tolist()) == {*lib.ids[1:], *new}
    assert files(keeper)  # saved once built


def test_close_and_drop_cancel_a_build(lib, held_build):
    started, _ = held_build
    keeper = lib.search_index
    for p in keeper.dir.glob("index*"):
        p.unlink()
    keeper.index  # noqa: B018
    assert started.wait(30) and keeper.build_progress() is not None
    keeper.drop()  # (another model)
    assert keeper.build_progress() is None and keeper.loaded is None
    keeper.index  # noqa: B018  (built again: once the graph on disk is found missing)
    deadline = time.time() + 30
    while keeper.build_progress() is None and time.time() < deadline:
        time.sleep(0.01)
    assert keeper.build_progress() is not None
    keeper.close()  # cancelled, not waited for: the next start builds it
    assert keeper.build_progress() is None and not files(keeper)


def test_loading_context_loads_a_small_index_and_leaves_a_graph_to_the_first_search(lib):
    keeper = lib.search_index
    with keeper.loading():
        pass
    assert keeper.loaded is None  # (a graph: an app that only browses never holds it)
    keeper.exact_max = 10  # (five photos: an exact index)
    with keeper.loading():
        pass
    assert keeper.loaded is not None and len(keeper.loaded) == 5


def test_a_one_shot_process_searches_the_vector_file_never_the_graph(tmp_path):
    """`photoclip search` at a million photos waited 5 s for the graph to load (2.3 GB):
    a one-shot command scans the vector file instead, with the same answers, and its
    indexing leaves the graph on disk to be caught up by the next long-lived process."""
    spec = f"local-dir:{tmp_path / 'fake-model'}"
    home = tmp_path / "home"
    app = fake_library(home, spec, SameTextEncoder)
    app.search_index.exact_max = 2  # (a graph above two photos)
    write_photos(tmp_path / "pics", 5)
    app.folders.add(tmp_path / "pics")
    app.folders.index()
    assert app.search_index.wait_built(30)
    first = app.folders.photo_id(sorted((tmp_path / "pics").iterdir())[0])
    want = [(h.id, round(h.score, 2)) for h in app.search.similar(first, limit=4)]
    assert app.search_index.loaded.mode == "hnsw"
    app.close()
    graph = {p.name: p.stat().st_mtime_ns for p in (home / "index").glob("index-*")}
    assert graph

    cli = fake_library(home, spec, SameTextEncoder, long_lived=False)
    try:
        got = [(h.id, round(h.score, 2)) for h in cli.search.similar(first, limit=4)]
        assert got == want and cli.search_index.loaded.mode == "scan"
        more = write_photos(tmp_path / "pics" / "more", 2, start=100)
        cli.folders.index()
        new = [cli.folders.photo_id(p) for p in more]
        assert set(new) <= set(cli.search_index.index.ids().tolist())  # found at once
        assert {p.name: p.stat().st_mtime_ns for p in (home / "index").glob("index-*")} \
            == graph  # the graph was neither loaded to add them nor rewritten
    finally:
        cli.close()

    again = fake_library(home, spec, SameTextEncoder)
    again.search_index.exact_max = 2
    try:
        index = graph_of(again.search_index)
        assert index.mode == "hnsw" and set(new) <= set(index.ids().tolist())
    finally:
        again.close()
