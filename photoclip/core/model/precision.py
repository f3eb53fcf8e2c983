"""Which numeric path encodes photos on this machine: chosen by capability, then measured.

CPUs differ more than any default can cover. bf16 weights are ~1.6× faster than fp32 on a CPU
with native bf16 (AVX512_BF16 / AMX, e.g. AMD Zen 4, Intel Sapphire Rapids) and ~7× *slower*
on one without (AVX2: most laptops and desktops), where dynamic int8 is the fast path. So
``precision: auto``:

1. on a GPU uses fp16 (bf16 where the GPU supports it) — no measurement needed;
2. on a CPU lists the candidates the CPU can run well — fp32 always, bf16 only with native
   bf16, int8 where ONNX Runtime could prepare the model — and times each on a small synthetic
   batch (about a second, once), checking each against fp32 (cosine) on the way;
3. keeps the fastest faithful candidate that beats fp32 by a clear margin, else fp32;
4. caches the choice per model and CPU signature (data folder ``calibration.json``), so the
   next start reuses it and a new CPU, thread count or model is measured afresh.

An explicit setting always wins. Nothing here imports torch: the timings come from a
``measure`` callable (encoder.py passes the real model; tests pass numbers).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
CALIBRATION_FILE = "calibration.json"
MIN_SPEEDUP = 1.10  # a candidate must beat fp32 by this much to be worth any fidelity loss
MIN_COSINE = {"bf16": 0.999, "fp16": 0.999, "int8": 0.995}  # per image, against fp32
# int8 runs in ONNX Runtime without PyTorch: an indexing process without torch starts ~5 s
# sooner and peaks ~1.7 GB lower (255 photos, 2 cores: int8 6.0 s / 385 MB against bf16's
# 12.0 s / 2.1 GB, though bf16 encoded faster per image). A torch path must beat it by this.
TORCH_MARGIN = 1.25
_RELEVANT_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16",
                   "amx_tile", "fma", "f16c", "bf16", "asimddp", "i8mm", "sve")


@dataclass(frozen=True)
class CpuInfo:
    arch: str
    name: str
    flags: frozenset[str]
    threads: int

    @property
    def native_bf16(self) -> bool:
        """bf16 matmuls run in hardware (x86: AVX512_BF16 or AMX; Arm: the BF16 extension)."""
        return bool({"avx512_bf16", "amx_bf16", "bf16"} & self.flags)

    @property
    def summary(self) -> str:
        """E.g. 'AMD EPYC, AVX2, no native bf16'."""
        isa = ("AMX" if "amx_bf16" in self.flags else "AVX-512" if "avx512f" in self.flags
               else "AVX2" if "avx2" in self.flags else self.arch)
        bf16 = "native bf16" if self.native_bf16 else "no native bf16"
        return f"{self.name or self.arch}, {isa}, {bf16}"

    @property
    def signature(self) -> str:
        """Changes when the CPU (or the thread count we run with) does."""
        flags = ",".join(sorted(f for f in self.flags if f in _RELEVANT_FLAGS))
        return f"{self.arch}|{self.name}|{flags}|{self.threads}t"


def cpu_info(threads: int | None = None) -> CpuInfo:
    """This machine's CPU, read without torch (Linux /proc/cpuinfo, macOS sysctl)."""
    arch = platform.machine().lower()
    name, flags = "", set[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in ("model name", "hardware", "cpu model") and not name:
                    name = value.strip()
                elif key in ("flags", "features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    if platform.system() == "Darwin":
        name = name or _sysctl("machdep.cpu.brand_string")
        if _sysctl("hw.optional.arm.FEAT_BF16") == "1":
            flags.add("bf16")
        flags.update(f.lower() for f in _sysctl("machdep.cpu.features").split())
        flags.update(f.lower() for f in _sysctl("machdep.cpu.leaf7_features").split())
    if not name:
        name = platform.processor()
    return CpuInfo(arch, name, frozenset(flags), threads or default_threads())


def default_threads() -> int:
    """The logical CPUs this process may use."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, n)


def _sysctl(key: str) -> str:
    try:
        out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=2)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


@dataclass(frozen=True)
class Measurement:
    seconds_per_image: float
    cosine: float  # the lowest per-image cosine to fp32 on the calibration batch (fp32: 1.0)


@dataclass
class Choice:
    precision: str
    reason: str
    timings: dict[str, float] = field(default_factory=dict)  # images per second
    cosines: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def candidates(cpu: CpuInfo, int8_available: bool) -> list[str]:
    """The CPU precisions worth measuring here, fp32 (the reference) first."""
    out = ["fp32"]
    if cpu.native_bf16:
        out.append("bf16")
    if int8_available:
        out.append("int8")
    return out


def gpu_precision(device: str, bf16_supported: bool) -> Choice:
    if device == "cuda":
        p = "bf16" if bf16_supported else "fp16"
        return Choice(p, f"{p} on the GPU (half precision: fast and faithful there)")
    return Choice("fp16", f"fp16 on {device}")


class CalibrationCache:
    """``calibration.json`` in the data folder: {key: Choice}. A damaged file is ignored."""

    def __init__(self, path: Path | None):
        self.path = path

    def get(self, key: str) -> Choice | None:
        raw = self._read().get(key)
        if not isinstance(raw, dict):
            return None
        try:
            return Choice(str(raw["precision"]), str(raw["reason"]),
                          dict(raw.get("timings", {})), dict(raw.get("cosines", {})))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, choice: Choice) -> None:
        if self.path is None:
            return
        data = self._read()
        data[key] = choice.to_dict()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:  # a read-only data folder only costs a re-measure next time
            log.warning("could not save the precision calibration: %s", e)

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def gpu_driver_present() -> bool:
    """Whether this computer may have a GPU that PyTorch would pick for "auto", told without
    importing torch: an NVIDIA or AMD (ROCm) driver, or Apple silicon (MPS). A false "yes"
    only costs loading torch to find out."""
    system = platform.system()
    if system == "Darwin":
        return platform.machine().lower() == "arm64"
    if system == "Windows":
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return os.path.exists(os.path.join(root, "System32", "nvcuda.dll"))
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl",
                                            "/dev/kfd"))


def runtime_signature() -> str:
    """The versions that change what a precision costs, read without importing them."""
    from importlib import metadata

    parts = []
    for dist in ("torch", "onnxruntime"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"no {dist}")
    return ", ".join(parts)


def cache_key(model_id: str, cpu: CpuInfo, runtime: str) -> str:
    """One calibration per model, CPU signature and library versions (``runtime``)."""
    return f"{model_id}|{cpu.signature}|{runtime}"


def choose_cpu_precision(requested: str, cpu: CpuInfo, int8_available: bool,
                         measure: Callable[[str], Measurement], cache: CalibrationCache,
                         key: str) -> Choice:
    """The precision for a CPU: the user's, the cached measurement's, or a fresh one."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}")
    if requested != "auto":
        return _explicit(requested, cpu, int8_available)
    allowed = candidates(cpu, int8_available)
    cached = cache.get(key)
    if cached is not None and cached.precision in allowed:
        if not cached.timings or not set(cached.timings) <= set(allowed):
            return cached
        # (decided again from what was measured: a rule that changed applies without a
        # new measurement)
        again = decide({p: Measurement(1.0 / r, cached.cosines.get(p, 1.0))
                        for p, r in cached.timings.items() if r > 0}, cpu)
        if again.precision != cached.precision:
            cache.put(key, again)
        return again
    if len(allowed) == 1:
        choice = Choice("fp32", f"fp32: the only fast path on this CPU ({cpu.summary})")
        cache.put(key, choice)
        return choice
    results: dict[str, Measurement] = {}
    for p in allowed:
        try:
            results[p] = measure(p)
        except Exception as e:  # a path that cannot even run is simply not chosen
            log.warning("could not measure %s on this CPU: %s", p, e)
    choice = decide(results, cpu)
    cache.put(key, choice)
    return choice


def decide(results: dict[str, Measurement], cpu: CpuInfo) -> Choice:
    """The fastest faithful measurement that beats fp32 by :data:`MIN_SPEEDUP`, else fp32."""
    rates = {p: round(1.0 / m.seconds_per_image, 2) for p, m in results.items()
             if m.seconds_per_image > 0}
    cosines = {p: round(m.cosine, 5) for p, m in results.items()}
    base = rates.get("fp32")
    best, best_rate = "fp32", base or 0.0
    notes = []
    for p, rate in rates.items():
        if p == "fp32":
            continue
        if results[p].cosine < MIN_COSINE.get(p, 0.999):
            notes.append(f"{p} not faithful enough here (cosine {results[p].cosine:.4f})")
            continue
        if base and rate < base * MIN_SPEEDUP:
            notes.append(f"{p} {rate / base:.2f}× fp32")
            continue
        if rate > best_rate:
            best, best_rate = p, rate
    light = rates.get("int8")
    if best != "int8" and light and results["int8"].cosine >= MIN_COSINE["int8"] \
            and (not base or light >= base * MIN_SPEEDUP) and best_rate < light * TORCH_MARGIN:
        why = (f"int8: within {TORCH_MARGIN:g}× of {best}'s speed and needs no PyTorch "
               f"(seconds sooner to start, ~1.7 GB less memory)")
        return Choice("int8", f"{why} on this CPU ({cpu.summary})", rates, cosines)
    if best == "fp32":
        why = "fp32: nothing measured clearly faster" + (f" ({'; '.join(notes)})" if notes else "")
    else:
        why = (f"{best}: measured {best_rate / base:.1f}× faster than fp32"
               if base else f"{best}: fp32 could not be measured")
        if notes:
            why += f" ({'; '.join(notes)})"
    return Choice(best, f"{why} on this CPU ({cpu.summary})", rates, cosines)


def _explicit(requested: str, cpu: CpuInfo, int8_available: bool) -> Choice:
    if requested == "int8" and not int8_available:
        return Choice("fp32", "fp32: int8 was chosen in Settings but ONNX Runtime could not "
                              "prepare this model for it")
    if requested == "fp16":  # no fast fp16 matmuls on CPUs; bf16 is the CPU half type
        return Choice("fp32", "fp32: fp16 was chosen in Settings but runs only on GPUs")
    note = ""
    if requested == "bf16" and not cpu.native_bf16:
        note = " — this CPU has no native bf16, expect it to be several times slower"
    return Choice(requested, f"{requested}: chosen in Settings{note}")
