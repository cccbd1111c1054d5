"""KLUE's character-per-line TSV (klue-ner-v1.1_*.tsv) -> one N2N example per sentence.

The layout, as KLUE ships it: lines starting with `##` are comments, and the last one before a
sentence reads `## <guid>\\t<sentence with <entity:TYPE> markup>`; then one `CHAR\\tTAG` line per
character, spaces included (tagged O, or I-X inside an entity); a blank line ends the sentence (a
line holding only a tab does too, as KLUE's baseline splits on `\\n\\t?\\n`). The markup repeats what
the tags say, so the sentence is rebuilt from the characters and only the guid is read from it.
Tags are checked against the task's label set; an I- tag without a B- before it is kept as it is
(the file has it, and strict IOB2 scoring knows what to do with it).
"""
from __future__ import annotations

from pathlib import Path

from harness.data.labels import encode_label
from harness.data.records import tagged_example
from harness.errors import DataError
from harness.tasks import FileSplit, TaskSpec


def read_klue_ner(task: TaskSpec, entry: FileSplit, path: Path) -> list[dict]:
    """Every sentence of the file, in file order; errors name the file and line and what is wrong."""
    examples: list[dict] = []
    guid, first_line, chars, labels = None, 0, [], []

    def finish():
        nonlocal guid, chars, labels
        if chars:
            examples.append(tagged_example(task, guid or f"{entry.path}:{first_line}", chars, labels))
        guid, chars, labels = None, [], []

    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if line.startswith("##"):
                    if not chars and "\t" in line:  # the comment right before a sentence names it
                        guid = line[2:].split("\t", 1)[0].strip() or None
                    continue
                if line in ("", "\t"):
                    finish()
                    continue
                char, tag = _char_and_tag(line, f"{path}:{number}")
                label = encode_label(task, tag, f"{path}:{number}")
                if label is None:
                    raise DataError(f"{path}:{number}: no tag after the tab; every character needs one (O outside entities)")
                if not chars:
                    first_line = number
                chars.append(char)
                labels.append(label)
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err}); is it a UTF-8 KLUE-NER TSV file?") from err
    finish()
    return examples


def _char_and_tag(line: str, where: str) -> tuple[str, str]:
    if "\t" not in line:
        raise DataError(f"{where}: expected CHAR<tab>TAG, found no tab in {line!r}; "
                        "the line may be truncated or use spaces instead of a tab")
    char, tag = line.rsplit("\t", 1)  # rsplit: the character itself may be a tab
    if len(char) != 1:
        raise DataError(f"{where}: expected one character before the tab, found {char!r}; "
                        "KLUE-NER files hold one character per line")
    return char, tag
