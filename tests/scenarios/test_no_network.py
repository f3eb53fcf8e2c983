"""Nothing leaves the machine, and nothing is written outside PhotoCLIP's own folders.

The whole command-line flow (add, index, search, similar, tag sets, categories, XMP export and
import, status) runs in a fresh process with a temporary HOME and TMPDIR and no PHOTOCLIP_HOME,
so the platform's default data and cache folders are used, as on a user's computer. A
``sys.addaudithook`` fails the run on any Python socket connect, send or name lookup; where
``strace`` is installed the process also runs under it, which sees native code too (ONNX
Runtime's telemetry is C++). Files: only ``~/.local/share/PhotoCLIP``, ``~/.cache/PhotoCLIP``
(``~/.config/PhotoCLIP``) and the XMP sidecars asked for may appear; ONNX Runtime 1.32's
``~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid`` is what this caught first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import CIFAR_CLIP, CIFAR_SAMPLE, ROOT

pytestmark = pytest.mark.slow

DRIVER = textwrap.dedent("""
    import json, sys

    events = []

    def hook(event, args):
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                     "socket.gethostbyname", "socket.gethostbyaddr", "urllib.Request",
                     "http.client.connect"):
            events.append([event, repr(args)[:200]])

    sys.addaudithook(hook)  # before anything of PhotoCLIP or its dependencies is imported

    from photoclip.app import main

    codes = []
    for argv in json.loads(sys.argv[1]):
        codes.append([argv, main(argv)])
    json.dump({"codes": codes, "events": events}, open(sys.argv[2], "w"))
""")


def _flow(model: str, pictures: Path) -> list[list[str]]:
    horse = str(sorted((pictures / "horse").iterdir())[0])
    ships = [str(p) for p in sorted((pictures / "ship").iterdir())[:3]]
    return [
        ["--model", model, "--precision", "fp32", "add", str(pictures)],  # (no calibration: faster)
        ["index"],
        ["search", "a photo of a horse", "--json"],
        ["search", "一只猫"],
        ["similar", horse],
        ["tagset", "create", "Animals", "horse", "ship", "cat"],
        ["tagset", "apply", "Animals"],
        ["tagset", "create", "--starter", "places"],
        ["tagset", "list"],
        ["search", "tag:horse", "--json"],
        ["tag", horse, "favourite"],
        ["tags", horse],
        ["category", "create", "Boats"],
        ["category", "add", "Boats", *ships],
        ["category", "show", "Boats"],
        ["search", "category:Boats"],
        ["xmp", "export", "--folder", str(pictures / "horse")],
        ["xmp", "import", "--folder", str(pictures / "horse")],
        ["status"],
    ]


def _files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}


def test_the_cli_flow_connects_nowhere_and_writes_only_its_own_folders(tmp_path):
    home, tmp, pictures = tmp_path / "user", tmp_path / "tmp", tmp_path / "Pictures"
    home.mkdir()
    tmp.mkdir()
    for c in ("horse", "ship", "cat"):
        (pictures / c).mkdir(parents=True)
        for p in sorted((CIFAR_SAMPLE / c).iterdir())[:6]:
            shutil.copy(p, pictures / c / p.name)
    photos = _files(pictures)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PHOTOCLIP_", "XDG_", "HF_", "ORT_", "TORCH", "DO_NOT_TRACK",
                                "DISABLE_TELEMETRY"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONPATH=str(ROOT))
    (tmp_path / "driver.py").write_text(DRIVER)
    argv = [sys.executable, str(tmp_path / "driver.py"),
            json.dumps(_flow(f"local-dir:{CIFAR_CLIP}", pictures)), str(tmp_path / "out.json")]
    strace = shutil.which("strace")
    trace = tmp_path / "strace.txt"
    if strace:
        argv = [strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace),
                *argv]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    failed = [(a, c) for a, c in out["codes"] if c != 0]
    assert not failed, f"{failed}\n{proc.stderr[-3000:]}"

    assert out["events"] == [], f"network use from Python: {out['events']}"
    if strace:  # native code too: any IPv4/IPv6 connect or send
        inet = [line for line in trace.read_text().splitlines()
                if re.search(r"AF_INET6?\b", line)]
        assert inet == [], "network use from native code:\n" + "\n".join(inet[:20])

    ours = (".local/share/PhotoCLIP/", ".cache/PhotoCLIP/", ".config/PhotoCLIP/")
    stray = sorted(f for f in _files(home) if not f.startswith(ours))
    assert stray == [], f"files outside PhotoCLIP's folders in HOME: {stray}"
    assert any(f.startswith(".local/share/PhotoCLIP/catalog") for f in _files(home))
    assert _files(tmp) == set(), f"left in TMPDIR: {_files(tmp)}"
    added = _files(pictures) - photos
    assert added and all(f.endswith(".xmp") for f in added), added  # only what was asked for
    assert photos <= _files(pictures)


def test_every_telemetry_switch_is_set_by_importing_photoclip():
    """Set when the package is imported, i.e. before any entry point imports a dependency
    (the CLI, the app, the PyInstaller app's main.py, a restarted app)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ORT_DISABLE_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK",
                        "HF_XET_TELEMETRY_ENABLED", "DISABLE_TELEMETRY")}
    env["ORT_DISABLE_TELEMETRY"] = "0"  # a user-wide setting must not turn the promise off
    code = ("import os, sys, photoclip.app; "
            "assert 'onnxruntime' not in sys.modules and 'torch' not in sys.modules; "
            "from photoclip.privacy import TELEMETRY_OFF; "
            "print(all(os.environ.get(k) == v for k, v in TELEMETRY_OFF.items()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_importing_onnxruntime_after_photoclip_records_no_device_id(tmp_path):
    pytest.importorskip("onnxruntime")
    env = {**os.environ, "HOME": str(tmp_path)}
    for k in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME"):
        env.pop(k, None)
    subprocess.run([sys.executable, "-c", "import photoclip, onnxruntime"], env=env, cwd=ROOT,
                   check=True, timeout=60)
    assert _files(tmp_path) == set(), _files(tmp_path)
