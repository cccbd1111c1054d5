"""Generation metrics speed, as ratios measured side by side on SST-2 sentences.

1. BLEU + chrF + ROUGE-L on 20,000 pairs: harness `compute_generation_scores` vs the same libraries
   called directly (sacrebleu.corpus_bleu, sacrebleu.corpus_chrf, rouge-score's scorer per pair);
   throughput ratio harness/direct >= 0.9 (at most 10% overhead).
2. BERTScore on 2,000 pairs: harness `bertscore` vs `bert_score.score`, same model (all-MiniLM-L6-v2),
   layer (6), batch size (64), device and fp32; throughput ratio >= 1.3, and every pair's F1 (and the
   mean precision and recall) within 1e-5 of bert-score's. The harness embeds each sentence once in
   batches sorted by token count under inference mode and keeps one model per model and layer for the
   whole run, where `bert_score.score` sorts by word count and loads the model on every call.

Pairs: a sentence against the same sentence with every third word dropped (deterministic).
"""
from __future__ import annotations

import pytest

from _bench import Stopwatch, bench_rounds, report
from harness.metrics.generation import GenerationSettings, bertscore, compute_generation_scores

OVERHEAD_BAR = 0.9
BERTSCORE_BAR = 1.3
BERTSCORE_TOLERANCE = 1e-5  # largest difference from bert-score's value of any pair (0-1 scale)

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
                     device=settings.device)

    def harness(predictions, references):
        return bertscore(predictions, references, settings)

    harness, baseline = Stopwatch(harness), Stopwatch(baseline)
    benchmark.pedantic(harness, args=(predictions, references), iterations=1, rounds=bench_rounds(),
                       setup=baseline.as_setup(predictions, references))
    ours, (precision, recall, f1) = harness.result, baseline.result
    largest_difference = max(abs(mine / 100 - theirs) for mine, theirs in zip(ours.per_example["bertscore_f1"],
                                                                                f1.tolist()))
    ratio = baseline.best / harness.best
    report(benchmark, "BERTScore, 2,000 pairs", ratio=ratio, bar=BERTSCORE_BAR,
           ratio_median=baseline.median / harness.median, harness_pairs_per_s=len(predictions) / harness.best,
           bert_score_pairs_per_s=len(predictions) / baseline.best,
           largest_f1_difference=f"{largest_difference:.1e}", harness_s=harness.times, bert_score_s=baseline.times,
           pairs=len(predictions), torch_threads=torch_threads)
    assert largest_difference <= BERTSCORE_TOLERANCE
    assert ours["bertscore_precision"] == pytest.approx(100 * precision.mean().item(), abs=100 * BERTSCORE_TOLERANCE)
    assert ours["bertscore_recall"] == pytest.approx(100 * recall.mean().item(), abs=100 * BERTSCORE_TOLERANCE)
    assert ratio >= BERTSCORE_BAR, (
        f"harness BERTScore scores {ratio:.2f}x the pairs/s of bert_score.score (bar {BERTSCORE_BAR}x)")
