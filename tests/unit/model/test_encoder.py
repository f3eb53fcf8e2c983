"""core/model/encoder.py: loading a model as the app and the CLI run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

LOAD = """
import os, sys
from photoclip.app import configure_threads
configure_threads()  # (MKL_NUM_THREADS=1 for NumPy: torch read it and took one core)
from photoclip.core.model.encoder import Encoder
Encoder.load(sys.argv[1], precision="fp32")
import torch
print(torch.get_num_threads())
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="one core: nothing to share")
def test_torch_encodes_on_every_core(tiny_spec):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", LOAD, tiny_spec], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) == len(os.sched_getaffinity(0))
    # the user's own setting wins
    out = subprocess.run([sys.executable, "-c", LOAD, tiny_spec], capture_output=True,
                         text=True, env={**env, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert int(out.stdout.split()[-1]) == 1
