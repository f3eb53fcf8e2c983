"""What searching with the multilingual model costs, against the standard model (issue 25).

Both models have full-size random weights and nothing is downloaded: the standard ViT-B-32,
and xlm-roberta-base-ViT-B-32 built from XLM-RoBERTa base's published shape (250,002-token
vocabulary, 12 layers of 768), so the text towers cost what the real ones do. The XLM-R
tokenizer is a SentencePiece (Unigram) model trained here on a few sentences: it splits words
into more pieces than the real one does, so the multilingual texts run somewhat longer here
than they would for a user.

Measured, medians of 3 (plus the CPU):
- a cold `photoclip search` process on a 10k-photo library: wall seconds and peak MB;
- a warm query's text encoding, torch-free (ONNX Runtime + our tokenizer) against torch,
  over mixed-language queries, p50 / p95.

    .venv/bin/python bench/bench_multilingual.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import (
    OUT,
    ROOT,
    clustered_vectors,
    percentiles,
    random_model_dir,
    synthetic_library,
    write_result,
)

sys.path.insert(0, str(ROOT / "tests"))

QUERIES = ["a dog on the beach", "一只猫在沙发上睡觉", "Кошка спит на диване",
           "un chat noir sur le canapé", "夕日の海", "قطة على الأريكة",
           "Geburtstagstorte mit Kerzen", "kids on a beach at sunset", "雪山",
           "a red car in the street at night"]
# (VmHWM, which exec resets: ru_maxrss would carry this process's own peak into the child)
HWM = ("def _hwm():\n"
       "    import sys\n"
       "    with open('/proc/self/status') as f:\n"
       "        kb = next(line for line in f if line.startswith('VmHWM')).split()[1]\n"
       "    print('PEAK_KB', kb, file=sys.stderr)\n")
CLI = HWM + ("import atexit, sys; atexit.register(_hwm)\n"
             "from photoclip.app import main; sys.exit(main(sys.argv[1:]))")


def multilingual_dir() -> Path:
    """xlm-roberta-base-ViT-B-32 at full size, random weights, as a local-dir model."""
    folder = OUT / "random-xlm-roberta-base-ViT-B-32-0"
    if (folder / "open_clip_model.safetensors").is_file():
        return folder
    import open_clip
    from tiny_models import CORPUS, XLMR_SPECIALS, save_random, save_xlmr_tokenizer, sentencepiece
    from transformers import XLMRobertaConfig

    folder.mkdir(parents=True, exist_ok=True)
    save_xlmr_tokenizer(sentencepiece(XLMR_SPECIALS, "<s> $A </s>", 400, CORPUS + QUERIES),
                        folder)
    XLMRobertaConfig(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1,
                     pad_token_id=1, bos_token_id=0, eos_token_id=2).save_pretrained(folder)
    cfg = open_clip.get_model_config("xlm-roberta-base-ViT-B-32")
    cfg["text_cfg"].update(hf_model_name=str(folder), hf_tokenizer_name=str(folder),
                           hf_model_pretrained=False)
    return save_random(folder, cfg, {
        "mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD),
        "interpolation": "bicubic", "resize_mode": "shortest", "size": 224})


def cold_search(home: Path, query: str) -> tuple[float, float]:
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", CLI, "--home", str(home), "search", query,
                           "--json", "--limit", "20"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-1500:])
    return wall, int(proc.stderr.split("PEAK_KB")[1].split()[0]) / 1024


def warm_encoding(spec: str, home: Path) -> dict:
    from photoclip.core.library import Library

    lib = Library.open(home)
    try:
        fast = lib.model.store.text_encoder(spec)
        torch_enc = lib.model.encoder  # (loads the model in torch)
        out = {}
        for name, enc in (("onnx", fast), ("torch", torch_enc)):
            samples = []
            for rep in range(3):
                for q in QUERIES:
                    t0 = time.perf_counter()
                    enc._cache = type(enc._cache)()  # (a new query each time: no cache)
                    enc.encode_texts([f"{q} {rep}"])
                    samples.append(time.perf_counter() - t0)
            out[name] = percentiles(samples)
        return out
    finally:
        lib.close()


def main() -> None:
    results = {}
    for key, folder in (("standard", random_model_dir("ViT-B-32")),
                        ("multilingual", multilingual_dir())):
        spec = f"local-dir:{folder}"
        home = synthetic_library(OUT / f"multilingual-{key}-10000", spec,
                                 clustered_vectors(10_000), graph=False)
        cold_search(home, "warm-up: prepares the text tower once")
        runs = [cold_search(home, q) for q in (QUERIES[1], QUERIES[2], QUERIES[0])]
        results[key] = {
            "cold_search_s": round(statistics.median(w for w, _ in runs), 2),
            "cold_search_peak_mb": round(statistics.median(m for _, m in runs)),
            "warm_text_encoding": warm_encoding(spec, home),
        }
        print(key, results[key], flush=True)
    write_result("multilingual", {"library_photos": 10_000, **results})


if __name__ == "__main__":
    main()
