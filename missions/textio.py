"""Reading text and JSON files the way people really write them.

Real-world files come with a UTF-8 byte-order mark (Windows editors), CRLF line ends, and -- in
hand-edited JSON -- trailing commas before ``]``/``}``. These helpers accept all of them and turn
every failure into a one-line :class:`~missions.errors.InputError` subclass naming the file and the
line.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from missions.errors import InputError

log = logging.getLogger(__name__)


def read_text(path: str | os.PathLike, error: type[InputError] = InputError) -> str:
    """Read a text file as UTF-8 (BOM stripped), falling back to Latin-1 for legacy files.

    Args:
        path: File to read.
        error: Exception class raised on failure (an :class:`InputError` subclass).

    Returns:
        The text with universal newlines (CRLF and CR become LF).

    Raises:
        error: The file does not exist, is a directory or cannot be read.
    """
    return decode_text(read_bytes(path, error))


def read_bytes(
    path: str | os.PathLike, error: type[InputError] = InputError, what: str = "file"
) -> bytes:
    """Read a file's bytes, with a one-line error naming it when that fails.

    Args:
        path: File to read.
        error: Exception class raised on failure (an :class:`InputError` subclass).
        what: What the file is, for the messages (``file``, ``area file``).

    Returns:
        The file's content.

    Raises:
        error: ``<path>: <what> not found``, ``<path>: is a directory, expected a/an <what>`` or
            ``<path>: cannot read: <reason>``.
    """
    p = Path(path)
    if not p.exists():
        raise error(f"{p}: {what} not found")
    if p.is_dir():
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise error(f"{p}: is a directory, expected {article} {what}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read: {exc.strerror or exc}") from None


def decode_text(data: bytes) -> str:
    """Decode file bytes: UTF-8 with or without BOM, else Latin-1; newlines normalised to LF."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_trailing_commas(text: str) -> str:
    """Remove commas that directly precede ``]`` or ``}`` (outside strings) from JSON text.

    Whitespace and newlines between the comma and the bracket are kept, so line numbers in later
    error messages stay right.
    """
    out: list[str] = []
    in_string = False
    escaped = False
    pending_comma: int | None = None
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            pending_comma = None
            in_string = True
            out.append(ch)
        elif ch == ",":
            pending_comma = len(out)
            out.append(ch)
        elif ch in "]}":
            if pending_comma is not None:
                out[pending_comma] = " "
            pending_comma = None
            out.append(ch)
        else:
            if not ch.isspace():
                pending_comma = None
            out.append(ch)
    return "".join(out)


def loads_json(text: str, where: str, error: type[InputError] = InputError) -> Any:
    """Parse JSON, tolerating trailing commas (with a warning).

    Args:
        text: The JSON text.
        where: File name for messages.
        error: Exception class raised when the text is not JSON.

    Returns:
        The parsed value.

    Raises:
        error: ``"<where>:<line>:<col>: not valid JSON: <reason>"``.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        relaxed = strip_trailing_commas(text)
        if relaxed != text:
            try:
                value = json.loads(relaxed)
            except json.JSONDecodeError:
                pass
            else:
                log.warning("%s: trailing comma(s) in JSON ignored", where)
                return value
        raise error(f"{where}:{first.lineno}:{first.colno}: not valid JSON: {first.msg}") from None
