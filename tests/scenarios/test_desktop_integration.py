"""Launchers for a venv and for the built app, start at login, shell completion, a closed
pipe, the GUI log's rotation, the thumbnail cache's cap, and model-loading errors the window
must show rather than only log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip import desktop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def user_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return tmp_path


def _validate(path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    proc = subprocess.run([validator, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def _exec_argv(desktop_file: Path) -> list[str]:
    """The argv a launcher runs, unescaped as the Desktop Entry Specification says (the
    string escape first, then the Exec quoting)."""
    line = next(x for x in desktop_file.read_text().splitlines() if x.startswith("Exec="))
    value = line[5:].replace("\\\\", "\\")
    argv, cur, quoted, i, started = [], "", False, 0, False
    while i < len(value):
        c = value[i]
        if quoted and c == "\\":
            cur += value[i + 1]
            i += 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if cur or started:
                argv.append(cur)
            cur, started = "", False
        else:
            cur += c
        i += 1
    if cur or started:
        argv.append(cur)
    return [a.replace("%%", "%") for a in argv]


def test_exec_values_are_escaped_for_any_interpreter_path(user_home):
    odd = "/home/me/my $HOME/Py `x` \"q\" 100%/bin\\python3"
    path = desktop.install_launcher(odd)
    assert _exec_argv(path) == [odd, "-m", "photoclip", "gui"]
    _validate(path)
    desktop.set_autostart(True, odd)
    auto = desktop.autostart_path()
    assert _exec_argv(auto) == [odd, "-m", "photoclip", "gui", "--minimized"]
    _validate(auto)


def test_the_built_app_gets_a_launcher_and_a_login_entry_it_accepts(user_home, monkeypatch):
    from photoclip.cli.main import build_parser

    exe = str(user_home / "Apps" / "PhotoCLIP" / "PhotoCLIP")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", exe)
    path = desktop.install_launcher()
    assert _exec_argv(path) == [exe, "gui"]
    desktop.set_autostart(True)
    argv = _exec_argv(desktop.autostart_path())
    assert argv == [exe, "gui", "--minimized"]  # not "-m photoclip": the app rejected that
    args = build_parser().parse_args(argv[1:])
    assert args.command == "gui" and args.minimized
    assert (user_home / ".local/share/metainfo/io.photoclip.PhotoCLIP.metainfo.xml").exists()
    _validate(path)


def test_the_installer_script_installs_a_built_app(tmp_path):
    """install-linux.sh --app DIR runs the app's own 'desktop install' (a stand-in for the
    PyInstaller executable: this interpreter with sys.frozen set)."""
    app = tmp_path / "dist" / "PhotoCLIP"
    app.mkdir(parents=True)
    exe = app / "PhotoCLIP"
    exe.write_text(f"""#!/bin/sh
exec "{sys.executable}" -c 'import sys; sys.frozen = True; sys.executable = sys.argv.pop(1)
from photoclip.app import main; raise SystemExit(main(sys.argv[1:]))' "$0" "$@"
""")
    exe.chmod(0o755)
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("XDG_DATA_HOME", None)
    script = ROOT / "installer" / "install-linux.sh"
    proc = subprocess.run(["bash", str(script), "--app", str(app)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    launcher = home / ".local/share/applications/io.photoclip.PhotoCLIP.desktop"
    assert _exec_argv(launcher) == [str(exe), "gui"]
    proc = subprocess.run(["bash", str(script), "--app", str(app), "--uninstall"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not launcher.exists()
    proc = subprocess.run(["bash", str(script), "--app", str(tmp_path / "nothing")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "make frozen" in proc.stderr


def test_shell_completion_completes_commands_actions_and_options():
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    out = subprocess.run([sys.executable, "-m", "photoclip", "completion", "bash"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr

    def complete(*words: str) -> list[str]:
        words_arr = " ".join(f"'{w}'" for w in ("photoclip", *words))
        proc = subprocess.run(["bash", "-c", out.stdout + f"""
COMP_WORDS=({words_arr}); COMP_CWORD={len(words)}; _photoclip; echo "${{COMPREPLY[@]}}"
"""], capture_output=True, text=True, timeout=30)
        return proc.stdout.split()

    assert complete("tag") == ["tag", "tags", "tagset"]
    assert complete("tagset", "ap") == ["apply"]
    assert "--folder" in complete("tagset", "apply", "--")
    assert "--limit" in complete("--model", "x", "search", "dog", "--l")
    assert "completion" in complete("")
    zsh = subprocess.run([sys.executable, "-m", "photoclip", "completion", "zsh"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60).stdout
    assert "bashcompinit" in zsh and "complete -o default" in zsh


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`photoclip tagset list | head -1`: no 'unexpected error', no traceback in the log."""
    env = {**os.environ, "PHOTOCLIP_HOME": str(tmp_path / "home")}
    for argv in (["completion", "bash"], ["tagset", "list"], ["--help"]):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first line
        proc = subprocess.run([sys.executable, "-m", "photoclip", *argv], cwd=ROOT, env=env,
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
        os.close(write)
        assert proc.stderr == "", (argv, proc.stderr)
        # (argparse's --help swallows the error itself and exits 0)
        assert proc.returncode == (0 if argv == ["--help"] else 141), (argv, proc.returncode)
    log = tmp_path / "home" / "photoclip.log"
    assert not log.exists() or "BrokenPipe" not in log.read_text()


def test_the_gui_log_rotates(tmp_path, monkeypatch):
    import logging
    from logging.handlers import RotatingFileHandler

    from photoclip.gui import application

    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path))
    monkeypatch.setattr(application, "LOG_BYTES", 2000)
    try:
        application.setup_logging()
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, RotatingFileHandler)
        for i in range(200):
            logging.getLogger("photoclip.test").info("line %d %s", i, "x" * 40)
        handler.flush()
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    assert (tmp_path / "photoclip.log.1").exists()
    assert (tmp_path / "photoclip.log").stat().st_size <= 2000
    assert not (tmp_path / "photoclip.log.4").exists()


def test_the_thumbnail_cache_is_capped_and_keeps_what_was_used_last(tmp_path):
    from photoclip.gui.thumbnails import prune_cache

    cache = tmp_path / "thumbnails"
    files = []
    for i in range(20):
        f = cache / f"{i:02x}" / f"{i:040x}.jpg"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x" * 1000)
        os.utime(f, (1000 + i, 1000 + i))  # 0 is the least recently used
        files.append(f)
    assert prune_cache(cache, cap=30_000) == 0  # under the cap: nothing happens
    freed = prune_cache(cache, cap=10_000)
    assert freed == 12_000  # down to 80 % of the cap
    assert [f.exists() for f in files] == [False] * 12 + [True] * 8
    assert prune_cache(tmp_path / "none", cap=1) == 0


def test_a_used_thumbnail_counts_as_recent(tmp_path, qapp):
    from PIL import Image

    from photoclip.gui.thumbnails import _cache_file, load_thumbnail

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (64, 48), "red").save(photo)
    cache = tmp_path / "cache"
    assert not load_thumbnail(str(photo), 32, cache).isNull()
    cached = _cache_file(str(photo), 32, cache)
    os.utime(cached, (1000, 1000))
    assert not load_thumbnail(str(photo), 32, cache).isNull()
    assert cached.stat().st_mtime > 1000


def test_an_unexpected_model_error_is_shown_not_only_logged(qtbot, tiny_library, monkeypatch):
    """The frozen app without torchvision's operators said "loading…" forever: whatever
    preparing search raises is said in the window's model banner."""
    from photoclip.gui.main_window import MainWindow

    def broken():
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(tiny_library.search, "prepare", broken)
    window = MainWindow(tiny_library, start_worker=False, watch=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    text = window.model_panel.state.text()
    assert "RuntimeError" in text and "torchvision::nms" in text and "loading" not in text
    assert window.model_failure and not window.model_ready
    window.close()


def test_a_download_that_fails_for_another_reason_does_not_blame_the_download(qtbot,
                                                                               tiny_library):
    from photoclip.core.errors import ModelUnavailable
    from photoclip.gui.dialogs import ModelPanel

    panel = ModelPanel(tiny_library)
    qtbot.addWidget(panel)
    panel._download_failed(RuntimeError("operator torchvision::nms does not exist"))
    assert "could not be loaded" in panel.state.text() and "download" not in \
        panel.state.text().split("</b>")[0].lower()
    panel._download_failed(ModelUnavailable("No network: the model cannot be downloaded."))
    assert "The download did not work" in panel.state.text()


def test_start_at_login_on_macos_is_a_launch_agent_running_the_app(user_home, monkeypatch):
    import plistlib

    exe = "/Applications/PhotoCLIP.app/Contents/MacOS/PhotoCLIP"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", exe)
    desktop.set_autostart(True, platform="darwin")
    agent = user_home / "Library/LaunchAgents/io.photoclip.PhotoCLIP.plist"
    data = plistlib.loads(agent.read_bytes())
    assert data["ProgramArguments"] == [exe, "gui", "--minimized"] and data["RunAtLoad"]
    desktop.set_autostart(False, platform="darwin")
    assert not agent.exists()


def test_start_at_login_on_windows_is_the_run_key_without_a_console(tmp_path, monkeypatch):
    import types

    values: dict[str, str] = {}

    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def delete(key, name):
        if name not in values:
            raise FileNotFoundError(name)
        del values[name]

    fake = types.SimpleNamespace(
        HKEY_CURRENT_USER="HKCU", REG_SZ=1, CreateKey=lambda root, path: Key(),
        SetValueEx=lambda key, name, _, kind, value: values.__setitem__(name, value),
        DeleteValue=delete)
    monkeypatch.setitem(sys.modules, "winreg", fake)
    venv = tmp_path / "My Env" / "Scripts"
    venv.mkdir(parents=True)
    (venv / "python.exe").write_text("")
    (venv / "pythonw.exe").write_text("")
    desktop.set_autostart(True, python=str(venv / "python.exe"), platform="win32")
    assert values["PhotoCLIP"] == f'"{venv / "pythonw.exe"}" -m photoclip gui --minimized'
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", r"C:\Program Files\PhotoCLIP\PhotoCLIP.exe")
    desktop.set_autostart(True, platform="win32")
    assert values["PhotoCLIP"] == r'"C:\Program Files\PhotoCLIP\PhotoCLIP.exe" gui --minimized'
    desktop.set_autostart(False, platform="win32")
    desktop.set_autostart(False, platform="win32")  # (already off: fine)
    assert values == {}
