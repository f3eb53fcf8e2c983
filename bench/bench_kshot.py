"""The k-shot curve of user categories (fixture CLIP, the 1,000 CIFAR-10 sample photos): top-1
accuracy and mean average precision at 1, 2, 4, 8 and 16 examples per category, mean of 5
seeds, for zero-shot, the plain probe, Tip-Adapter and PhotoCLIP's probe. (The test suite
checks only the curve's ends: tests/test_categories.py.)

    .venv/bin/python bench/bench_kshot.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import write_result


def main() -> None:
    from conftest import CIFAR_CLIP, CIFAR_SAMPLE, make_library
    from test_categories import SEEDS, class_matrix, k_shot_tables, print_k_shot

    from photoclip.core.model.encoder import Encoder

    encoder = Encoder.load(f"local-dir:{CIFAR_CLIP}", device="cpu")
    with tempfile.TemporaryDirectory() as home:
        lib = make_library(Path(home), encoder)
        lib.folders.add(CIFAR_SAMPLE)
        lib.folders.index()
        X, y, text = class_matrix(lib, encoder)
        t0 = time.perf_counter()
        table, ranking = k_shot_tables(X, y, text, encoder.logit_scale)
        seconds = time.perf_counter() - t0
        lib.close()
    print_k_shot(table, ranking, len(SEEDS))
    write_result("kshot", {"accuracy": table, "average_precision": ranking,
                           "seconds": round(seconds, 1)})


if __name__ == "__main__":
    main()
