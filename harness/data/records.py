"""Mapping records (JSON objects, Hub rows) -> examples, through the task's (dotted) field names.

N21 examples hold `text`, optional `text_pair` and `label`, and `group` where decisions are scored
together (MultiRC's answers per question, AX-g's gendered pairs); span-pair examples add `spans`, two
[segment, start, end) character spans (segment 0 = text, 1 = text_pair); choice examples hold `text`,
`choices` (the second segment of each candidate pair), `choice_names`, and the gold choice indices as
`label` (and ReCoRD's gold `answers`). N2N (character tagging) examples hold the sentence as `text`, its
`chars`, and one tag per character as names (`tags`) and indices (`label`); dependency examples hold
`words`, `pos`, `heads` (0 = root) and `deprels` (names), as KLUE-DP's reader makes them.

A task field given as a list of record fields reads their values joined by a space (MultiRC's
question and answer option as one second segment).
"""
from __future__ import annotations

import re

from harness.data.labels import encode_label
from harness.errors import DataError
from harness.tasks import TaskSpec

_MISSING = object()


def lookup(record: dict, dotted: str):
    """`labels.label` reaches into nested objects, as KLUE-STS stores its score."""
    value = record
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def record_example(task: TaskSpec, record: dict, fields: dict, example_id: str, where: str) -> dict:
    """One example from one record; a missing field is named with where it is missing."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected an object with fields {sorted(fields.values())}, got {type(record).__name__}")
    values = {}
    for key, names in fields.items():
        parts = []
        for name in names if isinstance(names, list) else [names]:
            value = lookup(record, name)
            if value is _MISSING:
                raise DataError(f"{where}: field {name!r} is missing (needed for {key!r} of {task.id})")
            parts.append(value)
        values[key] = " ".join(map(str, parts)) if isinstance(names, list) else parts[0]
    if task.schema == "tags":
        return _tagged_record(task, values, example_id, where)
    if task.schema == "arcs":
        return _arcs_record(task, values, example_id, where)
    if task.schema == "spans":
        return _span_record(values, example_id, where)
    if task.schema == "choices":
        return _choice_record(values, example_id, where)
    text = mark_entities(values, where) if "subject" in values else values["text"]
    example = {"id": example_id, "text": text}
    if "text_pair" in values:
        example["text_pair"] = values["text_pair"]
    if task.schema == "span_pair":
        example["spans"] = _span_pair(values, where)
    example["label"] = encode_label(task, values["label"], where) if "label" in values else None
    if "group" in values:
        example["group"] = str(values["group"])
    return example


def _span_pair(values: dict, where: str) -> list[list[int]]:
    """Two [segment, start, end) character spans, from WiC's offsets or WSC's word indices, each checked."""
    if "start1" in values:  # WiC: the target word in each sentence, exclusive character ends
        spans = [[0, values["start1"], values["end1"]], [1, values["start2"], values["end2"]]]
    else:  # WSC: a candidate span and the pronoun, each as the index of its first word and its text
        spans = [[0, *_word_span(values["text"], values[f"span{n}_index"], values[f"span{n}_text"], f"span{n}",
                                 where)] for n in (1, 2)]
    for n, (segment, start, end) in enumerate(spans, start=1):
        text = values["text" if segment == 0 else "text_pair"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise DataError(f"{where}: span {n} ({start}..{end}) is not a non-empty character range inside its "
                            f"sentence of {len(text)} characters (start{n} and end{n}, end exclusive)")
    return spans


def _word_span(text: str, index, span_text, name: str, where: str) -> tuple[int, int]:
    """Characters of the words [index, index + words in span_text) of the whitespace-split text.

    The offsets are what counts: the official WSC files hold span texts that differ from the words at
    their index in case or attached punctuation ('The lawyer' at 'the lawyer', 'him' at 'him,"').
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    length = len(str(span_text).split()) or 1
    if not isinstance(index, int) or not 0 <= index <= len(words) - length:
        raise DataError(f"{where}: {name}_index {index!r} with {length} word(s) ({span_text!r}) lies outside the "
                        f"text of {len(words)} words; the index counts whitespace-separated words from 0")
    return words[index][0], words[index + length - 1][1]


# COPA's question, appended to the premise so that each choice reads as its answer.
COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def _choice_record(values: dict, example_id: str, where: str) -> dict:
    """Candidates for the second segment: COPA's alternatives, or ReCoRD's query with each entity in its
    @placeholder (gold: every entity spelt like a gold answer)."""
    if "entities" in values:
        query, answers = str(values["query"]), [str(a) for a in values.get("answers") or []]
        names = list(dict.fromkeys(str(e) for e in values["entities"]))
        if "@placeholder" not in query or not names:
            raise DataError(f"{where}: a ReCoRD query needs an @placeholder and the passage needs entities")
        missing = [a for a in answers if a not in names]
        if missing:
            raise DataError(f"{where}: answer {missing[0]!r} is not among the passage's entities {names}")
        # Highlights (the article's summary bullets) follow the story on lines of their own.
        text = str(values["text"]).replace("@highlight\n", "- ")
        return {"id": example_id, "text": text, "query": query,
                "choices": [query.replace("@placeholder", e) for e in names], "choice_names": names, "answers": answers,
                "label": [names.index(a) for a in dict.fromkeys(answers)] or None}
    keys = sorted((k for k in values if k.startswith("choice")), key=lambda k: int(k[len("choice"):]))
    question = values.get("question")
    if question is not None and question not in COPA_QUESTIONS:
        raise DataError(f"{where}: question {question!r} is not one of {', '.join(COPA_QUESTIONS)}")
    text = values["text"] if question is None else f"{values['text']} {COPA_QUESTIONS[question]}"
    choices = [str(values[k]) for k in keys]
    label = values.get("label")
    if label is not None and not (isinstance(label, int) and 0 <= label < len(choices)):
        raise DataError(f"{where}: label {label!r} is not the index of one of the {len(choices)} choices")
    return {"id": example_id, "text": text, "choices": choices, "choice_names": choices,
            "label": None if label is None else [label]}


# Typed entity markers in punctuation (Zhou & Chen, 2022): they need no new tokens, so a frozen encoder,
# which cannot learn embeddings for added special tokens, reads them as well as a fine-tuned one.
SUBJECT_MARKS, OBJECT_MARKS = ("@ * {type} * ", " @"), ("# ^ {type} ^ ", " #")


def mark_entities(values: dict, where: str) -> str:
    """The sentence with `@ * TYPE * subject @` and `# ^ TYPE ^ object #` around the two entities.

    Entities are {word, start_idx, end_idx, type} with an inclusive end, as KLUE-RE stores them; each
    span must lie inside the sentence and spell the entity's word.
    """
    text = values["text"]
    spans = []
    for role, marks in (("subject", SUBJECT_MARKS), ("object", OBJECT_MARKS)):
        entity = values[role]
        try:
            start, end, word, kind = int(entity["start_idx"]), int(entity["end_idx"]), entity["word"], entity["type"]
        except (TypeError, KeyError, ValueError) as err:
            raise DataError(f"{where}: the {role} entity needs word, start_idx, end_idx (integers) and type; "
                            f"found {entity!r}") from err
        if not 0 <= start <= end < len(text):
            raise DataError(f"{where}: {role} entity span {start}..{end} lies outside the sentence of {len(text)} "
                            "characters (start_idx and end_idx are inclusive character offsets)")
        if text[start:end + 1] != word:
            raise DataError(f"{where}: {role} entity span {start}..{end} reads {text[start:end + 1]!r}, "
                            f"not its word {word!r}; fix the offsets (inclusive end)")
        spans.append((start, end + 1, marks[0].format(type=kind), marks[1]))
    if spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]:
        raise DataError(f"{where}: the subject and object entity spans overlap")
    for start, end, opening, closing in sorted(spans, reverse=True):  # later span first: offsets stay valid
        text = text[:start] + opening + text[start:end] + closing + text[end:]
    return text


def span_example(guid: str, context, question, answers, question_type, where: str) -> dict:
    """An MRC question; each answer must be a string found in the context at its answer_start."""
    if not isinstance(context, str) or not isinstance(question, str):
        raise DataError(f"{where}: needs a context and a question (strings)")
    checked = []
    for n, answer in enumerate(answers or []):
        try:
            text, start = str(answer["text"]), int(answer["answer_start"])
        except (TypeError, KeyError, ValueError):
            raise DataError(f"{where}: answer {n} needs text and an integer answer_start, found {answer!r}") from None
        if not 0 <= start <= len(context) - len(text):
            raise DataError(f"{where}: answer {n} {text!r} at {start} lies outside the context of {len(context)} "
                            "characters")
        if context[start:start + len(text)] != text:
            raise DataError(f"{where}: answer {n} is {text!r} but the context at {start} reads "
                            f"{context[start:start + len(text)]!r}; fix answer_start")
        checked.append({"text": text, "answer_start": start})
    return {"id": guid, "question": question, "context": context, "answers": checked,
            "question_type": question_type, "label": [a["text"] for a in checked]}


def tagged_example(task: TaskSpec, example_id: str, chars: list[str], labels: list[int]) -> dict:
    """The N2N schema, from characters and their (already validated) tag indices."""
    return {"id": example_id, "text": "".join(chars), "chars": list(chars),
            "tags": [task.labels[label] for label in labels], "label": list(labels)}


def _tagged_record(task: TaskSpec, values: dict, example_id: str, where: str) -> dict:
    """A Hub row with characters and one tag per character (ClassLabel indices or names)."""
    chars, tags = list(values["chars"]), list(values["label"])
    if len(chars) != len(tags):
        raise DataError(f"{where}: {len(chars)} characters but {len(tags)} tags; every character needs exactly one tag")
    labels = []
    for position, (char, tag) in enumerate(zip(chars, tags)):
        here = f"{where}, character {position} ({char!r})"
        if len(char) != 1:
            raise DataError(f"{here}: expected one character per position, found {len(char)}")
        label = encode_label(task, tag, here)
        if label is None:
            raise DataError(f"{here}: no tag; every character needs one (O outside entities)")
        labels.append(label)
    return tagged_example(task, example_id, chars, labels)


def _arcs_record(task: TaskSpec, values: dict, example_id: str, where: str) -> dict:
    """A Hub row with a word form, head and relation per word (relations as names or ClassLabel indices)."""
    words, heads, deprels = list(values["words"]), [int(h) for h in values["heads"]], list(values["deprels"])
    if not len(words) == len(heads) == len(deprels):
        raise DataError(f"{where}: {len(words)} words, {len(heads)} heads and {len(deprels)} relations; "
                        "every word needs exactly one head and one relation")
    deprels = [task.labels[d] if isinstance(d, int) else d for d in deprels]
    for position, (head, deprel) in enumerate(zip(heads, deprels), start=1):
        if not 0 <= head <= len(words):
            raise DataError(f"{where}, word {position}: head {head} points outside its sentence of {len(words)} "
                            f"words; a head is a word index 1..{len(words)}, or 0 for the root")
        if deprel not in task.labels:
            raise DataError(f"{where}, word {position}: relation {deprel!r} is not in {task.id}'s label set")
    return {"id": example_id, "text": " ".join(words), "words": words, "pos": list(values.get("pos", [])),
            "heads": heads, "deprels": deprels, "label": None}


def _span_record(values: dict, example_id: str, where: str) -> dict:
    """A Hub row in SQuAD's columns: answers as {"text": [...], "answer_start": [...]}."""
    answers = values["answers"]
    if isinstance(answers, dict):
        answers = [{"text": t, "answer_start": s} for t, s in zip(answers.get("text", []), answers.get("answer_start", []))]
    return span_example(example_id, values["context"], values["question"], answers, values.get("question_type"), where)
