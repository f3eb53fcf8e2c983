"""The models PhotoCLIP offers by name (core/model/choices.py)."""

from __future__ import annotations

import pytest

from photoclip.config import DEFAULT_MODEL
from photoclip.core.model import choices
from photoclip.core.model.choices import CHOICES, by_key, find, speed, suggested, system_language


def test_every_offered_model_is_one_open_clip_knows_with_those_weights():
    import open_clip

    for c in CHOICES:
        name, tag = c.spec.split(":", 1)
        assert open_clip.get_model_config(name) is not None, c.spec
        assert tag in open_clip.list_pretrained_tags_by_model(name), c.spec
    assert CHOICES[0].spec == DEFAULT_MODEL
    assert [c.key for c in CHOICES] == ["default", "multilingual", "large", "small"]
    assert [c.multilingual for c in CHOICES] == [False, True, False, False]


@pytest.mark.parametrize(("env", "code"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US"}, "ru"),
    ({"LANG": "C.UTF-8"}, "en"), ({"LANGUAGE": "ja:en"}, "ja"), ({"LANG": "pt-BR"}, "pt"),
    ({"LANG": "POSIX"}, "en")])
def test_the_system_language_comes_from_the_desktops_environment(env, code):
    assert system_language(env) == code


def test_a_system_not_in_english_is_offered_the_multilingual_model_and_told_why():
    pick, why = suggested("zh")
    assert pick is by_key("multilingual") and "Chinese" in why and "English only" in why
    pick, why = suggested("sw")  # (a language without a name here still gets it)
    assert pick.multilingual and "sw" in why
    assert suggested("en")[0].spec == DEFAULT_MODEL


def test_find_knows_only_the_offered_specs():
    assert find(f" {DEFAULT_MODEL} ") is CHOICES[0]
    assert find("local-dir:/models/clip") is None


def test_speed_is_measured_for_the_model_in_use_and_estimated_for_the_others():
    large, small = by_key("large"), by_key("small")
    assert speed(CHOICES[0], (DEFAULT_MODEL, 40.0)) == "40 photos/s on this computer (measured)"
    assert speed(large, (DEFAULT_MODEL, 40.0)) == \
        "about 2 photos/s on this computer's processor (estimated)"
    assert speed(CHOICES[0], (small.spec, 14.0)) == \
        "about 20 photos/s on this computer's processor (estimated)"
    assert speed(large, None) == "about 19 times slower than the standard model on a processor"
    assert speed(large, ("local-dir:/x", 40.0)) == speed(large, None)
    assert speed(small, None) == "a little slower than the standard model on a processor"
    assert speed(by_key("multilingual"), None) == "about as fast as the standard model"
    assert speed(CHOICES[0], None) == "measured on this computer when it is first used"


def test_the_language_falls_back_to_the_locale(monkeypatch):
    monkeypatch.setattr(choices.locale, "getlocale", lambda: ("de_DE", "UTF-8"))
    assert system_language({}) == "de"
