"""N2M: source text -> target text. Models, tokenization, teacher-forced training batches, generation.

Any AutoModelForSeq2SeqLM checkpoint (T5, mT5, BART, Marian...) is used as it is. An encoder-only
checkpoint is warm-started as an EncoderDecoderModel (Rothe et al., 2020): encoder and decoder both
from the checkpoint, the decoder's cross-attention new, [CLS] starting and [SEP] ending the target,
so every encoder of the other suites runs here too. In frozen mode the encoder's weights never
train: the decoder and its cross-attention learn on top of it.

Generation examples hold `source` (and `source_pair`, a second segment), the `target` to train on,
and `references`, the texts a generation is scored against. They are made from a task's own examples
by the shape whose schema it reads (its `generation_item`): a one-label task's inputs -> its label word
or score (read back for its metrics), an MRC question -> the answer, a ReCoRD query -> the entity, a WoS
user turn -> the dialogue state.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from harness.data.klue import UNSET
from harness.formats.n2n import IGNORE
from harness.models import ModelRef, inference_mode, load_config, load_model
from harness.shape_registry import schema_of
from harness.tasks import GENERATION_SUFFIX, TaskSpec

if TYPE_CHECKING:  # torch loads with the models: shapes read this module's text helpers without it
    import torch


def load_seq2seq(ref: ModelRef, tokenizer):
    """The checkpoint's own seq2seq model, or an encoder-decoder warm-started from an encoder-only one."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, EncoderDecoderModel

    if load_config(ref).is_encoder_decoder:
        return load_model(ref, AutoModelForSeq2SeqLM)
    encoder = load_model(ref)
    decoder = load_model(ref, AutoModelForCausalLM, is_decoder=True, add_cross_attention=True)
    model = EncoderDecoderModel(encoder=encoder, decoder=decoder)
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    model.config.decoder_start_token_id = model.generation_config.decoder_start_token_id = start
    model.config.eos_token_id = model.generation_config.eos_token_id = end
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def warm_started(model) -> bool:
    """An EncoderDecoderModel built here: its targets are wrapped by hand (no special tokens, then [SEP])."""
    return type(model).__name__ == "EncoderDecoderModel"


def encode(tokenizer, examples: list[dict], max_length: int, max_target_length: int, model,
           with_targets: bool = True) -> list[dict]:
    """Source token ids per example and, when asked, target ids as `labels` (unpadded)."""
    pairs = [ex["source_pair"] for ex in examples] if examples and "source_pair" in examples[0] else None
    encoded = tokenizer([ex["source"] for ex in examples], pairs, truncation=True, max_length=max_length)
    features = [{key: encoded[key][i] for key in ("input_ids", "attention_mask")} for i in range(len(examples))]
    if with_targets:
        targets = [ex["target"] for ex in examples]
        if warm_started(model):
            ids = tokenizer(targets, add_special_tokens=False, truncation=True, max_length=max_target_length - 1)
            labels = [row + [model.config.eos_token_id] for row in ids["input_ids"]]
        else:
            labels = tokenizer(text_target=targets, truncation=True, max_length=max_target_length)["input_ids"]
        for feature, row in zip(features, labels):
            feature["labels"] = row
    return features


class Seq2SeqCollator:
    """Pads sources with the tokenizer and targets with IGNORE, to each batch's longest."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        import torch

        batch = dict(self.tokenizer.pad([{k: f[k] for k in ("input_ids", "attention_mask")} for f in features],
                                        return_tensors="pt"))
        if "labels" in features[0]:
            longest = max(len(f["labels"]) for f in features)
            batch["labels"] = torch.tensor([f["labels"] + [IGNORE] * (longest - len(f["labels"])) for f in features])
        return batch


@inference_mode
def generate(model, tokenizer, features: list[dict], *, batch_size: int, num_beams: int, max_new_tokens: int,
             length_penalty: float, device: str, quiet: bool = True, precision: str = "fp32") -> list[str]:
    """Decoded generations in the features' order, generated over length-sorted batches in `precision`."""
    from tqdm.auto import tqdm

    from harness.formats.n21 import length_buckets
    from harness.precision import autocast

    model.eval().to(device)
    out: list[str] = [""] * len(features)
    for indices in tqdm(length_buckets(features, batch_size), desc="generate", disable=quiet, leave=False):
        batch = tokenizer.pad([{k: features[i][k] for k in ("input_ids", "attention_mask")} for i in indices],
                              return_tensors="pt").to(device)
        with autocast(precision, device):
            generated = model.generate(**batch, num_beams=num_beams, max_new_tokens=max_new_tokens,
                                       length_penalty=length_penalty, early_stopping=num_beams > 1)
        for i, text in zip(indices, tokenizer.batch_decode(generated, skip_special_tokens=True)):
            out[i] = text.strip()
    return out


def freeze_encoder(model) -> int:
    """Stop the encoder's weights from training (frozen mode); returns how many were frozen.

    A warm-started decoder shares no weights with the encoder, so it keeps learning in full; a
    checkpoint's own seq2seq model may tie its input embeddings to the decoder's, and those stay
    trainable with the decoder.
    """
    decoder_weights = {id(p) for p in model.get_decoder().parameters()} | {
        id(p) for p in model.get_output_embeddings().parameters()}
    frozen = 0
    for parameter in model.get_encoder().parameters():
        if id(parameter) not in decoder_weights:
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    return frozen


# --- what generations read back as --------------------------------------------------------------------


def base_name(task: TaskSpec) -> str:
    return task.name.removesuffix(GENERATION_SUFFIX)


def label_text(task: TaskSpec, label) -> str:
    """What the model should write for a label: its label word, or a score to one decimal."""
    return f"{float(label):.1f}" if task.kind == "regression" else task.label_words[int(label)]


def read_label(task: TaskSpec, text: str):
    """A generation read back as a label (class index or score), or None when it is none of them."""
    cleaned = " ".join(text.lower().split()).strip(" .")
    if task.kind == "regression":
        try:
            return float(cleaned)
        except ValueError:
            return None
    words = [" ".join(w.lower().split()) for w in task.label_words]
    return words.index(cleaned) if cleaned in words else None


def generation_examples(task: TaskSpec, examples: list[dict]) -> list[dict]:
    """The examples as source -> target (the first reference), with every reference kept for scoring."""
    out = []
    for ex in examples:
        item = {"id": ex["id"], **schema_of(task).generation_item(task, ex)}
        if "references" in item:
            item["target"] = item["references"][0]
        out.append(item)
    return out


def state_text(items: list[str]) -> str:
    """["관광-종류-박물관", ...] -> "관광-종류=박물관, ..." (the slot is domain-slot, the value the rest)."""
    parts = [item.split("-", 2) for item in items]  # the reader checked every item has three parts
    return ", ".join(f"{domain}-{slot}={value}" for domain, slot, value in parts)


def read_state(text: str) -> list[str] | None:
    """A generated state back as domain-slot-value items; None when an item is not domain-slot=value.

    An item `slot=none` says the slot is unset: it is dropped, as KLUE's baseline drops a slot predicted
    "none", so it matches a gold state without that slot.
    """
    items = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        slot, sep, value = part.partition("=")
        if not sep or slot.count("-") != 1 or not value.strip():
            return None
        if value.strip() != UNSET:
            items.append(f"{slot.strip()}-{value.strip()}")
    return items


def wrong_label(task: TaskSpec, gold, low: float, high: float):
    """What an unreadable generation counts as: a wrong class (the next one), or for a score the end of
    the gold range farther from the gold score."""
    if task.kind == "regression":
        return low if gold >= (low + high) / 2 else high
    return (int(gold) + 1) % len(task.labels)
