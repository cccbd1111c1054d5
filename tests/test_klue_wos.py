"""KLUE-WoS: the dialogue reader, one example per user turn, states checked against the ontology."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.data.klue import read_klue_wos, read_wos_ontology, wos_state
from harness.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "klue" / "wos"
ONTOLOGY = read_wos_ontology(FIXTURES / "ontology.json")


def _read(path: Path) -> list[dict]:
    return [example for _, example in read_klue_wos(None, None, path)]


def test_one_example_per_user_turn_with_the_dialogue_so_far():
    examples = _read(FIXTURES / "wos-v1.1_dev.json")
    assert [ex["id"] for ex in examples] == ["wos-v1_dev_00000-0", "wos-v1_dev_00000-2", "wos-v1_dev_00001-0"]
    second = examples[1]
    assert second["history"] == ["user: 서울 중앙에 있는 박물관을 찾고 있어요.", "sys: 국립중앙박물관을 추천합니다."]
    assert second["text"] == "근처에 저렴한 숙소도 있나요?" and second["dialogue"] == "wos-v1_dev_00000"
    assert second["state"] == {"관광-종류": "박물관", "관광-지역": "서울 중앙", "숙소-가격대": "저렴", "숙소-지역": "서울 중앙"}
    assert second["label"] == ["관광-종류-박물관", "관광-지역-서울 중앙", "숙소-가격대-저렴", "숙소-지역-서울 중앙"]


def test_a_value_may_hold_hyphens():
    assert wos_state(["식당-이름-한강-분식"], ONTOLOGY, "here") == {"식당-이름": "한강-분식"}


def test_an_unset_slot_is_not_part_of_the_gold_state():
    # KLUE's baseline: a slot whose value is "none" is unset, so it is no item of the state.
    assert wos_state(["관광-종류-박물관", "숙소-지역-none"], ONTOLOGY, "here") == {"관광-종류": "박물관"}


@pytest.mark.parametrize("item, message", [
    ("관광-입장료-무료", "slot '관광-입장료' is not in the ontology"),
    ("숙소-가격대-공짜", "value '공짜' is not among the ontology's values for '숙소-가격대'"),
    ("숙소", "state item '숙소' is not domain-slot-value"),
])
def test_states_outside_the_ontology_are_named(item, message):
    with pytest.raises(DataError, match="dialogue.json: d1, turn 0: " + message):
        wos_state([item], ONTOLOGY, "dialogue.json: d1, turn 0")


def test_malformed_files_name_the_dialogue_and_turn(tmp_path):
    shutil.copy(FIXTURES / "ontology.json", tmp_path / "ontology.json")
    path = tmp_path / "wos-v1.1_dev.json"
    path.write_text(json.dumps([{"guid": "d1", "dialogue": [{"role": "bot", "text": "안녕"}]}]), encoding="utf-8")
    with pytest.raises(DataError, match="wos-v1.1_dev.json: d1, turn 0: a turn needs role 'user' or 'sys'"):
        _read(path)
    path.write_text(json.dumps([{"dialogue": []}]), encoding="utf-8")
    with pytest.raises(DataError, match="dialogue 0 needs a guid"):
        _read(path)
    (tmp_path / "ontology.json").unlink()
    with pytest.raises(DataError, match="ontology.json: KLUE-WoS needs its ontology.json beside the dialogue files"):
        _read(path)


def test_the_real_ontology(shared_data):
    path = shared_data / "klue" / "wos" / "ontology.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    ontology = read_wos_ontology(path)
    assert len(ontology) == 45 and all(slot.count("-") == 1 for slot in ontology)
    assert all({"none", "dontcare"} <= set(values) for values in ontology.values())


def test_joint_goal_accuracy_and_slot_f1_on_a_hand_computed_case():
    from harness.metrics.klue import wos_joint_goal_accuracy, wos_slot_micro_f1

    gold = [["관광-종류-박물관"], ["관광-종류-박물관", "숙소-가격대-저렴"], [], []]
    predicted = [["관광-종류-박물관"], ["숙소-가격대-저렴", "숙소-지역-서울 중앙"], [], ["식당-이름-한강-분식"]]
    assert wos_joint_goal_accuracy(predicted, gold) == pytest.approx(100 * 2 / 4)  # turns 1 and 3; order is ignored
    # Per turn: 1; P 1/2 R 1/2 -> 1/2; empty vs empty 1; something vs empty 0.
    assert wos_slot_micro_f1(predicted, gold) == pytest.approx(100 * (1 + 0.5 + 1 + 0) / 4)
