"""PhotoCLIP as packagers and users get it: the sdist and wheel hold everything the package
needs at run time, the metadata is complete, the launcher files are valid for a venv and for
the built app. (The installed wheel and the built app are run end to end by
``installer/smoke_test.py``: ``make smoke-wheel``, ``make smoke-frozen``.)"""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from photoclip import __version__

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "photoclip" / "resources"


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist, and the wheel built from it (what `python -m build` gives a packager)."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "photoclip"  # (no build/ or egg-info in the checkout)
    ignored = shutil.ignore_patterns(".venv", ".git", "dist", "build", "*.egg-info",
                                     "__pycache__", ".*_cache")

    def ignore(folder: str, names: list[str]) -> set[str]:  # (and benchmarks' gigabytes)
        return ignored(folder, names) | ({"out"} if Path(folder) == ROOT / "bench" else set())

    shutil.copytree(ROOT, src, ignore=ignore)
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "deprecated" not in proc.stdout.lower() + proc.stderr.lower(), proc.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_the_wheel_holds_every_resource_and_the_licence(dists):
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    wanted = {f"photoclip/resources/{p.relative_to(RESOURCES).as_posix()}"
              for p in RESOURCES.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert "photoclip/resources/tagsets/background.txt" in wanted
    assert wanted - names == set()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_sdist_holds_the_sources_resources_and_licence(dists):
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for f in ("LICENSE", "README.md", "pyproject.toml", "photoclip/cli/main.py",
              "photoclip/resources/tagsets/background.txt",
              "photoclip/resources/io.photoclip.PhotoCLIP.metainfo.xml"):
        assert f in names, f


def test_the_metadata_is_complete_and_has_one_version(dists):
    with zipfile.ZipFile(dists["wheel"]) as z:
        meta = email.message_from_bytes(
            z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))))
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    classifiers = meta.get_all("Classifier")
    assert "Operating System :: Microsoft :: Windows" in classifiers
    assert "Topic :: Multimedia :: Graphics :: Viewers" in classifiers
    assert {u.split(",")[0] for u in meta.get_all("Project-URL")} >= {"Homepage", "Source"}
    assert f"photoclip-{__version__}" in dists["wheel"].name
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version\s*=\s*"', text, re.M) is None, "one version: photoclip.__version__"


def test_the_licence_carries_the_notices_of_the_code_it_derives_from():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2021 OpenAI" in text  # the BPE tokenizer (core/tokenizer.py)
    assert "OpenCLIP" in text and "Gabriel Ilharco" in text


def test_the_appstream_metainfo_is_valid_and_matches_the_app():
    from photoclip.desktop import APP_ID, METAINFO

    text = METAINFO.read_text()
    assert f"<id>{APP_ID}</id>" in text
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in text
    assert re.search(r'<release version="([^"]+)"', text).group(1) == __version__
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian: appstream)")
    proc = subprocess.run([tool, "validate", "--no-net", "--pedantic", str(METAINFO)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_spec_bundles_what_the_package_needs_at_run_time():
    spec = (ROOT / "installer" / "photoclip.spec").read_text()
    assert '"photoclip/resources"' in spec  # the whole folder (tag sets, vocabulary, icons)
    assert 'collect_data_files("open_clip")' in spec  # the BPE vocabulary
    assert '"torchvision")' in spec and "_stable" in spec  # torchvision's compiled operators
    assert "BUNDLE(" in spec and "photoclip-cli" in spec  # macOS .app; Windows console exe
