"""Bootstrap for the scores that are not one label per example: per-unit statistics that add up.

A run's predictions file is turned into units (an example, or a group of examples where the task
scores groups: a MultiRC question, an AX-g pair) each with a row of additive statistics (true
positives per entity type, hits per head class, an example's exact match...), such that every
official metric is a function of their sum. A resample is then a vector of draw counts per unit,
and its statistics are one matrix product away: every score of every resample at once, computed as
the metric defines it on the resampled units (resampling whole groups keeps them intact).
The few metrics that do not add up (RE's AUPRC) are recomputed per resample with the draw counts as
sample weights.

Each builder is checked against the task's own scoring on the full sample (all draw counts 1).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness import stats
from harness.errors import DataError
from harness.metrics.klue import (CUT_OFF_HEAD, KEPT_RELATIONS, NO_RELATION, WRONG_HEAD, baseline_arcs,
                                  baseline_sentences, compute_mrc_scores)
from harness.metrics.text import ANSWER_METRICS, best_over_golds
from harness.tasks import TaskSpec

Sums = Callable[[np.ndarray], np.ndarray]  # (resamples, k) summed statistics -> (resamples,) on 0-100
Weighted = Callable[[np.ndarray, dict], np.ndarray]  # (resamples, units) draw counts, columns -> (resamples,)


@dataclass(frozen=True)
class UnitSample:
    """Units sorted by id, their statistics (units, k), and each metric as a function of summed statistics."""

    ids: np.ndarray
    statistics: np.ndarray
    metrics: dict[str, Sums]
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # per-unit data the weighted metrics read
    weighted: dict[str, Weighted] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def restrict(self, ids: np.ndarray) -> UnitSample:
        """The units of these ids (sorted, all present): what two runs have in common."""
        positions = np.searchsorted(self.ids, ids)
        return UnitSample(self.ids[positions], self.statistics[positions], self.metrics,
                          {name: values[positions] for name, values in self.columns.items()}, self.weighted)

    def values(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric on each row of draw counts (resamples, units)."""
        sums = draws @ self.statistics
        out = {name: metric(sums) for name, metric in self.metrics.items()}
        out.update({name: metric(draws, self.columns) for name, metric in self.weighted.items()})
        return out


def unit_distributions(sample: UnitSample, scores: Sequence[str], resamples: int = stats.DEFAULT_RESAMPLES,
                       seed: int = stats.DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Each of `scores` the sample can recompute, on every resample of its units."""
    wanted = [s for s in scores if s in sample.metrics or s in sample.weighted]
    parts: dict[str, list[np.ndarray]] = {s: [] for s in wanted}
    n = len(sample)
    for indices in stats.resample_chunks(n, resamples, seed):
        offsets = (np.arange(len(indices), dtype=np.int64) * n)[:, None]
        draws = np.bincount((indices + offsets).ravel(), minlength=len(indices) * n).reshape(len(indices), n)
        values = sample.values(draws.astype(np.float64))
        for score in wanted:
            parts[score].append(values[score])
    return {s: np.concatenate(chunks) for s, chunks in parts.items()}


def unit_sample(task: TaskSpec, rows: list[dict]) -> UnitSample:
    """The units of a run's prediction rows, by the task's shape (and its groups)."""
    if task.head in BUILDERS:
        ids, statistics, metrics, columns, weighted = BUILDERS[task.head](task, rows)
    elif "group" in rows[0]:
        ids, statistics, metrics, columns, weighted = _groups(task, rows)
    else:
        raise DataError(f"{task.id}: its predictions are one label per example; read them with read_predictions")
    order = np.argsort(ids, kind="stable")
    ids = np.asarray(ids)[order]
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():
        raise DataError(f"{task.id}: unit id {ids[1:][ids[1:] == ids[:-1]][0]!r} appears more than once")
    return UnitSample(ids, np.asarray(statistics, dtype=np.float64)[order],
                      {m: f for m, f in metrics.items() if m in task.metrics},
                      {name: values[order] for name, values in columns.items()},
                      {m: f for m, f in weighted.items() if m in task.metrics})


# --- shared forms of metrics ----------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> Sums:
    """sum of one column over sum of another (a mean over units, or over examples in them)."""
    def metric(sums):
        return 100.0 * sums[:, numerator] / np.maximum(sums[:, denominator], 1e-300)
    return metric


def _f1_from(offset: int, k: int, empty: float | None = None) -> Sums:
    """Mean F1 = 2TP / (2TP + FP + FN) over k classes whose TP, FP and FN columns start at offset, +k, +2k.

    empty: the value of a class with no TP, FP or FN, kept in the mean (sklearn's zero_division=1
    gives 1.0), or None to leave such classes out (seqeval, and sklearn's default label set); with
    no class left the mean is 0.
    """
    def metric(sums):
        tp, fp, fn = (sums[:, offset + j * k:offset + (j + 1) * k] for j in range(3))
        denominator = 2 * tp + fp + fn
        present = denominator > 0
        f1 = np.where(present, 2 * tp / np.where(present, denominator, 1), 0.0)
        if empty is not None:
            return 100.0 * np.where(present, f1, empty).mean(axis=1)
        kept = present.sum(axis=1)
        return 100.0 * np.where(kept > 0, f1.sum(axis=1) / np.maximum(kept, 1), 0.0)
    return metric


def _counts(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """TP, FP, FN per class 0..k-1 of one unit's aligned gold and predicted classes: (3k,)."""
    hits = np.bincount(gold[gold == predicted], minlength=k)
    return np.concatenate([hits, np.bincount(predicted, minlength=k) - hits, np.bincount(gold, minlength=k) - hits])


def _confusion_metric(metric: Callable[[np.ndarray], np.ndarray], k: int) -> Sums:
    """A stats.CONFUSION_METRICS function on the k x k confusion counts in the first k * k columns."""
    return lambda sums: 100.0 * metric(sums[:, :k * k].reshape(-1, k, k))


# --- one builder per shape ------------------------------------------------------------------------


def _tags(task: TaskSpec, rows):
    """Per sentence: entity TP/FP/FN per type (strict IOB2, as seqeval), character TP/FP/FN per tag."""
    from seqeval.scheme import IOB2, Entities

    labels = list(task.labels)
    types = sorted({label.split("-", 1)[1] for label in labels if "-" in label})
    chars = [list(row["text"]) for row in rows]
    gold = baseline_sentences([row["label"] for row in rows], chars, labels)
    predicted = baseline_sentences([row["prediction"] for row in rows], chars, labels)
    gold_entities, predicted_entities = (Entities(s, IOB2).entities for s in (gold, predicted))
    index = {label: i for i, label in enumerate(labels)}
    statistics = []
    for g_tags, p_tags, g_ents, p_ents in zip(gold, predicted, gold_entities, predicted_entities):
        g_set = {(e.tag, e.start, e.end) for e in g_ents}
        p_set = {(e.tag, e.start, e.end) for e in p_ents}
        entity = np.array([[sum(e[0] == t for e in g_set & p_set), sum(e[0] == t for e in p_set - g_set),
                            sum(e[0] == t for e in g_set - p_set)] for t in types]).T.ravel()
        characters = _counts(np.array([index[t] for t in g_tags]), np.array([index[t] for t in p_tags]), len(labels))
        statistics.append(np.concatenate([entity, characters]))
    t, k = len(types), len(labels)
    kept = [i for i, label in enumerate(labels) if label != "O"]
    without_o = [3 * t + c + i for c in (0, k, 2 * k) for i in kept]
    metrics = {
        "ner_entity_macro_f1": _f1_from(0, t),
        "ner_char_macro_f1": _f1_from(3 * t, k, empty=1.0),
        "ner_char_macro_f1_without_o": lambda sums: _f1_from(0, len(kept), empty=1.0)(sums[:, without_o]),
    }
    return [row["id"] for row in rows], statistics, metrics, {}, {}


def _arcs(task: TaskSpec, rows):
    """Per sentence: hits and gold + predicted counts per head class and per LAS relation class, and
    the words with a right head (and relation) for the micro scores. Head h counts as class h + 1, so
    CUT_OFF_HEAD (-1) is class 0."""
    index = task.label_ids
    gold_heads = [row["heads"] for row in rows]
    predicted_heads = [row["predicted_heads"] for row in rows]
    classes = max(max(max(h, default=0) for h in heads) for heads in (gold_heads, predicted_heads)) + 2
    relations = KEPT_RELATIONS + 2  # the kept ones, OTHERS, and WRONG_HEAD (last)
    statistics = []
    for row in rows:
        gold = baseline_arcs([row["heads"]], [[index[r] for r in row["deprels"]]], task.labels, "gold")
        predicted = baseline_arcs([row["predicted_heads"]], [[index[r] for r in row["predicted_deprels"]]],
                                  task.labels, "predicted")
        right_head = predicted.heads == gold.heads
        las = np.where(right_head, predicted.relations, WRONG_HEAD)
        las_classes = np.where(las == WRONG_HEAD, relations - 1, las)
        statistics.append(np.concatenate([
            _macro_counts(gold.heads - CUT_OFF_HEAD, predicted.heads - CUT_OFF_HEAD, classes),
            _macro_counts(gold.relations, las_classes, relations),
            [right_head.sum(), (las == gold.relations).sum(), len(gold.heads)]]))
    words = 2 * classes + 2 * relations + 2
    metrics = {
        "dp_uas_macro_f1": _macro_from_counts(0, classes),
        "dp_las_macro_f1": _macro_from_counts(2 * classes, relations),
        "dp_uas_micro_f1": _ratio(words - 2, words),
        "dp_las_micro_f1": _ratio(words - 1, words),
    }
    return [row["id"] for row in rows], statistics, metrics, {}, {}


def _macro_counts(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Hits per class, then gold + predicted count per class: what metrics.klue's _macro_f1 reads."""
    return np.concatenate([np.bincount(gold[gold == predicted], minlength=k),
                           np.bincount(gold, minlength=k) + np.bincount(predicted, minlength=k)])


def _macro_from_counts(offset: int, k: int) -> Sums:
    """Mean over classes seen on either side of 2 hits / (gold + predicted count), as metrics.klue's _macro_f1."""
    def metric(sums):
        hits, counts = sums[:, offset:offset + k], sums[:, offset + k:offset + 2 * k]
        seen = counts > 0
        return 100.0 * (np.where(seen, 2 * hits / np.where(seen, counts, 1), 0.0).sum(axis=1) / seen.sum(axis=1))
    return metric


def _spans(task: TaskSpec, rows):
    """Per question: its MRC scores (each metric is a mean over questions)."""
    names = list(task.metrics)
    statistics = [[value / 100.0 for value in compute_mrc_scores(names, [row["prediction"]], [row["answers"]]).values()]
                  + [1.0] for row in rows]
    return [row["id"] for row in rows], statistics, {m: _ratio(i, len(names)) for i, m in enumerate(names)}, {}, {}


def _choices(task: TaskSpec, rows):
    """Per example: whether the chosen candidate is a gold one, and its answer scores against the gold answers."""
    answer_metrics = [m for m in task.metrics if m in ANSWER_METRICS and all("answers" in row for row in rows)]
    statistics = [[float(row["prediction"] in row["label"]),
                   *(best_over_golds(ANSWER_METRICS[m], row["prediction_name"], row["answers"]) for m in answer_metrics),
                   1.0] for row in rows]
    count = 1 + len(answer_metrics)
    metrics = {"accuracy": _ratio(0, count), **{m: _ratio(1 + i, count) for i, m in enumerate(answer_metrics)}}
    return [row["id"] for row in rows], statistics, metrics, {}, {}


def _relations(task: TaskSpec, rows):
    """Per example: TP / FP / FN of the relations but no_relation (micro F1); AUPRC from the probabilities."""
    no_relation = task.labels.index(NO_RELATION)
    statistics = []
    for row in rows:
        gold, predicted = row["label"], int(np.argmax(row["probabilities"]))
        statistics.append([float(predicted == gold != no_relation), float(predicted != gold and predicted != no_relation),
                           float(predicted != gold and gold != no_relation)])
    columns = {"labels": np.array([row["label"] for row in rows]),
               "probabilities": np.array([row["probabilities"] for row in rows], dtype=np.float64)}
    return ([row["id"] for row in rows], statistics, {"re_micro_f1": _f1_from(0, 1, empty=0.0)}, columns,
            {"re_auprc": _weighted_auprc})


def _weighted_auprc(draws: np.ndarray, columns: dict) -> np.ndarray:
    """metrics.klue.re_auprc with each example weighted by how often the resample drew it."""
    import warnings

    from sklearn.metrics import auc, precision_recall_curve

    labels, probabilities = columns["labels"], columns["probabilities"]
    gold = np.eye(probabilities.shape[1], dtype=np.int64)[labels]
    out = np.empty(len(draws))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No positive class found")
        for r, weights in enumerate(draws):
            drawn = weights > 0
            areas = [auc(*precision_recall_curve(gold[drawn, c], probabilities[drawn, c],
                                                 sample_weight=weights[drawn])[1::-1])
                     for c in range(probabilities.shape[1])]
            out[r] = 100.0 * np.mean(areas)
    return out


def _groups(task: TaskSpec, rows):
    """Per group (MultiRC question, AX-g pair): its confusion counts, whether all its decisions are right,
    whether its predictions all agree; the classification metrics read the summed confusion matrix."""
    k = max(2, max(max(int(r["label"]), int(r["prediction"])) for r in rows) + 1)
    members: dict[str, list[dict]] = {}
    for row in rows:
        members.setdefault(str(row["group"]), []).append(row)
    ids, statistics = [], []
    for group, items in members.items():
        gold = np.array([int(r["label"]) for r in items])
        predicted = np.array([int(r["prediction"]) for r in items])
        ids.append(group)
        statistics.append(np.concatenate([np.bincount(gold * k + predicted, minlength=k * k),
                                          [float((gold == predicted).all()), float((predicted == predicted[0]).all()),
                                           1.0]]))
    cells = k * k
    metrics = {name: _confusion_metric(f, k) for name, f in stats.CONFUSION_METRICS.items()}
    metrics.update({"em": _ratio(cells, cells + 2), "gender_parity": _ratio(cells + 1, cells + 2)})
    return ids, statistics, metrics, {}, {}


def _generation(task: TaskSpec, rows):
    """Per example of a text-to-text run: the task's own statistics (one-label views: the confusion cell of
    the label read back, an unreadable one as a wrong label, or Pearson's sums; answers and states: the
    example's own scores, each metric being a mean over examples), exact match, ROUGE-L and BERTScore F1
    per example, and sacrebleu's sufficient statistics for BLEU and chrF."""
    from sacrebleu.metrics import CHRF

    from harness.metrics.generation import _bleu_metric, _streams, rouge_l

    if "group" in rows[0]:
        raise DataError(f"{task.id}: intervals for grouped text-to-text views are not computed yet")
    # rows written before they carried every reference hold only the target (one-label views have one)
    generations = [row["generation"] for row in rows]
    references = [row.get("references") or [row["target"]] for row in rows]
    own, own_metrics, columns, weighted = (_read_back(task, rows) if "prediction" in rows[0]
                                           else _own_means(task, generations, references))
    # sacrebleu's per-sentence statistics add up to its corpus statistics (a private but stable method)
    bleu_metric, _ = _bleu_metric(task.language)
    chrf_metric = CHRF()
    bleu_stats = np.array(bleu_metric._extract_corpus_statistics(generations, _streams(references)), float)
    chrf_stats = np.array(chrf_metric._extract_corpus_statistics(generations, _streams(references)), float)
    means = {"exact_match": [best_over_golds(ANSWER_METRICS["exact_match"], g, r) for g, r in zip(generations, references)],
             "rouge_l": [rouge_l([g], [r], task.language)["rouge_l"] / 100 for g, r in zip(generations, references)]}
    if "bertscore_f1" in rows[0]:  # kept per example by runs since the rows carry it
        means["bertscore_f1"] = [row["bertscore_f1"] / 100 for row in rows]
    a, b, c = own.shape[1], bleu_stats.shape[1], chrf_stats.shape[1]
    count = a + len(means)
    statistics = np.concatenate([own, np.array([*means.values(), np.ones(len(rows))]).T, bleu_stats, chrf_stats],
                                axis=1)
    metrics = {**own_metrics, **{name: _ratio(a + i, count) for i, name in enumerate(means)},
               "bleu": _sacrebleu_from_sums(bleu_metric, count + 1, b),
               "chrf": _sacrebleu_from_sums(chrf_metric, count + 1 + b, c)}
    return [row["id"] for row in rows], statistics, metrics, columns, weighted


def _read_back(task: TaskSpec, rows):
    """A one-label view's own statistics: confusion cells, or Pearson's sums (and Spearman by resampled ranks)."""
    from harness.formats import n2m

    golds = [row["label"] for row in rows]
    low, high = (min(golds), max(golds)) if task.kind == "regression" else (0, 0)
    read = [row["prediction"] if row["prediction"] is not None else n2m.wrong_label(task, row["label"], low, high)
            for row in rows]
    if task.kind == "regression":
        x, y = np.array(read, float), np.array(golds, float)
        own = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
        return own, {"pearson": _pearson_from_sums}, {"predictions": x, "labels": y}, {"spearman": _spearman_drawn}
    k = len(task.labels)
    own = np.eye(k * k)[np.array(golds) * k + np.array(read)]
    return own, {name: _confusion_metric(f, k) for name, f in stats.CONFUSION_METRICS.items()}, {}, {}


def _own_means(task: TaskSpec, generations, references):
    """Answers and states: each own metric is a mean over examples, so an example's own value is its share."""
    from harness.formats import n2m
    from harness.metrics.klue import MRC_METRICS, WOS_METRICS, compute_wos_scores
    from harness.metrics.text import compute_answer_scores

    values = []
    for generation, refs in zip(generations, references):
        if task.view_of == "spans":
            names = [m for m in task.metrics if m in MRC_METRICS]
            scores = compute_mrc_scores(names, [generation], [[r for r in refs if r]])
        elif task.kind == "dialogue_state":
            names = [m for m in task.metrics if m in WOS_METRICS]
            scores = compute_wos_scores(names, [n2m.read_state(generation) or []], [n2m.read_state(refs[0])])
        else:
            names = [m for m in task.metrics if m in ANSWER_METRICS]
            scores = compute_answer_scores(names, [generation], [refs])
        values.append([scores[m] / 100 for m in names] + [1.0])
    return (np.array(values), {m: _ratio(i, len(names)) for i, m in enumerate(names)}, {}, {})


def _spearman_drawn(draws: np.ndarray, columns: dict) -> np.ndarray:
    """stats' resampled Spearman (ranks within each resample), from draw counts turned back into indices."""
    units = np.arange(draws.shape[1])
    indices = np.stack([np.repeat(units, row.astype(np.int64)) for row in draws])
    return 100.0 * stats.CORRELATION_METRICS["spearman"](columns["predictions"], columns["labels"], indices)


def _pearson_from_sums(sums: np.ndarray) -> np.ndarray:
    """Pearson r from n, sum x, sum y, sum x^2, sum y^2, sum xy (0.0 where a side is constant)."""
    n, x, y, xx, yy, xy = sums[:, :6].T
    covariance, vx, vy = n * xy - x * y, n * xx - x * x, n * yy - y * y
    denominator = np.sqrt(np.maximum(vx, 0) * np.maximum(vy, 0))
    defined = denominator > 1e-12 * np.maximum(n * n, 1)
    return 100.0 * np.where(defined, covariance / np.where(defined, denominator, 1), 0.0)


def _sacrebleu_from_sums(metric, offset: int, width: int) -> Sums:
    def score(sums):
        return np.array([metric._compute_score_from_stats(list(row[offset:offset + width])).score for row in sums])
    return score


BUILDERS = {"tags": _tags, "arcs": _arcs, "spans": _spans, "choices": _choices, "probabilities": _relations,
            "generation": _generation}
