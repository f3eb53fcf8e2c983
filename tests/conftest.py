"""Shared fixtures: real SQLite, real hnswlib, real open_clip models, real images.

- ``../shared`` (or ``PHOTOCLIP_SHARED``) holds the fixture CLIP model and the photos; tests
  reference them by path and never copy them.
- ``tiny_model_dir`` is a randomly initialised tiny open_clip model written as a ``local-dir``
  folder, for tests of mechanics (fast, meaningless embeddings).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOCLIP_SHARED", ROOT.parent / "shared")).resolve()
CIFAR_CLIP = SHARED / "models" / "cifar-clip"
CIFAR_SAMPLE = SHARED / "datasets" / "cifar10-sample"
PHOTO_LIBRARY = SHARED / "photos" / "library"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]

# The system trash that duplicates go to (send2trash reads XDG_DATA_HOME when first imported):
# one per test process, never the user's own. Child processes inherit it. Named by the process
# (not mkdtemp): this file runs twice in a process, as pytest's "conftest" and as the
# "tests.conftest" test modules import, and both must name the same trash.
TEST_TRASH_HOME = Path(tempfile.gettempdir()) / f"photoclip-test-xdg-{os.getpid()}"
TEST_TRASH_HOME.mkdir(mode=0o700, exist_ok=True)
os.environ["XDG_DATA_HOME"] = str(TEST_TRASH_HOME)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_TRASH_HOME, ignore_errors=True)


def trash_files() -> Path:
    """Where the files moved to the (test) trash lie."""
    return TEST_TRASH_HOME / "Trash" / "files"


TINY_CONFIG = {
    "model_cfg": {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "head_width": 32,
                       "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2,
                     "layers": 1},
    },
    "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                       "std": [0.26862954, 0.26130258, 0.27577711],
                       "interpolation": "bicubic", "resize_mode": "shortest", "size": 32},
}


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (set PHOTOCLIP_SHARED to the shared folder)")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test ever touches the real user data folder."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "photoclip-home"))
    monkeypatch.delenv("PHOTOCLIP_MODEL", raising=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    import torch
    from open_clip.model import CLIP
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("tiny-clip")
    (d / "open_clip_config.json").write_text(json.dumps(TINY_CONFIG))
    torch.manual_seed(0)
    model = CLIP(**TINY_CONFIG["model_cfg"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(d / "open_clip_model.safetensors"))
    return d


def _tiny_model(tmp_path_factory, architecture: str) -> str:
    """The spec of a random model of ``architecture``, written by tiny_models.write_<it>."""
    import tiny_models

    write = getattr(tiny_models, f"write_{architecture}")
    return f"local-dir:{write(tmp_path_factory.mktemp(f'tiny-{architecture}'))}"


@pytest.fixture(scope="session")
def tiny_xlmr_spec(tmp_path_factory) -> str:
    """A random tiny model of the multilingual (XLM-RoBERTa) architecture."""
    return _tiny_model(tmp_path_factory, "xlmr")


@pytest.fixture(scope="session")
def tiny_mobileclip_spec(tmp_path_factory) -> str:
    """A random model of the small offered architecture, MobileCLIP2-S0."""
    return _tiny_model(tmp_path_factory, "mobileclip")


@pytest.fixture(scope="session")
def tiny_siglip_spec(tmp_path_factory) -> str:
    """A random model of SigLIP's architecture, with a logit bias."""
    return _tiny_model(tmp_path_factory, "siglip")


@pytest.fixture(scope="session")
def tiny_spec(tiny_model_dir) -> str:
    return f"local-dir:{tiny_model_dir}"


@pytest.fixture(scope="session")
def tiny_encoder(tiny_spec):
    from photoclip.core.model.encoder import Encoder

    return Encoder.load(tiny_spec, device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def cifar_spec() -> str:
    return f"local-dir:{_require(CIFAR_CLIP)}"


@pytest.fixture(scope="session")
def cifar_encoder(cifar_spec):
    from photoclip.core.model.encoder import Encoder

    return Encoder.load(cifar_spec, device="cpu")


class CountingEncoder:
    """Wraps a real encoder and counts the images it encodes (for "not re-encoded" tests)."""

    def __init__(self, inner):
        self._inner = inner
        self.encoded = 0

    def encode_images(self, batch):
        self.encoded += len(batch)
        return self._inner.encode_images(batch)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def make_library(home: Path, encoder, **kw):
    """A Library in ``home`` that uses an already loaded encoder (loading costs seconds)."""
    from photoclip.core.library import Library

    return Library(home, model=encoder.model_id, encoder_loader=lambda *a, **k: encoder, **kw)


@pytest.fixture
def tiny_library(tmp_path, tiny_encoder):
    counting = CountingEncoder(tiny_encoder)
    lib = make_library(tmp_path / "home", counting)
    yield lib
    lib.close()


def _built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder that ``build(folder)`` fills, built once per test run: under pytest-xdist the
    first worker to get here builds it and the others wait for it (a file lock in the run's
    shared temporary folder). Never change it: copy it (``shutil.copytree``)."""
    try:
        import fcntl
    except ImportError:  # (no flock: each process builds its own)
        fcntl = None
    if fcntl is None or "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name) / "built"
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent  # this run's, shared by its workers
    done = shared / f"{name}-built"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            partial = shared / f"{name}-partial"
            shutil.rmtree(partial, ignore_errors=True)
            build(partial)
            partial.rename(done)
    return done


@pytest.fixture(scope="session")
def cifar_prepared_home(tmp_path_factory, cifar_encoder) -> Path:
    """A library home (closed, read-only: copy it) with the 1,000 CIFAR-10 sample photos
    indexed by the fixture CLIP, indexed once per test run instead of once per worker or test
    (20 s on two cores; a copy takes a fraction of a second)."""
    def build(home: Path) -> None:
        lib = make_library(home, cifar_encoder)
        lib.folders.add(_require(CIFAR_SAMPLE))
        report = lib.folders.index()
        assert report.encoded == 1000, report
        lib.close()

    return _built_once(tmp_path_factory, "cifar-home", build)


def cifar_home_copy(prepared: Path, home: Path, encoder):
    """A Library in ``home``: a copy of the prepared CIFAR library (one the test may change)."""
    shutil.copytree(prepared, home)
    lib = make_library(home, encoder)
    report = lib.folders.index()  # nothing to do: all 1,000 photos are already indexed
    assert report.encoded == 0 and lib.status()["indexed"] == 1000, report
    return lib


@pytest.fixture(scope="session")
def cifar_library(tmp_path_factory, cifar_encoder, cifar_prepared_home):
    """The 1,000 CIFAR-10 sample photos indexed with the fixture CLIP (once per session)."""
    lib = cifar_home_copy(cifar_prepared_home, tmp_path_factory.mktemp("cifar-home") / "home",
                          cifar_encoder)
    yield lib
    lib.close()


def write_photos(folder: Path, n: int, start: int = 0, size=(48, 40)) -> list[Path]:
    """``n`` distinct small JPEGs (random noise patterns, each different content)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng(i)
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        p = folder / f"img_{i:04d}.jpg"
        Image.fromarray(arr).save(p, quality=90)
        out.append(p)
    return out


def indexed_photos(lib, folder: Path, n: int) -> list[Path]:
    """``n`` new photos in ``folder``, added to the library and indexed."""
    photos = write_photos(folder, n)
    lib.folders.add(folder)
    lib.folders.index()
    return photos


def copy_cifar(root: Path, classes=("cat", "dog", "ship"), n: int = 10) -> Path:
    """The first ``n`` CIFAR sample photos of each class, copied into ``root/<class>/`` (a
    library the test may change)."""
    import shutil

    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for p in sorted((CIFAR_SAMPLE / c).iterdir())[:n]:
            shutil.copy(p, root / c / p.name)
    return root


def cifar_copy_library(tmp_path: Path, encoder, classes=("cat", "dog", "ship"), n: int = 10):
    """A library of its own in ``tmp_path/home`` over a copy of ``n`` CIFAR photos per class
    in ``tmp_path/Pictures/<class>/`` (one the test may change), indexed. (lib, root)."""
    root = copy_cifar(tmp_path / "Pictures", classes, n)
    lib = make_library(tmp_path / "home", encoder)
    lib.folders.add(root)
    lib.folders.index()
    return lib, root


def open_window(qtbot, lib):
    """The app's main window on ``lib`` (no watcher), shown, with its model ready."""
    from photoclip.gui.main_window import MainWindow

    window = MainWindow(lib, watch=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=30000)
    return window


def label_of(path: str) -> str:
    return Path(path).parent.name


@pytest.fixture
def cifar_window(qtbot, tmp_path, cifar_encoder, cifar_prepared_home, monkeypatch):
    """The app's window on a copy of the 1,000 CIFAR photos (indexed once per run: indexing
    them again took 20 s a test)."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "gui-home"))
    lib = cifar_home_copy(cifar_prepared_home, tmp_path / "gui-home", cifar_encoder)
    window = open_window(qtbot, lib)
    yield window
    window.close()


@pytest.fixture
def copy_window(qtbot, tmp_path, cifar_encoder, monkeypatch):
    """The app's window on a library of 12 CIFAR photos each of cat, dog and ship (copies)."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    lib, _ = cifar_copy_library(tmp_path, cifar_encoder, n=12)
    w = open_window(qtbot, lib)
    yield w
    w.close()


def duplicate_photos(folder: Path, originals: int = 12) -> dict[str, tuple[Path, Path]]:
    """Real photos of the shared library in ``folder`` and, for the first few, the copies
    people's libraries fill up with, in ``folder/copies``: kind -> (original, copy). The rest
    of the originals are distinct photos (some of the same kind of thing: dogs, foxes)."""
    import io

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "copies").mkdir(exist_ok=True)
    names = sorted(p for p in _require(PHOTO_LIBRARY).iterdir()
                   if p.suffix.lower() in (".jpg", ".jpeg"))[:originals]
    srcs = []
    for p in names:
        shutil.copy2(p, folder / p.name)
        srcs.append(folder / p.name)

    def jpeg(im: Image.Image, q: int = 90, **kw) -> bytes:
        b = io.BytesIO()
        im.save(b, "JPEG", quality=q, **kw)
        return b.getvalue()

    def rotated(im: Image.Image) -> bytes:
        ex = Image.Exif()
        ex[0x0112] = 6  # stored sideways, shown upright (as phones do)
        return jpeg(im.transpose(Image.Transpose.ROTATE_90), 90, exif=ex.tobytes())

    def crop(im: Image.Image) -> bytes:  # a light crop that changes the proportions
        w, h = im.size
        return jpeg(im.crop((int(w * 0.06), 0, w, int(h * 0.97))))

    makers = {
        "byte copy": ("copy.jpg", lambda im, src: src.read_bytes()),
        "re-saved": ("resaved.jpg", lambda im, src: jpeg(im, 45)),
        "half size": ("half.jpg", lambda im, src: jpeg(im.resize((im.width // 2,
                                                                  im.height // 2)))),
        "png": ("converted.png", None),
        "exif-rotated": ("rotated.jpg", lambda im, src: rotated(im)),
        "cropped": ("cropped.jpg", lambda im, src: crop(im)),
    }
    out = {}
    for (kind, (name, make)), src in zip(makers.items(), srcs, strict=False):
        im = Image.open(src).convert("RGB")
        dst = folder / "copies" / f"{src.stem}-{name}"
        if make is None:
            im.save(dst, "PNG")
        else:
            dst.write_bytes(make(im, src))
        out[kind] = (src, dst)
    return out
