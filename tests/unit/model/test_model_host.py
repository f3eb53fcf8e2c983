"""The library's model over its lifetime (core/model/host.py), with stand-in loaders: no
model is ever loaded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from photoclip.config import Settings
from photoclip.core.errors import ModelUnavailable
from photoclip.core.model.host import ModelHost


class Loader:
    """Counts its calls; fails while ``fail`` is set."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, spec, *, device, precision, store, calibration):
        self.calls.append((spec, device, precision))
        if self.fail:
            raise ModelUnavailable("The model cannot be found.", cli_hint="Run 'photoclip x'.")
        return SimpleNamespace(model_id=spec, dim=24, device=device, precision="fp32",
                               choice=SimpleNamespace(reason="stand-in"))


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def host(home, loader, spec=None):
    for folder in ("model-a", "model-b"):  # (try_load checks the folder exists)
        (home / folder).mkdir(parents=True, exist_ok=True)
        (home / folder / "open_clip_config.json").write_text("{}")
    return ModelHost(home, Settings.load(home), spec or f"local-dir:{home / 'model-a'}", loader)


def test_loads_on_first_use_only(home):
    loader = Loader()
    h = host(home, loader)
    assert h.state == "loading" and h.loaded is None and loader.calls == []
    assert h.ready() is True
    assert h.state == "ready" and h.loaded is h.encoder and h.dim() == 24
    assert len(loader.calls) == 1 and loader.calls[0][0] == h.id
    assert h.error is None and h.problem is None


def test_a_failing_load_sets_state_error_and_problem(home):
    loader = Loader(fail=True)
    h = host(home, loader)
    assert h.ready() is False
    assert h.state == "none"
    assert h.error == "The model cannot be found. Run 'photoclip x'."
    assert h.problem == "The model cannot be found."  # (a window has no commands to type)
    with pytest.raises(ModelUnavailable):
        h.encoder  # noqa: B018


def test_a_failed_load_is_retried_only_when_asked(home):
    loader = Loader(fail=True)
    h = host(home, loader)
    assert h.ready() is False and h.ready() is False
    assert len(loader.calls) == 1
    loader.fail = False
    assert h.ready() is False and len(loader.calls) == 1
    assert h.ready(retry=True) is True and len(loader.calls) == 2
    assert h.state == "ready" and h.error is None and h.problem is None


def test_switch_says_whether_the_model_changed_and_saves(home):
    loader = Loader()
    h = host(home, loader)
    h.ready()
    assert h.switch(h.id, precision="fp16") is False
    assert Settings.load(home).precision == "fp16"
    other = f"local-dir:{home / 'model-b'}"
    assert h.switch(other) is True
    assert h.id == Settings.load(home).model == other
    assert h.loaded is None and h.state == "loading"  # the new one loads on next use
    h.ready()
    assert loader.calls[-1][0] == other


def test_switch_forgets_a_failed_load(home):
    h = host(home, Loader(fail=True))
    h.ready()
    assert h.state == "none"
    h.switch(h.id)
    assert h.state == "loading" and h.error is None and h.problem is None


def test_switch_with_an_encoder_loaded_already(home):
    loader = Loader()
    h = host(home, loader)
    other = f"local-dir:{home / 'model-b'}"
    enc = h.try_load(other)
    assert h.switch(other, encoder=enc) is True
    assert h.loaded is enc and len(loader.calls) == 1


def test_try_load_does_not_switch(home):
    loader = Loader()
    h = host(home, loader)
    before = h.id
    other = f"local-dir:{home / 'model-b'}"
    enc = h.try_load(other, device="cpu", precision="fp32")
    assert enc.model_id == other and loader.calls == [(other, "cpu", "fp32")]
    assert h.id == before and h.loaded is None
    assert Settings.load(home).model != other
    loader.fail = True
    with pytest.raises(ModelUnavailable):
        h.try_load(other)
    assert h.error is None  # the working model is not marked failed


def test_text_encoder_falls_back_to_the_model(home):
    h = host(home, Loader())
    assert h.text_encoder() is h.encoder  # no exported text tower
    assert h.search_ready() is True


def test_known_dim_without_loading(home):
    loader = Loader()
    h = host(home, loader)
    assert h.known_dim() is None and loader.calls == []
    h.ready()
    assert h.known_dim() == 24


def test_encoding_info_without_a_model(home):
    h = host(home, Loader())
    info = h.encoding_info()
    assert info["fast_search"].startswith("prepared when the model is first loaded")
    h.ready()
    info = h.encoding_info()
    assert info["precision"] == "fp32" and info["precision_why"] == "stand-in"
