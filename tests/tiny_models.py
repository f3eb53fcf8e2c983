"""Random-weight models of the architectures PhotoCLIP offers, small enough for tests, built
with nothing downloaded: written as ``local-dir`` folders open_clip loads like any other.

- :func:`write_xlmr` — the multilingual architecture (``xlm-roberta-base-ViT-B-32``): a ViT
  image tower and a tiny XLM-RoBERTa text tower, with a SentencePiece (Unigram) tokenizer
  trained here with the ``tokenizers`` library on a few sentences in several scripts, saved
  as a Hugging Face fast tokenizer.
- :func:`write_mobileclip` — MobileCLIP2-S0's (FastViT, a non-causal text tower).
- :func:`write_siglip` — SigLIP's text tower and tokenizer, with a logit bias.

``bench/bench_multilingual.py`` builds a full-size XLM-R model with the same helpers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PREPROCESS = {"mean": [0.48145466, 0.4578275, 0.40821073],
              "std": [0.26862954, 0.26130258, 0.27577711],
              "interpolation": "bicubic", "resize_mode": "shortest", "size": 32}
CORPUS = ["a photo of a cat", "a dog on the beach", "一只猫", "一只狗在海滩上", "кошка на диване",
          "un chat sur le canapé", "ein Hund am Strand", "猫の写真", "قطة على الأريكة",
          "sunset over the sea", "a red car in the street", "Grandma's garden in June, 2019!"]
XLMR_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # (XLM-R's ids 0-4)


def sentencepiece(specials: list[str], single: str, vocab_size: int,
                  corpus: list[str] = CORPUS) -> Any:
    """A SentencePiece-style (Unigram, Metaspace) ``tokenizers.Tokenizer`` trained on
    ``corpus``; ``single`` is its template around a text, e.g. ``"<s> $A </s>"``."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus * 10, trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>"))
    used = [s for s in specials if s in single]
    tok.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[(s, specials.index(s)) for s in used])
    return tok


def save_xlmr_tokenizer(tok: Any, folder: Path) -> None:
    from transformers import XLMRobertaTokenizerFast

    XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                            unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                            cls_token="<s>", sep_token="</s>").save_pretrained(folder)


def save_random(folder: Path, cfg: dict, preprocess: dict, seed: int = 0) -> Path:
    """Write ``cfg`` (an open_clip model config with a custom text tower) and seeded random
    weights for it into ``folder``."""
    import torch
    from open_clip.model import CustomTextCLIP
    from safetensors.torch import save_file

    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg,
                                                              "preprocess_cfg": preprocess}))
    torch.manual_seed(seed)
    model = CustomTextCLIP(**{k: v for k, v in cfg.items() if k != "custom_text"})
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return folder


def write_xlmr(folder: Path, seed: int = 0) -> Path:
    """A tiny random model of the multilingual CLIP's architecture in ``folder``."""
    from transformers import XLMRobertaConfig

    folder.mkdir(parents=True, exist_ok=True)
    tok = sentencepiece(XLMR_SPECIALS, "<s> $A </s>", 300)
    save_xlmr_tokenizer(tok, folder)
    XLMRobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=40,
                     pad_token_id=1, bos_token_id=0, eos_token_id=2).save_pretrained(folder)
    cfg = {"embed_dim": 32,
           "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "head_width": 32,
                          "patch_size": 8},
           "text_cfg": {"hf_model_name": str(folder), "hf_tokenizer_name": str(folder),
                        "hf_pooler_type": "mean_pooler", "hf_model_pretrained": False,
                        "context_length": 32}}
    return save_random(folder, cfg, PREPROCESS, seed)


def write_mobileclip(folder: Path, seed: int = 0) -> Path:
    """A random model of the small offered architecture (MobileCLIP2-S0): its FastViT image
    tower as it is, and its text tower (no causal mask, CLIP's tokenizer) cut to one narrow
    layer so that it loads in a second."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    cfg = open_clip.get_model_config("MobileCLIP2-S0")
    cfg["text_cfg"].update(width=64, heads=2, layers=1)
    return save_random(folder, cfg, {**PREPROCESS, "size": 256}, seed)


def write_siglip(folder: Path, seed: int = 0) -> Path:
    """A random model of SigLIP's architecture (ViT-B-16-SigLIP's text tower: no causal mask,
    the last token pooled, a logit bias; a T5-style SentencePiece tokenizer trained here, its
    texts lower-cased without punctuation), with a tiny timm ViT as the image tower."""
    import open_clip
    from transformers import PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    tok = sentencepiece(["<pad>", "</s>", "<unk>"], "$A </s>", 200)
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    cfg = open_clip.get_model_config("ViT-B-16-SigLIP")
    cfg["embed_dim"] = 192
    cfg["vision_cfg"].update(timm_model_name="vit_tiny_patch16_224")
    cfg["text_cfg"].update(context_length=16, vocab_size=tok.get_vocab_size(), width=64,
                           heads=2, layers=1, hf_tokenizer_name=str(folder))
    return save_random(folder, cfg, {**PREPROCESS, "size": 224, "mean": [0.5] * 3,
                                     "std": [0.5] * 3}, seed)
