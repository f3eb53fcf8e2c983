"""The CLI fails with one clear sentence and a meaningful exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from photoclip.cli.main import main
from photoclip.cli.output import EXIT_MODEL, EXIT_NOT_FOUND, EXIT_USAGE


def test_missing_local_model_folder_is_one_sentence(tmp_path, capsys):
    home = str(tmp_path / "h")
    (tmp_path / "photos").mkdir()
    assert main(["--home", home, "add", str(tmp_path / "photos")]) == 0
    rc = main(["--home", home, "--model", f"local-dir:{tmp_path}/nope", "search", "dog"])
    err = capsys.readouterr().err
    assert rc == EXIT_MODEL
    assert "does not exist" in err and "local-dir:" in err and "Traceback" not in err


def test_default_model_offline_says_how_to_use_a_local_folder(tmp_path):
    """No network here and no cached weights: the default model fails fast and clearly."""
    env = {"PHOTOCLIP_HOME": str(tmp_path / "h"), "HF_HOME": str(tmp_path / "hf"),
           "PATH": "/usr/bin:/bin", "HF_ENDPOINT": "https://127.0.0.1:9"}
    proc = subprocess.run([sys.executable, "-m", "photoclip", "search", "dog"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_MODEL, proc.stderr
    assert "local-dir:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_unknown_folder_and_usage(tmp_path, capsys):
    home = str(tmp_path / "h")
    assert main(["--home", home, "remove", str(tmp_path / "never-added")]) == EXIT_NOT_FOUND
    assert "not a folder of this library" in capsys.readouterr().err
    assert main(["--home", home, "add", str(tmp_path / "missing")]) == EXIT_NOT_FOUND
    assert main(["--home", home]) == EXIT_USAGE


def test_adding_a_folder_inside_a_known_one_is_refused(tmp_path, capsys):
    home = str(tmp_path / "h")
    (tmp_path / "p" / "sub").mkdir(parents=True)
    assert main(["--home", home, "add", str(tmp_path / "p")]) == 0
    assert main(["--home", home, "add", str(tmp_path / "p" / "sub")]) == 1
    assert "already in the library" in capsys.readouterr().err


def test_models_lists_the_offered_models_and_suggests_by_the_system_language(tmp_path):
    """A Russian desktop is offered the multilingual model, with the reason; nothing is
    loaded to say so (no torch)."""
    import json

    check = ("import sys; from photoclip.app import main; rc = main(sys.argv[1:]); "
             "print('TORCH', 'torch' in sys.modules, file=sys.stderr); sys.exit(rc)")
    env = {"PHOTOCLIP_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin",
           "LANG": "ru_RU.UTF-8"}
    proc = subprocess.run([sys.executable, "-c", check, "models", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "TORCH False" in proc.stderr
    out = json.loads(proc.stdout)
    assert out["suggested"].startswith("xlm-roberta") and "Russian" in out["why"]
    assert [m["in_use"] for m in out["models"]] == [True, False, False, False]
    assert all(m["languages"] and m["download_mb"] > 0 for m in out["models"])
    text = subprocess.run([sys.executable, "-m", "photoclip", "models"], env=env,
                          capture_output=True, text=True, timeout=120).stdout
    assert "(in use)" in text and "(suggested)" in text and "--model MobileCLIP2-S0" in text
