"""How well a model's tokenizer fits a task's texts, measured by tokenizing them (no forward pass).

An English uncased WordPiece vocabulary reads Korean as jamo and [UNK]s: all-MiniLM-L6-v2 on KLUE-NLI
premises gives about 6 tokens per word, so --max-length cuts most pairs and the score drops for reasons that
have nothing to do with the encoder. A run measures, before any compute, over the texts it encodes:

- tokens per word: the tokenizer's tokens (special tokens left out) per whitespace-separated word;
- unknown share: the share of those tokens that are the unknown token (0 for a tokenizer without one);
- truncated share: the share of examples whose encoding (special tokens included) is longer than
  --max-length; for pairs, also each side encoded alone.

WARN_WHEN holds the thresholds past which the run warns, in one line, that the fit will cost score.
"""
from __future__ import annotations

import random

SAMPLE = 20_000  # examples measured at most: a seeded sample beyond this (the shares are means)
WARN_WHEN = {"unknown_share": 0.01, "tokens_per_word": 3.0, "truncated_share": 0.05}
FIT_METHOD = {"version": 1, "sample": SAMPLE, "warn_when": WARN_WHEN}  # what a cached fit was measured by


def texts_of(example: dict, field: str) -> str | None:
    """The example's text in `field`: a string as it is, a list of words joined by spaces; None when absent."""
    value = example.get(field)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return " ".join(value)
    return None


def tokenizer_fit(tokenizer, examples: list[dict], fields: tuple[str, ...], max_length: int,
                  seed: int = 0) -> dict | None:
    """The fit of `tokenizer` to the `fields` of `examples` (at most SAMPLE of them, drawn with `seed`) as the
    result records it: tokens_per_word, unknown_share, truncated_share, truncated_share_by_side (pairs: each
    side alone), warning (one line, or None), examples (how many were measured). None without examples or text."""
    if len(examples) > SAMPLE:
        examples = random.Random(seed).sample(examples, SAMPLE)
    sides = [field for field in fields if examples and texts_of(examples[0], field) is not None]
    if not sides:
        return None
    columns = {side: [texts_of(ex, side) or "" for ex in examples] for side in sides}
    alone = {side: tokenizer(texts, add_special_tokens=False)["input_ids"] for side, texts in columns.items()}
    tokens = [token for ids in alone.values() for sequence in ids for token in sequence]
    words = sum(len(text.split()) for texts in columns.values() for text in texts)
    unknown = tokenizer.unk_token_id
    first, *rest = sides
    joint = _lengths(tokenizer, columns[first], columns[rest[0]] if rest else None)
    fit = {
        "tokens_per_word": round(len(tokens) / words, 4) if words else 0.0,
        "unknown_share": round(sum(token == unknown for token in tokens) / len(tokens), 6)
        if tokens and unknown is not None else 0.0,
        "truncated_share": round(_over(joint, max_length), 6),
        "truncated_share_by_side": ({side: round(_over(_lengths(tokenizer, texts), max_length), 6)
                                     for side, texts in columns.items()} if rest else {}),
        "examples": len(examples),
    }
    fit["warning"] = fit_warning(fit, max_length)
    return fit


def _lengths(tokenizer, texts: list[str], pairs: list[str] | None = None) -> list[int]:
    """Each encoding's length in tokens, special tokens included, untruncated."""
    return [len(ids) for ids in tokenizer(texts, pairs, truncation=False, verbose=False)["input_ids"]]


def _over(lengths: list[int], max_length: int) -> float:
    return sum(length > max_length for length in lengths) / len(lengths) if lengths else 0.0


def fit_warning(fit: dict, max_length: int) -> str | None:
    """One line naming every measure past its WARN_WHEN threshold, or None when the tokenizer fits."""
    problems = []
    if fit["unknown_share"] > WARN_WHEN["unknown_share"]:
        problems.append(f"{fit['unknown_share']:.1%} of tokens are unknown (over {WARN_WHEN['unknown_share']:.0%})")
    if fit["tokens_per_word"] > WARN_WHEN["tokens_per_word"]:
        problems.append(f"{fit['tokens_per_word']:.2f} tokens per word (over {WARN_WHEN['tokens_per_word']:g})")
    if fit["truncated_share"] > WARN_WHEN["truncated_share"]:
        problems.append(f"{fit['truncated_share']:.1%} of examples are cut at --max-length {max_length} "
                        f"(over {WARN_WHEN['truncated_share']:.0%})")
    if not problems:
        return None
    vocabulary = len(problems) > 1 or fit["truncated_share"] <= WARN_WHEN["truncated_share"]
    advice = ("a model whose vocabulary covers the task's language would score higher" if vocabulary
              else "raise --max-length, as far as the model's positions allow")
    return "the tokenizer fits these texts poorly: " + "; ".join(problems) + f"; {advice}"
