"""KLUE-DP: the official TSV reader, KLUE's UAS/LAS macro F1, word alignment, the biaffine parser, both modes."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from harness.data.files import NAMED_READERS, read_split
from harness.errors import ConfigError, DataError, TaskError
from harness.metrics.klue import DP_METRICS, KLUE_DP_LABELS, compute_dp_scores
from harness.models import resolve_model
from harness.tasks import parse_task

DEV = "klue/dp/klue-dp-v1.1_dev.tsv"
LABELS = list(KLUE_DP_LABELS)
ALL = list(DP_METRICS)


def dp_task(path: str = DEV, labels=LABELS):
    """A KLUE-DP task as tasks/klue/dp.yaml declares it, reading `path`, with `labels` as its relations."""
    raw = {"suite": "klue", "name": "dp", "version": 1, "format": "n2n", "shape": "arcs", "kind": "classification",
           "fields": {"words": "word_form", "heads": "head", "deprels": "deprel"}, "labels": labels,
           "metrics": ["dp_uas_macro_f1", "dp_las_macro_f1"], "main_score": ["dp_uas_macro_f1", "dp_las_macro_f1"],
           "files": {"validation": {"path": path, "reader": "klue_dp"}}}
    return parse_task(raw, "dp.yaml")


DP = dp_task()

# Sentences analysed for these tests: (guid, sentence, [(word, lemma, pos, head, deprel), ...]).
SENTENCES = [
    ("klue-dp-v1_dev_00000_test", "민수가 어제 새 책을 샀다.", [
        ("민수가", "민수 가", "NNP+JKS", 5, "NP_SBJ"),
        ("어제", "어제", "MAG", 5, "AP"),
        ("새", "새", "MM", 4, "DP"),
        ("책을", "책 을", "NNG+JKO", 5, "NP_OBJ"),
        ("샀다.", "사 았 다 .", "VV+EP+EF+SF", 0, "VP"),
    ]),
    ("klue-dp-v1_dev_00001_test", "고양이는 창가에서 잔다.", [
        ("고양이는", "고양이 는", "NNG+JX", 3, "NP_SBJ"),
        ("창가에서", "창가 에서", "NNG+JKB", 3, "NP_AJT"),
        ("잔다.", "자 ㄴ다 .", "VV+EF+SF", 0, "VP"),
    ]),
    ("klue-dp-v1_dev_00002_test", "비가 그치기를 기다렸다.", [
        ("비가", "비 가", "NNG+JKS", 2, "NP_SBJ"),
        ("그치기를", "그치 기 를", "VV+ETN+JKO", 3, "VP_OBJ"),
        ("기다렸다.", "기다리 었 다 .", "VV+EP+EF+SF", 0, "VP"),
    ]),
]
HEADER = ["## 시험용으로 쓴 파일입니다", "## 구분자 : 탭", "## 칼럼명 : INDEX\tWORD_FORM\tLEMMA\tPOS\tHEAD\tDEPREL"]


def dp_file(sentences=SENTENCES) -> str:
    """A KLUE-DP TSV in the official layout: header comments (one with tabs), `## guid<tab>sentence`, a line per word."""
    lines = list(HEADER)
    for guid, text, words in sentences:
        lines.append(f"## {guid}\t{text}")
        lines += [f"{i}\t{w}\t{lemma}\t{pos}\t{head}\t{rel}" for i, (w, lemma, pos, head, rel) in enumerate(words, 1)]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_dp(root: Path, text: str, relative: str = DEV) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the official TSV reader ---------------------------------------------------------------------

def test_reader_reads_sentences_words_and_arcs(tmp_path):
    write_dp(tmp_path, dp_file())
    split = read_split(DP, "validation", tmp_path)
    assert len(split) == 3 and split.source["path"] == DEV and len(split.source["sha256"]) == 64
    first, second, third = split.examples
    assert first == {"id": "klue-dp-v1_dev_00000_test", "text": "민수가 어제 새 책을 샀다.",
                     "words": ["민수가", "어제", "새", "책을", "샀다."],
                     "pos": ["NNP+JKS", "MAG", "MM", "NNG+JKO", "VV+EP+EF+SF"],
                     "heads": [5, 5, 4, 5, 0], "deprels": ["NP_SBJ", "AP", "DP", "NP_OBJ", "VP"], "label": None}
    assert second["id"] == "klue-dp-v1_dev_00001_test" and second["heads"] == [3, 3, 0]
    assert third["deprels"] == ["NP_SBJ", "VP_OBJ", "VP"] and split.labelled  # gold arcs are its labels


def test_sentence_without_guid_tab_separator_and_no_final_blank_line(tmp_path):
    # Without a sentence comment, a sentence is named by path and line and its text is its words joined
    # by spaces; a line holding only a tab ends a sentence; the file may end without a blank line.
    write_dp(tmp_path, "1\t나는\t나 는\tNP+JX\t2\tNP_SBJ\n2\t간다\t가 ㄴ다\tVV+EF\t0\tVP\n\t\n"
                       "## g2\t그래.\n1\t그래.\t그래 .\tIC+SF\t0\tIP")
    first, second = read_split(DP, "validation", tmp_path).examples
    assert (first["id"], first["text"], first["heads"]) == (f"{DEV}:1", "나는 간다", [2, 0])
    assert (second["id"], second["text"], second["deprels"]) == ("g2", "그래.", ["IP"])


def test_a_comment_inside_a_sentence_is_skipped_and_does_not_split_or_rename_it(tmp_path):
    write_dp(tmp_path, "## g1\t가 나\n1\t가\t가\tNNG\t2\tNP\n## 중간 주석\tx\n2\t나\t나\tNNG\t0\tNP\n")
    (example,) = read_split(DP, "validation", tmp_path).examples
    assert example["id"] == "g1" and example["words"] == ["가", "나"] and example["heads"] == [2, 0]


GOOD = "1\t가\t가\tNNG\t3\tNP"
LAST = "3\t다\t다\tNNG\t0\tVP"


@pytest.mark.parametrize("line,message", [
    ("2\t나\t나\tNNG\t3", r":3: expected 6 tab-separated columns \(INDEX WORD_FORM LEMMA POS HEAD DEPREL\), found 5"),
    ("2 나 나 NNG 3 NP", r":3: expected 6 tab-separated columns .*found 1"),
    ("2\t나\t나\tNNG\t3\tNP\textra", r":3: expected 6 tab-separated columns .*found 7"),
    ("two\t나\t나\tNNG\t3\tNP", r":3: index 'two' is not an integer"),
    ("2\t나\t나\tNNG\t3.0\tNP", r":3: head '3.0' is not an integer"),
    ("2\t나\t나\tNNG\t\tNP", r":3: head '' is not an integer"),
    ("4\t나\t나\tNNG\t3\tNP", r":3: word index 4 where 2 was expected; a sentence's indices run 1..n in order"),
    ("1\t나\t나\tNNG\t3\tNP", r":3: word index 1 where 2 was expected"),
    ("2\t나\t나\tNNG\t4\tNP", r":3: head 4 of word 2 points outside its sentence of 3 words; "
                             r"a head is a word index 1..3, or 0 for the root"),
    ("2\t나\t나\tNNG\t-1\tNP", r":3: head -1 of word 2 points outside its sentence of 3 words"),
    ("2\t나\t나\tNNG\t3\tNP_XYZ", r":3: deprel 'NP_XYZ' is not in klue/dp's label set \['NP', 'NP_AJT', .*'NP_SVJ'\]"),
    ("2\t\t나\tNNG\t3\tNP", r":3: word 2 has an empty WORD_FORM"),
])
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    write_dp(tmp_path, f"## g\t가 나 다\n{GOOD}\n{line}\n{LAST}\n")
    with pytest.raises(DataError, match=r"klue-dp-v1.1_dev.tsv" + message):
        read_split(DP, "validation", tmp_path)


def test_a_head_outside_is_caught_on_the_last_sentence_and_only_counts_its_own_words(tmp_path):
    # Sentence 2 has 2 words: head 3 would be fine in sentence 1 (3 words) but not there; line 7 of the file.
    write_dp(tmp_path, f"{GOOD}\n2\t나\t나\tNNG\t3\tNP\n{LAST}\n\n1\t라\t라\tNNG\t2\tNP\n2\t마\t마\tNNG\t0\tVP\n"
                       "\n1\t바\t바\tNNG\t3\tNP\n2\t사\t사\tNNG\t0\tVP")
    with pytest.raises(DataError, match=rf"{DEV}:8: head 3 of word 1 points outside its sentence of 2 words"):
        read_split(DP, "validation", tmp_path)


def test_without_a_label_set_any_deprel_is_read(tmp_path):
    write_dp(tmp_path, "1\t가\t가\tNNG\t0\tNEW_REL\n")
    (example,) = read_split(dataclasses.replace(DP, labels=()), "validation", tmp_path).examples
    assert example["deprels"] == ["NEW_REL"]


def test_unreadable_file_says_what_it_expected(tmp_path):
    write_dp(tmp_path, "")
    (tmp_path / DEV).write_bytes(b"1\t\xff\xfe\t\n")
    with pytest.raises(DataError, match="cannot read .*is it a UTF-8 KLUE-DP TSV file"):
        read_split(DP, "validation", tmp_path)


def test_the_reader_is_registered_by_name(tmp_path):
    assert NAMED_READERS["klue_dp"].__name__ == "read_klue_dp"
    write_dp(tmp_path, f"{LAST}\n")
    other = dataclasses.replace(DP, files={"validation": dataclasses.replace(DP.files["validation"], reader="conllu")})
    with pytest.raises(TaskError, match="reader 'conllu' is not one of klue_dp, klue_mrc, klue_ner, klue_wos"):
        read_split(other, "validation", tmp_path)


def test_the_real_dev_file(shared_data):
    path = shared_data / DEV
    if not path.is_file():
        pytest.skip(f"{path} not found")
    split = read_split(DP, "validation", shared_data)
    assert len(split) == 2000
    assert sum(len(ex["words"]) for ex in split.examples) == 22_496  # the word lines of the file
    first = split.examples[0]
    assert first["id"] == "klue-dp-v1_dev_00000_wikitree" and first["heads"] == [2, 6, 4, 6, 6, 0]
    assert first["deprels"] == ["NP", "NP_SBJ", "NP_MOD", "NP_AJT", "NP_OBJ", "VP"]
    # Each guid comment's sentence is the text read; every sentence's words, joined, are that sentence.
    sentences = [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()
                 if line.startswith("## klue-dp")]
    assert sentences == [ex["text"] for ex in split.examples]
    assert all(" ".join(ex["words"]) == ex["text"] for ex in split.examples[:100])
    assert all(ex["heads"].count(0) >= 1 for ex in split.examples)
    assert {rel for ex in split.examples for rel in ex["deprels"]} <= set(KLUE_DP_LABELS)



# --- KLUE's DP metrics ---------------------------------------------------------------------------

def rel(*names: str) -> list[int]:
    return [LABELS.index(name) for name in names]


def test_uas_macro_f1_is_a_macro_mean_over_head_positions():
    gold, pred = [[2, 0, 2]], [[2, 0, 1]]
    relations = [rel("NP_SBJ", "VP", "NP_OBJ")]
    scores = compute_dp_scores(ALL, pred, gold, relations, relations)
    # Head classes seen: 0, 1, 2. Class 2: TP 1, gold 2, predicted 1 -> 2*1/(2+1) = 2/3; class 0: 2*1/(1+1) = 1;
    # class 1 (predicted only): 0. Macro (2/3 + 1 + 0) / 3 = 5/9. Plain UAS: 2 of 3 heads right.
    assert scores["dp_uas_macro_f1"] == pytest.approx(100 * 5 / 9)
    assert scores["dp_uas_micro_f1"] == pytest.approx(100 * 2 / 3)
    # LAS: word 3's head is wrong, so its predicted NP_OBJ becomes the wrong-head class. Classes: NP_SBJ 1,
    # VP 1, NP_OBJ (gold only) 0, wrong head (predicted only) 0 -> 2/4. Micro: 2 of 3 words right.
    assert scores["dp_las_macro_f1"] == pytest.approx(50.0)
    assert scores["dp_las_micro_f1"] == pytest.approx(100 * 2 / 3)


def test_head_positions_are_classes_across_sentences_and_an_impossible_head_adds_a_zero_class():
    gold = [[2, 0], [0, 1, 1]]
    pred = [[9, 0], [0, 1, 1]]
    relations = [rel("NP", "VP"), rel("VP", "NP", "NP")]
    scores = compute_dp_scores(["dp_uas_macro_f1", "dp_uas_micro_f1"], pred, gold, relations, relations)
    # Classes 0 (TP 2 of 2 and 2: F1 1), 1 (TP 2: F1 1), 2 (gold only: 0), 9 (predicted only, past the end of
    # its sentence: 0). Macro 2/4; UAS 4 of 5 words.
    assert scores == {"dp_uas_macro_f1": pytest.approx(50.0), "dp_uas_micro_f1": pytest.approx(80.0)}


def test_las_merges_rare_relations_into_one_class():
    heads = [[2, 0]]
    # VP_CMP and X_AJT come after the baseline's first 15 relations: both are "others", so this counts as right.
    merged = compute_dp_scores(["dp_las_macro_f1", "dp_las_micro_f1"], heads, heads, [rel("X_AJT", "VP")],
                               [rel("VP_CMP", "VP")])
    assert merged == {"dp_las_macro_f1": 100.0, "dp_las_micro_f1": 100.0}
    # VP_SBJ (15th) is still its own class: VP_SBJ for VP_CMP is wrong. Classes VP_SBJ 0, others 0, VP 1 -> 1/3.
    kept = compute_dp_scores(["dp_las_macro_f1", "dp_las_micro_f1"], heads, heads, [rel("VP_SBJ", "VP")],
                             [rel("VP_CMP", "VP")])
    assert kept == {"dp_las_macro_f1": pytest.approx(100 / 3), "dp_las_micro_f1": pytest.approx(50.0)}


def test_the_wrong_head_class_caps_las_below_perfect_even_with_every_relation_right():
    gold = [[2, 0, 2, 2]]
    pred = [[2, 0, 2, 1]]
    relations = [rel("NP_SBJ", "VP", "NP_OBJ", "NP_OBJ")]
    scores = compute_dp_scores(["dp_las_macro_f1", "dp_las_micro_f1"], pred, gold, relations, relations)
    # Word 4's head is wrong: its NP_OBJ becomes the wrong-head class. NP_SBJ 1, VP 1, NP_OBJ: TP 1, gold 2,
    # predicted 1 -> 2/3; wrong head 0. Macro (1 + 1 + 2/3 + 0) / 4 = 2/3. Micro: 3 of 4.
    assert scores == {"dp_las_macro_f1": pytest.approx(100 * 2 / 3), "dp_las_micro_f1": pytest.approx(75.0)}
    # A relation predicted only where the head is wrong never becomes a class: AP here (classes NP_SBJ,
    # VP, NP_OBJ (2/3), wrong head), the same 2/3.
    other = compute_dp_scores(["dp_las_macro_f1"], pred, gold, [rel("NP_SBJ", "VP", "NP_OBJ", "AP")], relations)
    assert other["dp_las_macro_f1"] == pytest.approx(100 * 2 / 3)


def test_relations_may_index_any_order_of_the_labels_and_inputs_may_be_numpy_or_torch():
    import torch

    rng = np.random.default_rng(0)
    lengths = [5, 1, 7, 3]
    gold_heads = [rng.integers(0, n + 1, n) for n in lengths]
    pred_heads = [rng.integers(0, n + 1, n) for n in lengths]
    gold_rel = [rng.integers(0, len(LABELS), n) for n in lengths]
    pred_rel = [rng.integers(0, len(LABELS), n) for n in lengths]
    expected = compute_dp_scores(ALL, [h.tolist() for h in pred_heads], [h.tolist() for h in gold_heads],
                                 [r.tolist() for r in pred_rel], [r.tolist() for r in gold_rel])
    shuffled = list(rng.permutation(LABELS))
    remap = np.array([shuffled.index(name) for name in LABELS])
    assert compute_dp_scores(ALL, pred_heads, gold_heads, [remap[r] for r in pred_rel], [remap[r] for r in gold_rel],
                             labels=shuffled) == expected
    as_torch = [[torch.as_tensor(x) for x in side] for side in (pred_heads, gold_heads, pred_rel, gold_rel)]
    assert compute_dp_scores(ALL, *as_torch) == expected


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_sklearn_computed_as_the_baseline_computes_them(seed):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 25, 40)
    # Relations skewed as in the data: the first 15 common, the 23 rare ones seldom.
    weights = np.r_[np.full(15, 0.9 / 15), np.full(len(LABELS) - 15, 0.1 / (len(LABELS) - 15))]
    gold_heads, pred_heads, gold_rel, pred_rel = [], [], [], []
    for n in lengths:
        gold_heads.append(rng.integers(0, n + 1, n))
        gold_rel.append(rng.choice(len(LABELS), n, p=weights))
        keep = rng.random(n) < 0.7  # predictions agree with the gold most of the time
        pred_heads.append(np.where(keep, gold_heads[-1], rng.integers(0, n + 3, n)))  # may point past the end
        pred_rel.append(np.where(rng.random(n) < 0.7, gold_rel[-1], rng.choice(len(LABELS), n, p=weights)))
    ours = compute_dp_scores(ALL, pred_heads, gold_heads, pred_rel, gold_rel)

    # The baseline: batches of word positions padded to the longest sentence with gold -1 (and some
    # prediction there), flattened; positions whose gold is -1 dropped; relations from index 15 on become
    # -3 on both sides; where the head is wrong the predicted relation becomes -2; sklearn's f1_score.
    width = max(lengths)
    padded = {name: np.full((len(lengths), width), -1) for name in ("gh", "ph", "gr", "pr")}
    for i, n in enumerate(lengths):
        padded["gh"][i, :n], padded["gr"][i, :n] = gold_heads[i], gold_rel[i]
        padded["ph"][i] = rng.integers(0, width + 1, width)
        padded["pr"][i] = rng.integers(0, len(LABELS), width)
        padded["ph"][i, :n], padded["pr"][i, :n] = pred_heads[i], pred_rel[i]
    gh, ph, gr, pr = (padded[name].ravel() for name in ("gh", "ph", "gr", "pr"))
    ph, pr = ph[gh != -1], pr[gr != -1]
    gh, gr = gh[gh != -1], gr[gr != -1]
    gr, pr = np.where(gr >= 15, -3, gr), np.where(pr >= 15, -3, pr)
    pr = np.where(ph == gh, pr, -2)
    for average in ("macro", "micro"):
        uas = f1_score(gh.tolist(), ph.tolist(), average=average) * 100
        las = f1_score(gr.tolist(), pr.tolist(), average=average) * 100
        assert ours[f"dp_uas_{average}_f1"] == pytest.approx(uas, abs=1e-9)
        assert ours[f"dp_las_{average}_f1"] == pytest.approx(las, abs=1e-9)


@pytest.mark.parametrize("args,error,message", [
    (([[1, 0]], [[2, 0]], [[0]], [[0, 0]]), DataError, r"predicted, sentence 0: 2 heads for 1 relations"),
    (([[0]], [[2, 0]], [[0]], [[0, 0]]), DataError, r"sentence 0: 1 predicted heads for 2 words"),
    (([[0]], [[0], [0]], [[0]], [[0], [0]]), DataError, r"1 predicted sentences for 2 gold ones"),
    (([[0]], [[0]], [[38]], [[0]]), DataError, r"predicted, sentence 0: relation index 38 is outside the 38 labels"),
    (([[0]], [[-1]], [[0]], [[0]]), DataError, r"a gold head is negative"),
    (([[0.5]], [[0]], [[0]], [[0]]), DataError, r"predicted, sentence 0 heads: expected one integer per word"),
    (([], [], [], []), DataError, r"no words to score"),
])
def test_bad_input_is_a_data_error(args, error, message):
    with pytest.raises(error, match=message):
        compute_dp_scores(ALL, *args)


def test_unknown_metric_and_foreign_labels_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown dependency-parsing metric\(s\) 'dp_uas'; known: dp_las_macro_f1"):
        compute_dp_scores(["dp_uas"], [[0]], [[0]], [[0]], [[0]])
    with pytest.raises(ConfigError, match=r"relation 'ROOT' is not one of KLUE-DP's 38 relations"):
        compute_dp_scores(ALL, [[0]], [[0]], [[0]], [[0]], labels=["ROOT"])


# --- word alignment, the parser, and both modes ---------------------------------------------------

NOUNS = ["민수", "지아", "고양이", "선생님", "동생"]
OBJECTS = ["책", "사과", "편지", "우산"]
PLACES = ["학교", "공원", "시장"]
VERBS = ["샀다.", "읽었다.", "보았다.", "찾았다."]


def template_sentences(count: int, seed: int = 0):
    """Sentences with fixed structures (so arcs are learnable), in SENTENCES' shape."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(count):
        n, o, p, v = rng.choice(NOUNS), rng.choice(OBJECTS), rng.choice(PLACES), rng.choice(VERBS)
        words = [
            [(f"{n}가", "", "NNP+JKS", 3, "NP_SBJ"), (f"{o}을", "", "NNG+JKO", 3, "NP_OBJ"), (v, "", "VV+EF+SF", 0, "VP")],
            [(f"{n}는", "", "NNG+JX", 4, "NP_SBJ"), ("어제", "", "MAG", 4, "AP"), (f"{p}에서", "", "NNG+JKB", 4, "NP_AJT"),
             (v, "", "VV+EF+SF", 0, "VP")],
            [("새", "", "MM", 2, "DP"), (f"{o}이", "", "NNG+JKS", 3, "NP_SBJ"), ("왔다.", "", "VV+EF+SF", 0, "VP")],
        ][i % 3]
        out.append((f"klue-dp-v1_dev_{i:05d}_test", " ".join(w[0] for w in words), words))
    return out


@pytest.fixture(scope="module")
def korean_dp_model(tmp_path_factory) -> Path:
    from conftest import build_korean_bert

    texts = [text for _, text, _ in template_sentences(60)] + [text for _, text, _ in SENTENCES]
    return build_korean_bert(tmp_path_factory.mktemp("tiny-korean-dp"), texts, merges=10)


def _tokenizer(folder):
    from harness.models import load_tokenizer, resolve_model

    return load_tokenizer(resolve_model(str(folder)))


def test_encode_points_each_word_at_its_first_token_and_keeps_its_arcs(korean_dp_model, tmp_path):
    from harness.formats import dependency

    examples = read_split(DP, "validation", write_dp(tmp_path, dp_file()).parents[2]).examples
    tokenizer = _tokenizer(korean_dp_model)
    features, alignments = dependency.encode(tokenizer, examples, 128, {label: i for i, label in enumerate(LABELS)})
    for feature, alignment, example in zip(features, alignments, examples):
        word_ids = tokenizer(example["words"], is_split_into_words=True).word_ids()
        assert [word_ids.index(w) for w in range(len(example["words"]))] == feature["word_starts"]
        assert feature["head_labels"] == example["heads"] and alignment.truncated == 0
        assert feature["relation_labels"] == [LABELS.index(r) for r in example["deprels"]]


def test_words_past_max_length_are_counted_and_decoded_with_a_head_no_gold_word_has(korean_dp_model, tmp_path):
    from harness.formats import dependency

    (example,) = read_split(DP, "validation", write_dp(tmp_path, dp_file(SENTENCES[:1])).parents[2]).examples
    tokenizer = _tokenizer(korean_dp_model)
    kept = 3
    length = tokenizer(example["words"][:kept], is_split_into_words=True)["input_ids"]
    (feature,), (alignment,) = dependency.encode(tokenizer, [example], len(length), {r: i for i, r in enumerate(LABELS)})
    assert len(feature["word_starts"]) == kept and alignment.truncated == 2
    # 민수가 -> 5 and 어제 -> 5 lost their head to truncation; 새 -> 4 did too (word 4 is cut).
    assert feature["head_labels"] == [dependency.IGNORE, dependency.IGNORE, dependency.IGNORE]
    heads, relations = dependency.decode(np.array([[2, 0, 1]]), np.array([[3, 1, 10]]), [alignment])
    assert heads[0].tolist() == [2, 0, 1, dependency.CUT_OFF_HEAD, dependency.CUT_OFF_HEAD]
    assert relations[0].tolist() == [3, 1, 10, 0, 0]


def test_a_perfect_parser_with_the_last_word_cut_off_scores_below_100_uas():
    from harness.formats import dependency

    gold_heads, gold_relations = [[2, 3, 0]], [[LABELS.index(r) for r in ("NP_SBJ", "NP_OBJ", "VP")]]
    # Every kept word parsed right; max_length cut the last word (whose gold head is the root, as in every
    # KLUE-DP dev sentence).
    alignment = dependency.WordAlignment(starts=(1, 2), truncated=1)
    heads, relations = dependency.decode(np.array([[2, 3]]), np.array(gold_relations)[:, :2], [alignment])
    scores = compute_dp_scores(ALL, heads, gold_heads, relations, gold_relations, LABELS)
    # By the baseline's rules: UAS (micro) 2 of 3 words. UAS macro F1 over the head classes seen on either
    # side {2, 3, 0, -1}: 2 and 3 score 1, the root (gold once, never predicted) 0, -1 (predicted once, never
    # gold) 0 -> 2 / 4.
    assert scores["dp_uas_micro_f1"] == pytest.approx(100 * 2 / 3)
    assert scores["dp_uas_macro_f1"] == pytest.approx(100 * 2 / 4)
    assert scores["dp_las_micro_f1"] == pytest.approx(100 * 2 / 3)


def test_the_parser_scores_only_the_root_and_real_words():
    import torch

    from harness.heads.arcs import BiaffineParser

    torch.manual_seed(0)
    parser = BiaffineParser(hidden_size=8, num_relations=5).eval()
    words = torch.randn(2, 4, 8)  # root + up to 3 words
    mask = torch.tensor([[True, True, True], [True, False, False]])
    output = parser(words, mask)
    assert output["predicted_heads"].shape == output["predicted_relations"].shape == (2, 3)
    assert output["predicted_heads"][1, 0].item() in (0, 1)  # the one-word sentence: the root or itself
    heads = torch.tensor([[2, 0, 2], [0, -100, -100]])
    relations = torch.tensor([[1, 4, 0], [4, -100, -100]])
    loss = parser(words, mask, heads, relations)["loss"]
    loss.backward()
    assert torch.isfinite(loss) and parser.distance_bias.weight.grad.abs().sum() > 0


def test_both_modes_end_to_end_on_fixture_files(korean_dp_model, tmp_path):
    from harness import evaluate
    from harness.results import read_result

    write_dp(tmp_path / "data", dp_file(template_sentences(60)))
    evaluation = evaluate(str(korean_dp_model), tasks=["klue/dp"], mode="both", data_dir=tmp_path / "data",
                          output_dir=tmp_path / "reports", split_strategy="holdout", epochs=10, min_steps=0, learning_rate=1e-3,
                          head_epochs=40, quiet=True, device="cpu", batch_size=8)
    for result in evaluation.results:
        folder = tmp_path / "reports" / resolve_model(str(korean_dp_model)).slug / "klue" / "dp" / f"{result.mode}-seed42"
        written = read_result(folder / "result.json")
        assert written.num_train == 48 and written.num_eval == 12 and written.timings["truncated_words"] == 0
        assert set(written.scores) == set(DP_METRICS)
        assert written.main_score == pytest.approx((written.scores["dp_uas_macro_f1"]
                                                    + written.scores["dp_las_macro_f1"]) / 2)
        import json

        rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        assert len(rows) == 12 and all(len(r["predicted_heads"]) == len(r["heads"]) == len(r["words"]) for r in rows)
        assert all(set(r["predicted_deprels"]) <= set(LABELS) for r in rows)
        # Three fixed structures: both parsers attach nearly every word right.
        assert written.scores["dp_uas_micro_f1"] > 80, (result.mode, written.scores)


@pytest.mark.parametrize("heads, problem", [
    ([2, 2, 0], "word 2 is its own head"),
    ([0, 3, 0], r"2 roots \(1, 3\)"),
    ([2, 3, 1], r"no root \(no head 0\)"),
    ([2, 1, 0], "words 1 -> 2 -> 1 head each other in a cycle"),
])
def test_gold_heads_that_are_no_tree_are_refused_naming_the_sentence(tmp_path, heads, problem):
    words = "\n".join(f"{i}\t{w}\t{w}\tNNG\t{h}\tNP" for i, (w, h) in enumerate(zip("가나다", heads), 1))
    write_dp(tmp_path, f"## g1\t가 나\n1\t가\t가\tNNG\t2\tNP\n2\t나\t나\tNNG\t0\tNP\n\n## g2\t가 나 다\n{words}\n")
    with pytest.raises(DataError, match=rf"{DEV}:6: the heads of sentence g2 are no tree: {problem}; every word"):
        read_split(DP, "validation", tmp_path)
