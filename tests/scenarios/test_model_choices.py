"""A user switches to another offered model — here random tiny models of their architectures,
the multilingual XLM-RoBERTa CLIP and MobileCLIP2 (no weights can be downloaded here; SigLIP's,
which "Other…" reaches, is tested in tests/unit/model/test_hf_tokenizer.py): the
library is embedded again, and search (in Chinese too), tag sets, categories and the user's
own tags keep working, in this process and, torch-free, in the next."""

from __future__ import annotations

import pytest
from conftest import write_photos

from photoclip.core.library import Library
from photoclip.core.tags.model import Label, TagSet


@pytest.mark.parametrize("target", ["tiny_xlmr_spec", "tiny_mobileclip_spec"])
def test_switching_to_another_offered_model_keeps_search_tags_and_categories(
        tmp_path, tiny_spec, target, request):
    tiny_xlmr_spec = request.getfixturevalue(target)  # (the model switched to)
    home = tmp_path / "home"
    photos = write_photos(tmp_path / "Pictures", 8)
    lib = Library.open(home, model=tiny_spec, remember_model=True)
    try:
        lib.folders.add(tmp_path / "Pictures")
        lib.folders.index()
        lib.tags.create_set(TagSet("Things", [Label("cat"), Label("noise")], threshold=-50))
        lib.tags.apply("Things")
        lib.tags.set([photos[0]], "holiday")  # by hand: must survive the switch
        lib.categories.create("Keepers")
        lib.categories.label("Keepers", photos[:2], True)
        lib.categories.label("Keepers", photos[5:7], False)

        assert lib.catalog.conn.execute(
            "SELECT count(*) FROM photo_tags WHERE source='auto'").fetchone()[0] > 0
        lib.switch_model(tiny_xlmr_spec)
        assert lib.model.id == tiny_xlmr_spec and lib.settings.model == tiny_xlmr_spec
        report = lib.folders.index()  # (the worker does this in the app)
        assert report.encoded == 8
        assert lib.catalog.embedding_count(tiny_xlmr_spec) == 8

        hits = lib.search.find("一只猫在沙发上", limit=20)
        assert len(hits) == 8 and len({h.id for h in hits}) == 8
        auto = lib.catalog.conn.execute(
            "SELECT DISTINCT model FROM photo_tags WHERE source='auto'").fetchall()
        assert set(auto) <= {(tiny_xlmr_spec,)}  # the set tagged again with the new model
        assert not lib.tags.store.behind(tiny_xlmr_spec, [lib.tags.get_set("Things")])
        assert "holiday" in {t.name for t in lib.tags.photo_tags(photos[0])}
        members = dict(lib.categories.members("Keepers"))  # (a probe on the new vectors)
        ids = [lib.folders.photo_id(p) for p in photos]
        assert set(ids[:2]) <= set(members) and not set(ids[5:7]) & set(members)
    finally:
        lib.close()
    # a later process answers in Chinese from the exported tower and its tokenizer
    again = Library.open(home)
    try:
        assert again.model.id == tiny_xlmr_spec
        assert again.model.encoding_info()["fast_search"].startswith("ready")
        assert len(again.search.find("猫の写真", limit=3)) == 3
    finally:
        again.close()
