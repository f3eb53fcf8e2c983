"""The command line says what happens to what the user made (issue 18): a removal keeps it
and says so, a moved folder is relinked, bad numbers and names are one sentence, and names
holding escape sequences cannot drive the terminal."""

from __future__ import annotations

import os

from conftest import write_photos


def _cli(*args, home):
    from photoclip.cli.main import main

    return main(["--home", str(home), *args])


def test_remove_says_what_is_kept_and_relink_keeps_it(tmp_path, tiny_spec, capsys):
    home = tmp_path / "home"
    photos = write_photos(tmp_path / "Pictures", 3)
    assert _cli("--model", tiny_spec, "add", str(tmp_path / "Pictures"), home=home) == 0
    assert _cli("index", home=home) == 0
    assert _cli("tag", str(photos[0]), "beach", home=home) == 0
    capsys.readouterr()
    # the drive letter changed: tell the library where the folder is now
    os.rename(tmp_path / "Pictures", tmp_path / "Photos")
    assert _cli("relink", str(tmp_path / "Pictures"), str(tmp_path / "Photos"), home=home) == 0
    assert "keep their tags" in capsys.readouterr().out
    assert _cli("index", "--json", home=home) == 0
    assert '"encoded": 0' in capsys.readouterr().out
    assert _cli("tags", str(tmp_path / "Photos" / photos[0].name), home=home) == 0
    assert "beach" in capsys.readouterr().out
    assert _cli("remove", str(tmp_path / "Photos"), home=home) == 0
    out = capsys.readouterr().out
    assert "3 photos forgotten" in out and "1 tag you set or removed" in out \
        and "kept" in out, out


def test_the_data_folder_cannot_be_a_photo_folder(tmp_path, capsys):
    home = tmp_path / "home"
    (home / "inside").mkdir(parents=True)
    for folder in (home, home / "inside"):
        assert _cli("add", str(folder), home=home) == 1
        assert "data folder" in capsys.readouterr().err


def test_a_threshold_that_is_not_a_number_is_one_sentence(tmp_path, capsys):
    home = tmp_path / "home"
    assert _cli("tagset", "create", "Places", "beach", home=home) == 0
    assert _cli("category", "create", "Rex", home=home) == 0
    capsys.readouterr()
    for args in (("tagset", "threshold", "Places", "nan"),
                 ("category", "threshold", "Rex", "nan")):
        assert _cli(*args, home=home) == 1
        err = capsys.readouterr().err
        assert "unexpected" not in err and len(err.strip().splitlines()) == 1, err


def test_names_and_file_names_cannot_send_escape_sequences(tmp_path, tiny_spec, capsys):
    home = tmp_path / "home"
    folder = tmp_path / "Pictures"
    write_photos(folder, 1)
    (folder / "evil\x1b[2J.jpg").write_bytes(b"not a jpeg")
    assert _cli("--model", tiny_spec, "add", str(folder), home=home) == 0
    assert _cli("index", home=home) == 0
    assert _cli("status", "--failures", home=home) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[2J.jpg" in out
    assert _cli("category", "create", 'He said "hi"', home=home) == 0
    assert _cli("search", 'category:"He said \\"hi\\""', home=home) == 0


def test_similar_to_a_fifo_is_refused_not_hung(tmp_path, tiny_spec, capsys):
    import signal

    home = tmp_path / "home"
    write_photos(tmp_path / "Pictures", 2)
    fifo = tmp_path / "Pictures" / "pipe.jpg"
    os.mkfifo(fifo)
    assert _cli("--model", tiny_spec, "add", str(tmp_path / "Pictures"), home=home) == 0
    signal.alarm(60)  # (a hang fails the test instead of the suite)
    try:
        assert _cli("index", home=home) == 0
        capsys.readouterr()
        assert _cli("similar", str(fifo), home=home) == 1
    finally:
        signal.alarm(0)
    assert "regular file" in capsys.readouterr().err
