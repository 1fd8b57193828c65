"""Reading text and JSON files the way people really write them.

Real-world files come with a UTF-8 byte-order mark (Windows editors), CRLF line ends, and -- in
hand-edited JSON -- trailing commas before ``]``/``}``. These helpers accept all of them and turn
every failure into a one-line :class:`~missions.errors.InputError` subclass naming the file and the
line.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from missions.errors import InputError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest area, mission or config file read, bytes (a 65,535-item WPL is about 8 MB)."""


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
    return decode_text(read_bytes(path, error), str(Path(path)), error)


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
    article = "an" if what[:1].lower() in "aeiou" else "a"
    if p.is_dir():
        raise error(f"{p}: is a directory, expected {article} {what}")
    try:
        mode = p.stat().st_mode
        if not stat.S_ISREG(mode):
            # a named pipe blocks for ever, /dev/zero never ends: refuse before opening
            kind = "a named pipe" if stat.S_ISFIFO(mode) else "a device or socket"
            raise error(f"{p}: is {kind}, not a regular file: expected {article} {what}")
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise error(
            f"{p}: is larger than {MAX_FILE_BYTES >> 20} MB, more than {article} {what} can be"
        )
    return data


def decode_text(data: bytes, where: str | None = None, error: type[InputError] = InputError) -> str:
    """Decode file bytes: UTF-16 with a BOM, UTF-8 with or without BOM, else Latin-1; newlines
    normalised to LF.

    Raises:
        error: With ``where`` given, for binary data (NUL bytes outside UTF-16), so that it is
            not parsed as text and its junk printed: ``"<where>: is a binary file, not text"``.
    """
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            if where is not None:
                raise error(f"{where}: not valid UTF-16 text") from None
            text = data.decode("latin-1")
    else:
        if where is not None and b"\x00" in data:
            raise error(f"{where}: is a binary file, not text")
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
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply to be an area or mission file") from None
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
