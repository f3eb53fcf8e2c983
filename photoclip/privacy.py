"""Nothing leaves the computer unless the user asks for it (the one-time model download).

Some of PhotoCLIP's dependencies phone home by default, each switched off by an environment
variable that must be set *before* the dependency is imported (switching them off afterwards
is too late: ONNX Runtime writes a device id and queues its first event while it is
imported). :func:`disable_telemetry` runs when the ``photoclip`` package is imported, so it
comes first in every entry point: the CLI, the app, the PyInstaller app (``main.py``), a
restarted app, and any process that imports PhotoCLIP's code. ``tests/scenarios/test_no_network.py``
runs the whole command-line flow with a socket audit hook and a fresh home folder to hold us
to it.

Standard library only: this module is imported before anything else.
"""

from __future__ import annotations

import os

# variable → what it stops. Set unconditionally: a user-wide "0" elsewhere must not turn
# PhotoCLIP's promise off.
TELEMETRY_OFF = {
    # ONNX Runtime (1.2x+): on import it creates ~/.cache/Microsoft/DeveloperTools/
    # .onnxruntime/{deviceid,onnxruntime.db} and queues an event (device id, executable, CPU,
    # OS) for Microsoft's collector; on Windows it also logs usage through ETW.
    "ORT_DISABLE_TELEMETRY": "1",
    # Hugging Face hub: a usage ping beside each download (the model download of the first
    # run) and from some library calls.
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # hf_xet, the hub's Rust download client (huggingface_hub ≥ 0.32 uses it for the
    # download): transfer telemetry and heartbeats. It honours the hub's switches too; this is
    # its own.
    "HF_XET_TELEMETRY_ENABLED": "0",
    # The older name several libraries read (huggingface_hub, hf_xet, transformers' helpers).
    "DISABLE_TELEMETRY": "1",
    # The cross-tool convention (https://consoledonottrack.com); huggingface_hub honours it
    # too, and so may the next dependency that adds telemetry.
    "DO_NOT_TRACK": "1",
}


def disable_telemetry() -> None:
    os.environ.update(TELEMETRY_OFF)
