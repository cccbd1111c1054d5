"""KLUE-NER end to end: the official TSV reader, N2N alignment and decoding, KLUE's NER metrics, both modes."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import build_korean_bert
from harness import evaluate
from harness.data.files import read_split
from harness.data.splits import plan_splits
from harness.errors import DataError, TaskError
from harness.formats import n2n
from harness.metrics.klue import compute_tagging_scores
from harness.models import load_tokenizer, resolve_model
from harness.report import write_report
from harness.results import read_result
from harness.runners.features import FeatureCache
from harness.tasks import REGISTRY, parse_task

NER = REGISTRY.get("klue/ner")
LABELS = list(NER.labels)
DEV = "klue/ner/klue-ner-v1.1_dev.tsv"
MARKUP = re.compile(r"<([^<>]+?):([A-Z]{2})>")

# Sentences written for these tests in KLUE's markup; entities may hold spaces (tagged I-X, as KLUE does).
PEOPLE = ["김하늘", "오지훈", "한서윤", "정우성민"]
PLACES = ["인천", "광주 북구", "강릉", "세종시"]
GROUPS = ["한빛전자", "푸른숲재단", "바다대학교"]
DATES = ["2021년 7월", "어제", "10일"]
TIMES = ["오전 9시", "밤"]
AMOUNTS = ["15명", "200만 원", "세 번"]
TEMPLATES = [
    "<{p}:PS>씨는 <{d}:DT> <{l}:LC>에서 <{g}:OG> 행사를 열었다.",
    "<{g}:OG>은 <{t}:TI>에 <{q}:QT>을 모았다고 말했다.",
    "<{p}:PS> 대표는 <{l}:LC>로 향했고 <{q}:QT>이 뒤따랐다.",
    "<{d}:DT> <{t}:TI>, <{p}:PS>와 <{p2}:PS>가 <{l}:LC>에 닿았다.",
]


def fixture_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(TEMPLATES).format(p=rng.choice(PEOPLE), p2=rng.choice(PEOPLE), l=rng.choice(PLACES),
                                         g=rng.choice(GROUPS), d=rng.choice(DATES), t=rng.choice(TIMES),
                                         q=rng.choice(AMOUNTS)) for _ in range(count)]


def char_tags(markup: str) -> list[tuple[str, str]]:
    """(character, BIO tag) for each character of a marked-up sentence."""
    pairs, position = [], 0
    for match in MARKUP.finditer(markup):
        pairs += [(char, "O") for char in markup[position:match.start()]]
        pairs += [(char, ("B-" if i == 0 else "I-") + match.group(2)) for i, char in enumerate(match.group(1))]
        position = match.end()
    return pairs + [(char, "O") for char in markup[position:]]


def plain(markup: str) -> str:
    return MARKUP.sub(r"\1", markup)


def ner_file(sentences: list[str], split: str = "dev") -> str:
    """A KLUE-NER TSV in the official layout: header comments, then `## guid<tab>markup` and a line per character."""
    lines = ["## 이 파일은 시험용입니다", "## 열: CHAR\tNE_TAG"]
    for i, markup in enumerate(sentences):
        lines.append(f"## klue-ner-v1_{split}_{i:05d}-test\t{markup}")
        lines += [f"{char}\t{tag}" for char, tag in char_tags(markup)]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_ner(root: Path, sentences: list[str], relative: str = DEV) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ner_file(sentences), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def korean_model_dir(tmp_path_factory) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary learnt on fixture sentences: every syllable, plus 40 merges
    (frequent words and pieces such as 김하늘, 광주, ##씨는), so tokens cover one or several characters."""
    return build_korean_bert(tmp_path_factory.mktemp("tiny-korean-bert"), [plain(s) for s in fixture_sentences(200, seed=1)])


def _labels(tags: list[str]) -> list[int]:
    return [LABELS.index(tag) for tag in tags]


# --- the official TSV reader ---------------------------------------------------------------------

def test_reader_reads_sentences_guids_and_character_tags(tmp_path):
    sentences = ["<김하늘:PS>씨는 <광주 북구:LC>에 산다.", "<2021년 7월:DT>에 왔다"]
    write_ner(tmp_path, sentences)
    split = read_split(NER, "validation", tmp_path)
    assert len(split) == 2 and split.source["path"] == DEV and len(split.source["sha256"]) == 64
    first, second = split.examples
    assert first["id"] == "klue-ner-v1_dev_00000-test" and first["text"] == "김하늘씨는 광주 북구에 산다."
    assert first["chars"] == list(first["text"])
    assert first["tags"][:7] == ["B-PS", "I-PS", "I-PS", "O", "O", "O", "B-LC"]
    assert first["tags"][7:12] == ["I-LC", "I-LC", "I-LC", "I-LC", "O"]  # the space inside "광주 북구" is I-LC
    assert first["label"] == _labels(first["tags"])
    assert second["text"] == "2021년 7월에 왔다" and second["tags"][0] == "B-DT"


def test_sentence_without_guid_and_file_without_final_blank_line(tmp_path):
    path = tmp_path / DEV
    path.parent.mkdir(parents=True)
    path.write_text("가\tO\n \tO\n나\tB-PS\n\n\t\n다\tB-LC\n라\tI-LC", encoding="utf-8")
    examples = read_split(NER, "validation", tmp_path).examples
    assert [ex["id"] for ex in examples] == [f"{DEV}:1", f"{DEV}:6"]  # path and line of the first character
    assert [ex["text"] for ex in examples] == ["가 나", "다라"]
    assert examples[1]["tags"] == ["B-LC", "I-LC"]


def test_a_stray_inside_tag_is_kept(tmp_path):
    path = tmp_path / DEV
    path.parent.mkdir(parents=True)
    path.write_text("## g1\t가나\n가\tO\n나\tI-OG\n", encoding="utf-8")
    (example,) = read_split(NER, "validation", tmp_path).examples
    assert example["id"] == "g1" and example["tags"] == ["O", "I-OG"]


@pytest.mark.parametrize("line,message", [
    ("가 O", r"klue-ner-v1.1_dev.tsv:3: expected CHAR<tab>TAG, found no tab in '가 O'"),
    ("가\tB-XX", r"klue-ner-v1.1_dev.tsv:3: label 'B-XX' is not in klue/ner's label set \['B-DT', 'I-DT', .*'O'\]"),
    ("가나\tO", r"klue-ner-v1.1_dev.tsv:3: expected one character before the tab, found '가나'"),
    ("가\t", r"klue-ner-v1.1_dev.tsv:3: no tag after the tab"),
])
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / DEV
    path.parent.mkdir(parents=True)
    path.write_text(f"## g\tx\n나\tO\n{line}\n다\tO\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_split(NER, "validation", tmp_path)


def test_unknown_reader_name_is_a_task_error(tmp_path):
    raw = {"suite": "toy", "name": "t", "version": 1, "format": "n2n", "kind": "classification",
           "fields": {"chars": "tokens", "label": "ner_tags"}, "labels": LABELS, "metrics": ["ner_char_macro_f1"],
           "main_score": "ner_char_macro_f1", "files": {"validation": {"path": "x.tsv", "reader": "conll"}}}
    (tmp_path / "x.tsv").write_text("가\tO\n", encoding="utf-8")
    with pytest.raises(TaskError, match="files.validation.reader 'conll' is not one of klue_dp, klue_mrc, klue_ner, klue_wos"):
        read_split(parse_task(raw, "toy.yaml"), "validation", tmp_path)


def test_the_real_dev_file(shared_data):
    path = shared_data / DEV
    if not path.is_file():
        pytest.skip(f"{path} not found")
    split = read_split(NER, "validation", shared_data)
    assert len(split) == 5000
    assert sum(len(ex["chars"]) for ex in split.examples) == 285_929
    assert split.examples[0]["id"] == "klue-ner-v1_dev_00000-wikitree"
    # The sentence each guid comment carries, markup removed, is the characters read.
    sentences = [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()
                 if line.startswith("## klue-ner")]
    assert [plain(s) for s in sentences] == [ex["text"] for ex in split.examples]
    entities = sum(tag.startswith("B-") for ex in split.examples for tag in ex["tags"])
    assert entities == 14_257  # the B- lines of the file


def test_hub_rows_map_to_the_same_schema(monkeypatch, tmp_path):
    import datasets

    from harness.data.hub import load_hub_split

    sentences = ["<김하늘:PS>씨는 <광주 북구:LC>에 산다.", "<2021년 7월:DT>에 왔다"]
    rows = {"sentence": sentences, "tokens": [[c for c, _ in char_tags(s)] for s in sentences],
            "ner_tags": [_labels([t for _, t in char_tags(s)]) for s in sentences]}
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: datasets.Dataset.from_dict(rows))
    hub = load_hub_split(NER, "validation").examples
    write_ner(tmp_path, sentences)
    files = read_split(NER, "validation", tmp_path).examples
    assert [ex["id"] for ex in hub] == ["validation:0", "validation:1"]
    assert [{k: v for k, v in ex.items() if k != "id"} for ex in hub] == \
        [{k: v for k, v in ex.items() if k != "id"} for ex in files]

    rows["ner_tags"][1][0] = 13  # one past O
    with pytest.raises(DataError, match=r"row 1, character 0 \('2'\): label 13 is not in klue/ner's label set"):
        load_hub_split(NER, "validation")


# --- N2N alignment and decoding ------------------------------------------------------------------

def test_align_trims_spaces_skips_special_and_shared_tokens_and_counts_truncation():
    text = "ab cd ef"
    offsets = [(0, 0), (0, 2), (2, 4), (4, 5), (4, 5), (0, 0)]  # [CLS] "ab" " c" "d" "d"(byte split) [SEP]
    sequence_ids = [None, 0, 0, 0, 0, None]
    alignment = n2n.align(text, offsets, sequence_ids, cut=True)
    assert alignment.spans == (None, (0, 2), (3, 4), (4, 5), None, None)
    assert alignment.truncated == 2  # "ef" never reached a token
    assert n2n.align(text, offsets, sequence_ids, cut=False).truncated == 0


def test_decode_continues_entities_within_a_token_and_leaves_uncovered_characters_o():
    example = {"text": "김하늘 광주"}
    alignment = n2n.Alignment(spans=(None, (0, 2), (2, 3), (4, 6), None), truncated=0)
    predicted = np.array(_labels(["O", "B-PS", "I-PS", "B-LC", "O"]))
    (tags,) = n2n.decode(NER, [predicted], [example], [alignment])
    # "김하" predicted B-PS -> B-PS I-PS; "늘" I-PS; the space, covered by no token, O; "광주" B-LC -> B-LC I-LC
    assert [LABELS[t] for t in tags] == ["B-PS", "I-PS", "I-PS", "O", "B-LC", "I-LC"]


def _round_trip(tokenizer, examples, max_length=128):
    features, alignments = n2n.encode(tokenizer, examples, max_length)
    decoded = n2n.decode(NER, [np.array(f["labels"]) for f in features], examples, alignments)
    for example, tags, alignment in zip(examples, decoded, alignments):
        starts = [span[0] for span in alignment.spans if span is not None]
        assert starts, example["text"]
        assert [tags[s] for s in starts] == [example["label"][s] for s in starts]
    return features, alignments


def test_round_trip_with_the_korean_tokenizer(korean_model_dir, tmp_path):
    write_ner(tmp_path, fixture_sentences(30))
    examples = read_split(NER, "validation", tmp_path).examples
    tokenizer = load_tokenizer(resolve_model(str(korean_model_dir)))
    features, alignments = _round_trip(tokenizer, examples)
    assert all(a.truncated == 0 for a in alignments)
    assert any(span[1] - span[0] > 1 for a in alignments for span in a.spans if span)  # multi-syllable pieces
    for example, feature, alignment in zip(examples, features, alignments):
        covered = {i for span in alignment.spans if span for i in range(*span)}
        assert covered == {i for i, c in enumerate(example["chars"]) if c != " "}  # spaces only are left out
        assert feature["labels"][0] == feature["labels"][-1] == n2n.IGNORE  # [CLS] and [SEP]


def test_round_trip_with_the_english_test_tokenizer(tiny_model_dir):
    text = "the man plays guitar on the mat ."
    tags = ["O"] * len(text)
    tags[4:7] = ["B-PS", "I-PS", "I-PS"]
    tags[28:31] = ["B-LC", "I-LC", "I-LC"]
    example = {"id": "e", "text": text, "chars": list(text), "tags": tags, "label": _labels(tags)}
    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    _round_trip(tokenizer, [example])
    features, alignments = n2n.encode(tokenizer, [example], 128)
    decoded = n2n.decode(NER, [np.array(features[0]["labels"])], [example], alignments)[0]
    assert [LABELS[t] for t in decoded] == tags  # whole-word tokens: every character comes back


def test_truncation_leaves_characters_o_and_is_counted(korean_model_dir):
    text = "김하늘씨는 광주 북구에서 오전 9시에 15명을 만났다"
    tags = [t for _, t in char_tags("<김하늘:PS>씨는 <광주 북구:LC>에서 <오전 9시:TI>에 <15명:QT>을 만났다")]
    example = {"id": "t", "text": text, "chars": list(text), "tags": tags, "label": _labels(tags)}
    tokenizer = load_tokenizer(resolve_model(str(korean_model_dir)))
    features, (alignment,) = n2n.encode(tokenizer, [example], max_length=6)
    assert len(features[0]["input_ids"]) == 6
    last = max(span[1] for span in alignment.spans if span)
    assert alignment.truncated == sum(not c.isspace() for c in text[last:]) > 0
    (decoded,) = n2n.decode(NER, [np.array(features[0]["labels"])], [example], [alignment])
    assert all(LABELS[t] == "O" for t in decoded[last:])


# --- KLUE's NER metrics --------------------------------------------------------------------------

def test_metrics_on_a_hand_computed_case():
    chars = ["김", "씨", " ", "서", "울"]
    gold = _labels(["B-PS", "O", "O", "B-LC", "I-LC"])
    pred = _labels(["B-PS", "O", "B-LC", "B-LC", "O"])  # B-LC on the space is not scored
    scores = compute_tagging_scores(["ner_entity_macro_f1", "ner_char_macro_f1", "ner_char_macro_f1_without_o"],
                                    [pred], [gold], [chars], LABELS)
    # Scored (space dropped, O wrapped around): gold O B-PS O B-LC I-LC O, predicted O B-PS O B-LC O O.
    # Entities: PS 0-1 found (F1 1); LC 3-5 predicted as 3-4 (F1 0): macro 1/2.
    assert scores["ner_entity_macro_f1"] == pytest.approx(50.0)
    # Characters: O has TP 3, FP 1, FN 0 -> 6/7; B-PS 1; B-LC 1; I-LC 0 (one miss); the 9 tags that
    # occur nowhere score 1 (zero_division=1): (6/7 + 1 + 1 + 0 + 9) / 13 = 83/91.
    assert scores["ner_char_macro_f1"] == pytest.approx(100 * 83 / 91)
    # Without O: (1 + 1 + 0 + 9) / 12.
    assert scores["ner_char_macro_f1_without_o"] == pytest.approx(100 * 11 / 12)


def test_entity_f1_is_strict_and_sentences_do_not_run_together():
    chars = [["가", "나"], ["다", "라"]]
    gold = [_labels(["O", "B-PS"]), _labels(["B-PS", "I-PS"])]
    pred = [_labels(["O", "B-PS"]), _labels(["I-PS", "I-PS"])]
    # Gold: PS at 1 (sentence 1) and PS at 0-2 (sentence 2). Predicted: PS at 1 only; the I-PS I-PS
    # run has no B-PS (strict IOB2: no entity) and does not continue sentence 1's B-PS across the
    # boundary. PS: TP 1, FP 0, FN 1 -> F1 2/3.
    scores = compute_tagging_scores(["ner_entity_macro_f1"], pred, gold, chars, LABELS)
    assert scores["ner_entity_macro_f1"] == pytest.approx(100 * 2 / 3)


def test_no_entities_anywhere_scores_zero_not_nan():
    o = _labels(["O", "O"])
    assert compute_tagging_scores(["ner_entity_macro_f1"], [o], [o], [["가", "나"]], LABELS) == \
        {"ner_entity_macro_f1": 0.0}


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_seqeval_and_sklearn_called_as_the_baseline_calls_them(seed):
    from seqeval.metrics import f1_score as seqeval_f1
    from seqeval.scheme import IOB2
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    weights = np.full(len(LABELS), 0.4 / (len(LABELS) - 1))
    weights[LABELS.index("O")] = 0.6
    chars, gold, pred = [], [], []
    for _ in range(60):
        n = int(rng.integers(1, 30))
        chars.append([" " if rng.random() < 0.15 else "가" for _ in range(n)])
        gold.append(rng.choice(len(LABELS), size=n, p=weights).tolist())
        keep = rng.random(n) < 0.7  # predictions agree with the gold tags most of the time
        pred.append(np.where(keep, gold[-1], rng.choice(len(LABELS), size=n, p=weights)).tolist())
    ours = compute_tagging_scores(["ner_entity_macro_f1", "ner_char_macro_f1", "ner_char_macro_f1_without_o"],
                                  pred, gold, chars, LABELS)
    # The baseline: per sentence [CLS] + the non-space characters + last position, flattened, as indices.
    outside = LABELS.index("O")
    flat_gold, flat_pred = [], []
    for c, g, p in zip(chars, gold, pred):
        flat_gold += [outside] + [t for t, ch in zip(g, c) if ch != " "] + [outside]
        flat_pred += [outside] + [t for t, ch in zip(p, c) if ch != " "] + [outside]
    entity = seqeval_f1([[LABELS[t] for t in flat_gold]], [[LABELS[t] for t in flat_pred]],
                        average="macro", mode="strict", scheme=IOB2)
    char = f1_score(flat_gold, flat_pred, labels=list(range(len(LABELS))), average="macro", zero_division=True)
    without_o = f1_score(flat_gold, flat_pred, labels=[i for i in range(len(LABELS)) if i != outside],
                         average="macro", zero_division=True)
    assert ours["ner_entity_macro_f1"] == pytest.approx(entity * 100, abs=1e-9)
    assert ours["ner_char_macro_f1"] == pytest.approx(char * 100, abs=1e-9)
    assert ours["ner_char_macro_f1_without_o"] == pytest.approx(without_o * 100, abs=1e-9)


def test_every_character_needs_a_tag():
    with pytest.raises(DataError, match="sentence 0: 1 tags for 2 characters"):
        compute_tagging_scores(["ner_char_macro_f1"], [[12]], [[12, 12]], [["가", "나"]], LABELS)


# --- both modes, end to end ----------------------------------------------------------------------

FAST = dict(batch_size=16, quiet=True, device="cpu", split_strategy="holdout")


def test_both_modes_end_to_end_on_fixture_files(korean_model_dir, tmp_path):
    write_ner(tmp_path / "data", fixture_sentences(40))
    out = tmp_path / "reports"
    # The frozen side pinned to a linear probe of the last layer, whose size the assertions below bound.
    evaluation = evaluate(str(korean_model_dir), tasks=["klue/ner"], mode="both", data_dir=tmp_path / "data",
                          output_dir=out, epochs=12, min_steps=0, learning_rate=5e-3, cache=FeatureCache(tmp_path / "cache"),
                          token_head="linear", layers="last", head_learning_rate=1e-2, **FAST)
    assert [(r.task, r.mode) for r in evaluation.results] == [("ner", "frozen"), ("ner", "finetune")]
    for result in evaluation.results:
        folder = out / resolve_model(str(korean_model_dir)).slug / "klue" / "ner" / f"{result.mode}-seed42"
        written = read_result(folder / "result.json")
        assert set(written.scores) == {"ner_entity_macro_f1", "ner_char_macro_f1"}
        assert written.main_score == written.scores["ner_entity_macro_f1"]
        assert written.split_strategy == "holdout" and written.num_train == 32 and written.num_eval == 8
        assert written.timings["truncated_characters"] == 0
        rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        assert len(rows) == 8 and all(len(r["prediction"]) == len(r["label"]) == len(r["text"]) for r in rows)
        # The templates tie each entity to its words: both heads learn them well above chance.
        assert written.scores["ner_entity_macro_f1"] > 50, (result.mode, written.scores)
        # The run's report lists entity scores per type; their macro mean is the entity macro F1.
        report = write_report(folder).read_text(encoding="utf-8")
        per_type = report.split("## Per entity type")[1].split("## Configuration")[0]
        f1s = [float(line.split("|")[4]) for line in per_type.splitlines() if line.startswith("| ") and
               line.split("|")[1].strip() in ("PS", "LC", "OG", "DT", "TI", "QT")]
        assert len(f1s) >= 4 and np.mean(f1s) == pytest.approx(written.scores["ner_entity_macro_f1"], abs=0.01)
    frozen = evaluation.results[0]
    assert 0 < frozen.timings["trainable_parameters"] <= 13 * (32 + 1)  # at most a weight row and bias per tag
    # Token features are cached as flat bfloat16 arrays (their bits, as uint16) beside their example offsets, never
    # pickled.
    cached = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(cached) == 4 and sum(p.name.endswith("-offsets.npy") for p in cached) == 2
    for path in cached:
        array = np.load(path, allow_pickle=False)
        assert array.dtype == (np.int64 if path.name.endswith("-offsets.npy") else np.uint16)


def test_frozen_truncation_is_recorded_and_the_cache_is_reused(korean_model_dir, tmp_path):
    write_ner(tmp_path / "data", fixture_sentences(20, seed=3))
    cache = FeatureCache(tmp_path / "cache")
    kwargs = dict(tasks=["klue/ner"], mode="frozen", data_dir=tmp_path / "data", output_dir=tmp_path / "reports",
                  max_length=8, cache=cache, **FAST)
    (first,) = evaluate(str(korean_model_dir), **kwargs).results
    plan = plan_splits(NER, {"validation": read_split(NER, "validation", tmp_path / "data")}, "holdout", 42)
    tokenizer = load_tokenizer(resolve_model(str(korean_model_dir)))
    expected = sum(a.truncated for a in n2n.encode(tokenizer, plan.folds[0].eval, 8)[1])
    assert first.timings["truncated_characters"] == expected > 0
    (second,) = evaluate(str(korean_model_dir), **kwargs).results
    assert second.timings["extraction_s"] == 0 and second.scores == first.scores
