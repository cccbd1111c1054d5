"""Checks on one value read from a data file or a Hub row; a failure names where it is and the field.

Python counts True as the integer 1; a JSON `true` is never a number, an index or an id here.
"""
from __future__ import annotations

import math

from harness.errors import DataError


def describe(value) -> str:
    """What a JSON value is, in the file's terms, with a short view of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    kinds = {str: "text", int: "the number", float: "the number", list: "a list", dict: "an object"}
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{kinds.get(type(value), type(value).__name__)} {shown}"


def is_integer(value) -> bool:
    """An integer, as an index, offset or id is; JSON's true/false are none."""
    return isinstance(value, int) and not isinstance(value, bool)


_WANTED = {str: "text (a string)", int: "an integer", dict: "an object", list: "a list"}


def require(value, kind: type, field: str | None, where: str):
    """`value` itself, when it is a `kind` (a boolean is no integer); `field` None: `where` names the value."""
    if is_integer(value) if kind is int else isinstance(value, kind):
        if kind is str:
            _check_encodable(value, field, where)
        return value
    named = f"field {field!r} must" if field else "must"
    raise DataError(f"{where}: {named} be {_WANTED.get(kind, kind.__name__)}, found {describe(value)}")


def _check_encodable(text: str, field: str | None, where: str) -> None:
    """DataError where a string holds a lone surrogate ("\\ud800" is valid JSON, yet no Unicode text): nothing
    can encode it, so it would fail later, in a fingerprint or a tokenizer, far from its file."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        named = f"field {field!r}" if field else "the value"
        raise DataError(f"{where}: {named} holds a lone surrogate {text[err.start]!r} at character {err.start}, "
                        "which is no Unicode text; fix or remove the escape in the file") from None


def field_of(record, key: str, kind: type, where: str):
    """record[key], which must be present and a `kind`."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected an object with field {key!r}, found {describe(record)}")
    if key not in record:
        raise DataError(f"{where}: field {key!r} is missing")
    return require(record[key], kind, key, where)


def identifier(value, field: str, where: str) -> str:
    """An id or group (`idx`, `guid`, `pair_id`) as text; ids are integers or non-empty text."""
    if (isinstance(value, str) and value.strip()) or is_integer(value):
        return str(value)
    raise DataError(f"{where}: field {field!r} must be an integer or non-empty text naming the example, "
                    f"found {describe(value)}")


def optional_id(record: dict, key: str, where: str) -> str | None:
    """record[key] as an identifier, or None where the record has none."""
    value = record.get(key)
    return None if value is None else identifier(value, key, where)


def finite_number(raw, field: str, where: str) -> float:
    """A number, or numeric text as a TSV cell holds it; NaN, infinities and booleans are refused."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise DataError(f"{where}: {field} must be a number, found {describe(raw)}")
    try:
        number = float(raw)
    except ValueError:
        raise DataError(f"{where}: {field} {raw!r} is not a number") from None
    if not math.isfinite(number):
        raise DataError(f"{where}: {field} {raw!r} is not a finite number")
    return number
