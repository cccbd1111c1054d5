"""Generation metrics on a 0-100 scale, each recorded with what produced it (its signature).

- BLEU and chrF: sacrebleu's corpus scores. Tokenisation: 13a, except for Korean, where sacrebleu's
  `ko-mecab` needs MeCab-ko (`pip install harness[ko]`); without it, `char` with a note saying so.
- ROUGE-L: rouge-score's F-measure of the longest common subsequence, best over the references,
  averaged. Its default tokenizer keeps only [a-z0-9] (Korean would vanish), so languages other than
  English are split on whitespace.
- BERTScore: bert-score's scores, computed by harness.metrics.bertscorer on a model harness.models
  loads (its revision, offline mode and trust flag), one per (model, layer, device, batch size,
  precision), loaded once and reused; pairs are never scrambled, whatever the batch (torchmetrics'
  BERTScore is, for batches of three or more). Signed with bert-score's hash, plus the precision where
  it was not fp32. Baseline rescaling only from a baseline file that exists locally; otherwise the
  unrescaled score is reported with a note.

Several references per example are allowed; sacrebleu needs equally many per example, so shorter
lists are padded with their first reference (a repeated reference changes neither BLEU nor chrF).
"""
from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, DataError
from harness.metrics.scores import Scores

BLEU_TOKENIZERS = {"ko": "ko-mecab"}  # sacrebleu's tokenizer per language; others get 13a


@dataclass(frozen=True)
class GenerationSettings:
    """How generated text is scored: its language, and BERTScore's model and options."""

    language: str = "en"
    bertscore_model: str | None = None  # alias, Hub id or local folder; None leaves BERTScore out
    bertscore_revision: str | None = None  # the Hub revision of bertscore_model
    bertscore_trust_remote_code: bool = False  # run code from bertscore_model's repository
    bertscore_layer: int | None = None  # None: the model's last
    bertscore_idf: bool = False
    bertscore_baseline: str | None = None  # a baseline .tsv to rescale with; else bert-score's own, if it has one
    bertscore_rescale: bool = False
    batch_size: int = 64
    device: str = "cpu"
    precision: str = "fp32"  # --precision that BERTScore's model runs in ("auto" resolves as for frozen features)


class SignedScores(Scores):
    """Scores (metric -> 0-100) that also say what computed them (`signatures`), what could not be done as
    asked (`notes`), and, for scores that are means over examples, each example's value (`per_example`,
    kept in the predictions file for the bootstrap). Runs record signatures and notes in their provenance,
    and the flags (Scores) of the scores they were built from or merged in."""

    def __init__(self, scores=(), signatures: dict[str, str] | None = None, notes: list[str] | None = None,
                 per_example: dict[str, list[float]] | None = None):
        super().__init__(scores)
        self.signatures = dict(signatures or {})
        self.notes = list(notes or [])
        self.per_example = dict(per_example or {})

    @classmethod
    def of(cls, scores: dict) -> SignedScores:
        """`scores` as SignedScores: itself if it is one, else its values and flags, signed by nothing."""
        return scores if isinstance(scores, cls) else cls(scores)

    def merge(self, other: SignedScores, names: Sequence[str] | None = None) -> None:
        """Take another's scores (those in `names`, if given), their signatures, per-example values and notes."""
        def kept(mapping):
            return {k: v for k, v in mapping.items() if names is None or k in names}

        self.update(kept(other))
        self.signatures.update(kept(other.signatures))
        self.per_example.update(kept(other.per_example))
        self.notes.extend(other.notes)
        self.flags.extend(other.flags)


def _check(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> list[list[str]]:
    if len(predictions) != len(references) or not predictions:
        raise DataError(f"{len(predictions)} generations for {len(references)} examples; need one per example")
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    empty = [i for i, r in enumerate(refs) if not r]
    if empty:
        raise DataError(f"example {empty[0]} has no reference text to score its generation against")
    return refs


def _streams(references: list[list[str]]) -> list[list[str]]:
    """sacrebleu's layout: one stream per reference position, shorter lists padded with their first."""
    width = max(len(r) for r in references)
    return [[r[k] if k < len(r) else r[0] for r in references] for k in range(width)]


def bleu_tokenizer(language: str) -> tuple[str, list[str]]:
    """sacrebleu's tokenizer for the language, and a note when the preferred one is not installed."""
    preferred = BLEU_TOKENIZERS.get(language, "13a")
    if preferred == "ko-mecab" and importlib.util.find_spec("mecab_ko") is None:
        return "char", ["BLEU tokenised by characters: ko-mecab needs MeCab-ko (pip install 'harness[ko]')"]
    return preferred, []


def _bleu_metric(language: str):
    from sacrebleu.metrics import BLEU

    tokenizer, notes = bleu_tokenizer(language)
    return BLEU(tokenize=tokenizer), notes


def bleu(predictions, references, language: str = "en") -> SignedScores:
    refs = _check(predictions, references)
    metric, notes = _bleu_metric(language)
    value = metric.corpus_score(list(predictions), _streams(refs)).score
    return SignedScores({"bleu": value}, {"bleu": str(metric.get_signature())}, notes)


def chrf(predictions, references) -> SignedScores:
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    value = metric.corpus_score(list(predictions), _streams(_check(predictions, references))).score
    return SignedScores({"chrf": value}, {"chrf": str(metric.get_signature())})


class _WhitespaceTokenizer:
    """rouge-score's tokenizer interface, splitting on whitespace (for scripts its default would drop)."""

    def tokenize(self, text: str) -> list[str]:
        return text.lower().split()


def rouge_l(predictions, references, language: str = "en") -> SignedScores:
    from rouge_score.rouge_scorer import RougeScorer
    from rouge_score.tokenizers import DefaultTokenizer

    refs = _check(predictions, references)
    scorer = RougeScorer(["rougeL"], tokenizer=DefaultTokenizer() if language == "en" else _WhitespaceTokenizer())
    values = [scorer.score_multi(r, p)["rougeL"].fmeasure for p, r in zip(predictions, refs)]
    return SignedScores({"rouge_l": 100.0 * sum(values) / len(values)}, {"rouge_l": _rouge_signature(language)})


def _rouge_signature(language: str) -> str:
    from importlib.metadata import version

    tokenizer = "rouge-score default ([a-z0-9] words)" if language == "en" else "lower-cased whitespace"
    return f"rouge-score {version('rouge-score')}, LCS F-measure, best reference, tokenizer {tokenizer}"


def bertscore_baseline(settings: GenerationSettings) -> tuple[str | None, list[str]]:
    """The baseline file to rescale with, if rescaling is asked for and one exists locally."""
    if not settings.bertscore_rescale:
        return None, []
    import bert_score

    path = (Path(settings.bertscore_baseline) if settings.bertscore_baseline else
            Path(bert_score.__file__).parent / "rescale_baseline" / settings.language / f"{settings.bertscore_model}.tsv")
    if path.is_file():
        return str(path), []
    return None, [f"BERTScore not rescaled: no baseline file at {path} (pass one with --bertscore-baseline); "
                  "the scores are raw cosine-based F1"]


def bertscore(predictions, references, settings: GenerationSettings) -> SignedScores:
    """Precision, recall and F1, each the mean over examples (best reference per example, as bert-score)."""
    if not settings.bertscore_model:
        raise ConfigError("BERTScore needs a model: pass --bertscore-model (a Hub id or a local folder)")
    import torch

    from harness.metrics.bertscorer import scorer as loaded_scorer
    from harness.models import resolve_model
    from harness.precision import resolve_precision

    refs = _check(predictions, references)
    baseline, notes = bertscore_baseline(settings)
    name = str(settings.bertscore_model)
    ref = resolve_model(name, settings.bertscore_revision, settings.bertscore_trust_remote_code)
    precision = resolve_precision(settings.precision, settings.device, training=False)
    scorer = loaded_scorer(ref, name + (f"@{ref.revision}" if ref.revision else ""), settings.bertscore_layer,
                           settings.device, settings.batch_size, baseline, precision)
    idf = scorer.idf_weights([r for group in refs for r in group]) if settings.bertscore_idf else None
    # bert-score scores a pair with an empty side 0 (after rescaling, the baseline's floor); its own code
    # path for empty text calls a tokenizer method transformers 5 removed, so those pairs are set here.
    refs = [[r for r in group if r.strip()] for group in refs]
    scored = [i for i, (p, group) in enumerate(zip(predictions, refs)) if p.strip() and group]
    values = torch.zeros(3, len(predictions), dtype=torch.float64)
    if baseline is not None:
        values[:] = ((0 - scorer.baseline_values) / (1 - scorer.baseline_values)).double()[:, None]
    if scored:
        values[:, scored] = scorer.score([predictions[i] for i in scored], [refs[i] for i in scored], idf).double()
    precision_values, recall, f1 = values
    scores = {"bertscore_precision": 100.0 * float(precision_values.mean()),
              "bertscore_recall": 100.0 * float(recall.mean()), "bertscore_f1": 100.0 * float(f1.mean())}
    signature = (scorer.signature(settings.bertscore_idf) + ("" if precision == "fp32" else f"_{precision}")
                 + ("_not-rescaled" if settings.bertscore_rescale and not baseline else ""))
    return SignedScores(scores, dict.fromkeys(scores, signature), notes,
                        {"bertscore_f1": [100.0 * float(v) for v in f1]})


GENERATION_METRICS = ("bleu", "chrf", "rouge_l", "bertscore_precision", "bertscore_recall", "bertscore_f1")


def compute_generation_scores(metric_names: Sequence[str], predictions: Sequence[str],
                              references: Sequence[Sequence[str]], settings: GenerationSettings) -> SignedScores:
    """Each named generation metric, with the signatures and notes of what computed it."""
    unknown = [m for m in metric_names if m not in GENERATION_METRICS]
    if unknown:
        raise ConfigError(f"unknown generation metric(s) {', '.join(unknown)}; known: {', '.join(GENERATION_METRICS)}")
    out = SignedScores()
    parts = []
    if "bleu" in metric_names:
        parts.append(bleu(predictions, references, settings.language))
    if "chrf" in metric_names:
        parts.append(chrf(predictions, references))
    if "rouge_l" in metric_names:
        parts.append(rouge_l(predictions, references, settings.language))
    if any(m.startswith("bertscore_") for m in metric_names):
        parts.append(bertscore(predictions, references, settings))
    for part in parts:
        out.merge(part, metric_names)
    return out
