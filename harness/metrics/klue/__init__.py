"""KLUE's metrics, matching KLUE's published baseline definitions exactly (quirks documented in each module):
ner (entity- and character-level macro F1), dp (UAS / LAS macro and micro F1), relations (RE micro F1
and AUPRC), mrc (exact match and ROUGE-W), wos (joint goal accuracy and slot micro F1). Each module
turns its units (sentence, example, question, turn) into per-unit statistics (harness.metrics.base) and
scores them; KLUE-YNAT/NLI/STS use the one-label metrics of harness.metrics.labels.

May import: its modules' dependencies. Imported by harness.metrics and the shapes that score KLUE tasks.
"""
from harness.metrics.klue.dp import (CUT_OFF_HEAD, DP_METRICS, KEPT_RELATIONS, KLUE_DP_LABELS, WRONG_HEAD, Arcs,
                                     baseline_arcs, compute_dp_scores, dp_statistics)
from harness.metrics.klue.mrc import MRC_METRICS, compute_mrc_scores, mrc_statistics, normalize_mrc_answer
from harness.metrics.klue.ner import TAGGING_METRICS, baseline_sentences, compute_tagging_scores, tagging_statistics
from harness.metrics.klue.relations import NO_RELATION, RELATION_METRICS, compute_relation_scores, relation_statistics
from harness.metrics.klue.wos import (WOS_METRICS, compute_wos_scores, wos_joint_goal_accuracy, wos_slot_micro_f1,
                                      wos_statistics)

__all__ = ["CUT_OFF_HEAD", "DP_METRICS", "KEPT_RELATIONS", "KLUE_DP_LABELS", "MRC_METRICS", "NO_RELATION",
           "RELATION_METRICS", "TAGGING_METRICS", "WOS_METRICS", "WRONG_HEAD", "Arcs", "baseline_arcs",
           "baseline_sentences", "compute_dp_scores", "compute_mrc_scores", "compute_relation_scores",
           "compute_tagging_scores", "compute_wos_scores", "dp_statistics", "mrc_statistics",
           "normalize_mrc_answer", "relation_statistics", "tagging_statistics", "wos_joint_goal_accuracy",
           "wos_slot_micro_f1", "wos_statistics"]
