"""Generation metrics speed, as ratios measured side by side on SST-2 sentences.

1. BLEU + chrF + ROUGE-L on 20,000 pairs: harness `compute_generation_scores` vs the same libraries
   called directly (sacrebleu.corpus_bleu, sacrebleu.corpus_chrf, rouge-score's scorer per pair);
   throughput ratio harness/direct >= 0.9 (at most 10% overhead).
2. BERTScore on 2,000 pairs: harness `bertscore` vs `bert_score.score`, same model (all-MiniLM-L6-v2),
   layer (6), batch size (64) and device; ratio >= 1.0. The harness keeps one scorer per model and
   layer for the whole run, where `bert_score.score` loads the model on every call.

Pairs: a sentence against the same sentence with every third word dropped (deterministic).
"""
from __future__ import annotations

import pytest

from _bench import Stopwatch, bench_rounds, report
from harness.metrics.generation import GenerationSettings, bertscore, compute_generation_scores

OVERHEAD_BAR = 0.9
BERTSCORE_BAR = 1.0

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sentences(shared_data) -> list[str]:
    from harness.data.splits import load_splits
    from harness.tasks import REGISTRY

    train = load_splits(REGISTRY.get("glue/sst2"), shared_data, splits=("train",))["train"].examples
    return [ex["text"] for ex in train]


def _pairs(sentences: list[str], n: int) -> tuple[list[str], list[str]]:
    references = sentences[:n]
    predictions = [" ".join(w for i, w in enumerate(s.split()) if i % 3 != 2) or s for s in references]
    return predictions, references


def _direct(predictions, references):
    import sacrebleu
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(["rougeL"])
    rouge = [scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references)]
    return (sacrebleu.corpus_bleu(predictions, [references]).score, sacrebleu.corpus_chrf(predictions, [references]).score,
            100 * sum(rouge) / len(rouge))


def _harness(predictions, references):
    scores = compute_generation_scores(["bleu", "chrf", "rouge_l"], predictions, references, GenerationSettings())
    return scores["bleu"], scores["chrf"], scores["rouge_l"]


def test_string_metrics_on_20000_pairs_vs_the_libraries_called_directly(benchmark, sentences):
    predictions, references = _pairs(sentences, 20_000)
    harness, direct = Stopwatch(_harness), Stopwatch(_direct)
    benchmark.pedantic(harness, args=(predictions, references), iterations=1, rounds=bench_rounds(),
                       setup=direct.as_setup(predictions, references))
    assert harness.result == pytest.approx(direct.result, abs=1e-9)
    ratio = direct.best / harness.best
    report(benchmark, "BLEU + chrF + ROUGE-L, 20,000 pairs", ratio=ratio, bar=OVERHEAD_BAR,
           harness_s=harness.times, direct_s=direct.times, pairs=len(predictions))
    assert ratio >= OVERHEAD_BAR


def test_bertscore_on_2000_pairs_vs_bert_score(benchmark, sentences, minilm_ref, torch_threads):
    from bert_score import score

    predictions, references = _pairs(sentences, 2_000)
    settings = GenerationSettings(bertscore_model=minilm_ref.location, bertscore_layer=6, batch_size=64)

    def baseline(predictions, references):
        return score(predictions, references, model_type=minilm_ref.location, num_layers=6, batch_size=64,
                     device=settings.device)[2].mean().item() * 100

    def harness(predictions, references):
        return bertscore(predictions, references, settings)["bertscore_f1"]

    harness, baseline = Stopwatch(harness), Stopwatch(baseline)
    benchmark.pedantic(harness, args=(predictions, references), iterations=1, rounds=bench_rounds(),
                       setup=baseline.as_setup(predictions, references))
    assert harness.result == pytest.approx(baseline.result, abs=1e-5)
    ratio = baseline.best / harness.best
    report(benchmark, "BERTScore, 2,000 pairs", ratio=ratio, bar=BERTSCORE_BAR, harness_s=harness.times,
           bert_score_s=baseline.times, pairs=len(predictions), torch_threads=torch_threads)
    assert ratio >= BERTSCORE_BAR
