"""The torch-free Hugging Face tokenizer (core/model/hf_tokenizer.py) and the multilingual
text tower's export, on a random tiny model of the XLM-RoBERTa architecture whose
SentencePiece tokenizer is trained in the test (tests/tiny_models.py): nothing is fetched."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.model.encoder import Encoder
from photoclip.core.model.export import describe_hf_tokenizer as describe
from photoclip.core.model.hf_tokenizer import HfTokenizer
from photoclip.core.model.runtime import ModelStore

QUERIES = ["一只猫", "a cat on a sofa", "Кошка спит на диване", "chat noir  sur le canapé",
           "قطة على الأريكة", "猫の写真 and a dog 🐶", "Straße &amp; Café", "", "   ",
           "a very long query " * 20]


@pytest.fixture(scope="module")
def xlmr(tiny_xlmr_spec):
    import open_clip

    return open_clip.get_tokenizer(tiny_xlmr_spec)


def test_tokens_match_the_models_own_tokenizer_token_for_token(xlmr, tmp_path):
    meta = describe(xlmr, tmp_path)
    assert meta["kind"] == "hf" and meta["pad_id"] == 1 and (tmp_path / meta["file"]).is_file()
    ours = HfTokenizer.from_meta(tmp_path, meta, xlmr.context_length)
    theirs = xlmr(QUERIES).numpy()
    mine = ours(QUERIES)
    assert mine.shape == theirs.shape == (len(QUERIES), 32)
    np.testing.assert_array_equal(mine, theirs)
    assert mine[-1, -1] == 2  # (a long query is cut and still ends with </s>)


def test_another_cleaning_is_another_tokenization(xlmr, tmp_path):
    meta = describe(xlmr, tmp_path)
    lower = HfTokenizer.from_meta(tmp_path, {**meta, "clean": "canonicalize"}, 32)
    same = HfTokenizer.from_meta(tmp_path, meta, 32)
    assert not np.array_equal(lower(["A Cat!"]), same(["A Cat!"]))
    with pytest.raises(ValueError):
        HfTokenizer.from_meta(tmp_path, {**meta, "clean": "shout"}, 32)


def test_the_multilingual_text_tower_runs_without_torch_as_it_does_in_torch(tiny_xlmr_spec,
                                                                            tmp_path):
    store = ModelStore(tmp_path / "models")
    enc = Encoder.load(tiny_xlmr_spec, device="cpu", precision="fp32", store=store)
    text = store.meta(tiny_xlmr_spec)["text"]
    assert text["ok"] and text["trimmed"] and text["tokenizer"]["kind"] == "hf", text
    fast = store.text_encoder(tiny_xlmr_spec)
    assert fast is not None
    got, want = fast.encode_texts(QUERIES), enc.encode_texts(QUERIES)
    assert got.shape == want.shape == (len(QUERIES), enc.dim)
    assert float((got * want).sum(axis=1).min()) >= 0.999


def test_a_siglip_text_tower_runs_without_torch_at_full_length_with_its_own_scale(
        tiny_siglip_spec, tmp_path):
    """SigLIP attends to its padding and pools the last position: exported untrimmed; its
    tokenizer lower-cases and drops punctuation ('canonicalize'); relevance works in its
    logits, with the scale the model learned (its bias cancels in a margin)."""
    import open_clip

    store = ModelStore(tmp_path / "models")
    enc = Encoder.load(tiny_siglip_spec, device="cpu", precision="fp32", store=store)
    text = store.meta(tiny_siglip_spec)["text"]
    assert text["ok"] and not text["trimmed"] and text["tokenizer"]["clean"] == "canonicalize"
    theirs = open_clip.get_tokenizer(tiny_siglip_spec)
    ours = HfTokenizer.from_meta(store.folder(tiny_siglip_spec), text["tokenizer"],
                                 theirs.context_length)
    np.testing.assert_array_equal(ours(QUERIES), theirs(QUERIES).numpy())
    fast = store.text_encoder(tiny_siglip_spec)
    assert float((fast.encode_texts(QUERIES) * enc.encode_texts(QUERIES)).sum(axis=1).min()) \
        >= 0.999
    assert fast.logit_scale == pytest.approx(float(enc.model.logit_scale.detach().exp()))
    assert float(enc.model.logit_bias.detach()) == -10.0  # (there, and not part of any margin)


def test_transformers_is_imported_only_for_a_model_that_needs_it(tiny_spec, tiny_xlmr_spec):
    """open_clip imports transformers whenever it is installed (1.2 s of every model load);
    a CLIP model loads without it, and a multilingual model loaded after it in the same
    process (a switch in Settings) still gets it."""
    import subprocess
    import sys

    check = (
        "import sys\n"
        "from photoclip.core.model.encoder import Encoder\n"
        f"a = Encoder.load({tiny_spec!r}, device='cpu', precision='fp32')\n"
        "print('AFTER_CLIP', 'transformers' in sys.modules, sys.modules.get('transformers'))\n"
        f"b = Encoder.load({tiny_xlmr_spec!r}, device='cpu', precision='fp32')\n"
        "print('AFTER_XLMR', 'transformers' in sys.modules, b.encode_texts(['一只猫']).shape)\n")
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "AFTER_CLIP False None" in proc.stdout
    assert "AFTER_XLMR True (1, 32)" in proc.stdout
