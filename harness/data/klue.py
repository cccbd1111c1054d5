"""KLUE's line-per-unit TSV files -> one example per sentence: NER (a character per line) and DP (a word per line).

Both share one layout, read by `_sentences`: lines starting with `##` are comments, and the last one
before a sentence reads `## <guid>\\t<sentence>`; then one line per unit; a blank line ends the
sentence (a line holding only a tab does too, as KLUE's baseline splits on `\\n\\t?\\n`), and so does
the end of the file. A comment inside a sentence is skipped and does not rename it.

KLUE-NER (klue-ner-v1.1_*.tsv): one `CHAR\\tTAG` line per character, spaces included (tagged O, or
I-X inside an entity). The sentence comment carries `<entity:TYPE>` markup that repeats what the tags
say, so the sentence is rebuilt from the characters and only the guid is read from it. Tags are
checked against the task's label set; an I- tag without a B- before it is kept as it is (the file has
it, and strict IOB2 scoring knows what to do with it).

KLUE-DP (klue-dp-v1.1_*.tsv): one `INDEX\\tWORD_FORM\\tLEMMA\\tPOS\\tHEAD\\tDEPREL` line per word
(eojeol). An example is {id, text, words, pos, heads, deprels, label: None}: `heads` are 1-based word
indices with 0 for the root, as in the file; `pos` is the file's whole POS column (`NNP+JKS`; KLUE's
baseline keeps only the last tag, which a format can take from it); the lemma is not kept. The arcs
travel in `heads`/`deprels`, so `label` is None. Indices must run 1..n in order and every head must
name a word of its sentence or 0; deprels are checked against the task's label set where it has one.

KLUE-MRC (klue-mrc-v1.1_*.json): SQuAD 2.0's layout, {"data": [{"title", "paragraphs": [{"context",
"qas": [{"guid", "question", "answers": [{"text", "answer_start"}], "is_impossible", "question_type"}]}]}]}.
One example per question: {id, question, context, answers, question_type, label}; `label` is the
answer texts (empty for an unanswerable question). Every answer must lie in its context at its
answer_start.

KLUE-WoS (wos-v1.1_*.json): a list of dialogues {"guid", "domains", "dialogue": [{"role": "user" |
"sys", "text", "state": ["domain-slot-value", ...]}]}. One example per user turn: the dialogue so far
(`history`, turns as "role: text"), the turn, and the belief state as {slot: value}, every slot and
value checked against the ontology file beside it (ontology.json: {slot: [values]}). The ontology lists
"none" (UNSET) for every slot: a slot with that value is unset, and, as in KLUE's baseline, not part of
the state.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.data import load_json
from harness.data.labels import encode_label
from harness.data.records import span_example, tagged_example
from harness.data.values import field_of, optional_id, require
from harness.errors import DataError
from harness.tasks import FileSplit, TaskSpec

DP_COLUMNS = ("INDEX", "WORD_FORM", "LEMMA", "POS", "HEAD", "DEPREL")


@dataclass
class _Sentence:
    """One sentence block of a KLUE TSV: what its comment says, and its unit lines with their line numbers."""

    guid: str | None = None
    text: str | None = None  # the sentence as the comment gives it (NER's carries markup)
    lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.lines[0][0]


def _sentences(path: Path, kind: str) -> Iterator[_Sentence]:
    """The sentence blocks of a KLUE TSV in file order; a file that cannot be read is a DataError naming `kind`."""
    sentence = _Sentence()
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if line.startswith("##"):
                    if not sentence.lines and "\t" in line:  # the comment right before a sentence names it
                        guid, text = line[2:].split("\t", 1)
                        sentence.guid, sentence.text = guid.strip() or None, text
                    continue
                if line in ("", "\t"):
                    if sentence.lines:
                        yield sentence
                        sentence = _Sentence()
                    continue
                sentence.lines.append((number, line))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err}); is it a UTF-8 {kind} TSV file?") from err
    if sentence.lines:
        yield sentence


def read_klue_ner(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """Every sentence of the file, in file order; errors name the file and line and what is wrong."""
    for sentence in _sentences(path, "KLUE-NER"):
        chars, labels = [], []
        for number, line in sentence.lines:
            char, tag = _char_and_tag(line, f"{path}:{number}")
            label = encode_label(task, tag, f"{path}:{number}")
            if label is None:
                raise DataError(f"{path}:{number}: no tag after the tab; "
                                "every character needs one (O outside entities)")
            chars.append(char)
            labels.append(label)
        yield (f"{path}:{sentence.first_line}",
               tagged_example(task, sentence.guid or f"{entry.path}:{sentence.first_line}", chars, labels))


def _char_and_tag(line: str, where: str) -> tuple[str, str]:
    if "\t" not in line:
        raise DataError(f"{where}: expected CHAR<tab>TAG, found no tab in {line!r}; "
                        "the line may be truncated or use spaces instead of a tab")
    char, tag = line.rsplit("\t", 1)  # rsplit: the character itself may be a tab
    if len(char) != 1:
        raise DataError(f"{where}: expected one character before the tab, found {char!r}; "
                        "KLUE-NER files hold one character per line")
    return char, tag


def read_klue_dp(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """Every sentence of the file, in file order; errors name the file and line and what is wrong."""
    deprel_set = set(task.labels)
    for sentence in _sentences(path, "KLUE-DP"):
        words, pos, heads, deprels, head_lines = [], [], [], [], []
        for number, line in sentence.lines:
            where = f"{path}:{number}"
            columns = line.split("\t")
            if len(columns) != len(DP_COLUMNS):
                raise DataError(f"{where}: expected {len(DP_COLUMNS)} tab-separated columns "
                                f"({' '.join(DP_COLUMNS)}), found {len(columns)} in {line!r}; "
                                "the line may be truncated or use spaces instead of tabs")
            index, word, _lemma, tags, head, deprel = columns
            index = _integer(index, "index", where)
            if index != len(words) + 1:
                raise DataError(f"{where}: word index {index} where {len(words) + 1} was expected; "
                                "a sentence's indices run 1..n in order, and a blank line ends a sentence")
            if not word:
                raise DataError(f"{where}: word {index} has an empty WORD_FORM")
            if deprel_set and deprel not in deprel_set:
                raise DataError(f"{where}: deprel {deprel!r} is not in {task.id}'s label set {list(task.labels)}; "
                                "fix the file or the task's `labels` list")
            words.append(word)
            pos.append(tags)
            heads.append(_integer(head, "head", where))
            deprels.append(deprel)
            head_lines.append(number)
        for position, (head, number) in enumerate(zip(heads, head_lines), start=1):
            if not 0 <= head <= len(words):
                raise DataError(f"{path}:{number}: head {head} of word {position} points outside its sentence "
                                f"of {len(words)} words; a head is a word index 1..{len(words)}, or 0 for the root")
        problem = _not_a_tree(heads)
        if problem:
            named = f"sentence {sentence.guid}" if sentence.guid else "the sentence"
            raise DataError(f"{path}:{sentence.first_line}: the heads of {named} are no tree: {problem}; every word "
                            "needs one path of heads to the one root (head 0)")
        yield f"{path}:{sentence.first_line}", {
            "id": sentence.guid or f"{entry.path}:{sentence.first_line}",
            "text": sentence.text.strip() if sentence.text else " ".join(words),
            "words": words, "pos": pos, "heads": heads, "deprels": deprels, "label": None}


def _not_a_tree(heads: list[int]) -> str | None:
    """What keeps these heads (word i's head at i - 1; 0 is the root) from a dependency tree, or None: a word
    headed by itself, other than one root, or a cycle, which the parser's training and UAS would take in silently."""
    for word, head in enumerate(heads, start=1):
        if head == word:
            return f"word {word} is its own head"
    roots = [word for word, head in enumerate(heads, start=1) if head == 0]
    if len(roots) != 1:
        return f"{len(roots)} roots ({', '.join(map(str, roots)) or 'none'})" if roots else "no root (no head 0)"
    for word in range(1, len(heads) + 1):
        path = [word]
        while heads[path[-1] - 1] != 0:
            path.append(heads[path[-1] - 1])
            if path[-1] in path[:-1]:
                cycle = path[path.index(path[-1]):]
                return f"words {' -> '.join(map(str, cycle))} head each other in a cycle"
    return None


def _integer(value: str, name: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(f"{where}: {name} {value!r} is not an integer") from None


def read_klue_mrc(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """Every question of the file, in file order; errors name the file and the question's guid."""
    document = load_json(path, "KLUE-MRC")
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DataError(f"{path}: expected an object with a 'data' list of articles, as KLUE-MRC files have")
    for a, article in enumerate(document["data"]):
        for p, paragraph in enumerate(field_of(article, "paragraphs", list, f"{path}: data[{a}]")):
            for q, qa in enumerate(field_of(paragraph, "qas", list, f"{path}: data[{a}].paragraphs[{p}]")):
                where = f"{path}: data[{a}].paragraphs[{p}].qas[{q}]"
                guid = optional_id(require(qa, dict, None, where), "guid", where)
                where += f" ({guid})" if guid else ""
                yield where, span_example(guid or f"{entry.path}#{a}.{p}.{q}", paragraph.get("context"),
                                          qa.get("question"), field_of(qa, "answers", list, where),
                                          field_of(qa, "question_type", int, where), where)


UNSET = "none"  # the ontology's value for a slot that has none


def read_klue_wos(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """Every user turn of every dialogue; states are checked against ontology.json beside the file."""
    ontology = read_wos_ontology(path.parent / "ontology.json")
    dialogues = load_json(path, "KLUE-WoS")
    if not isinstance(dialogues, list):
        raise DataError(f"{path}: expected a JSON array of dialogues, found a {type(dialogues).__name__}")
    for d, dialogue in enumerate(dialogues):
        guid = optional_id(dialogue, "guid", f"{path}: dialogue {d}") if isinstance(dialogue, dict) else None
        if not guid or not isinstance(dialogue.get("dialogue"), list):
            raise DataError(f"{path}: dialogue {d} needs a guid and a 'dialogue' list of turns")
        history: list[str] = []
        for t, turn in enumerate(dialogue["dialogue"]):
            where = f"{path}: {guid}, turn {t}"
            role, text = require(turn, dict, None, where).get("role"), turn.get("text")
            if role not in ("user", "sys") or not isinstance(text, str):
                raise DataError(f"{where}: a turn needs role 'user' or 'sys' and a text")
            if role == "user":
                state = wos_state(field_of(turn, "state", list, where), ontology, where)
                yield where, {"id": f"{guid}-{t}", "dialogue": guid, "history": list(history), "text": text,
                              "state": state, "label": [f"{slot}-{value}" for slot, value in state.items()]}
            history.append(f"{role}: {text}")


def read_wos_ontology(path: Path) -> dict[str, list[str]]:
    """ontology.json: every slot ("domain-slot") with its values."""
    if not path.is_file():
        raise DataError(f"{path}: KLUE-WoS needs its ontology.json beside the dialogue files")
    ontology = load_json(path, "KLUE-WoS ontology")
    if not isinstance(ontology, dict) or not all(isinstance(v, list) for v in ontology.values()):
        raise DataError(f"{path}: expected an object mapping each slot to its list of values")
    return ontology


def wos_state(items, ontology: dict[str, list[str]], where: str) -> dict[str, str]:
    """["domain-slot-value", ...] -> {"domain-slot": value}; slots and values must be in the ontology, and
    an UNSET slot is left out, as KLUE's baseline leaves it out of the gold state.

    Slot names hold one hyphen (domain-slot) and values may hold more, so the split is at the second.
    """
    state = {}
    for item in items:
        parts = str(item).split("-", 2)
        if len(parts) != 3:
            raise DataError(f"{where}: state item {item!r} is not domain-slot-value")
        slot, value = f"{parts[0]}-{parts[1]}", parts[2]
        if slot not in ontology:
            raise DataError(f"{where}: slot {slot!r} is not in the ontology; check the spelling or the ontology file")
        if value not in ontology[slot]:
            raise DataError(f"{where}: value {value!r} is not among the ontology's values for {slot!r}")
        if value != UNSET:
            state[slot] = value
    return state
