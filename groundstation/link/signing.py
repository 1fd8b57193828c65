"""MAVLink 2 signing key files (https://mavlink.io/en/guide/message_signing.html)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from missions.errors import InputError


def load_signing_key(path: str | os.PathLike) -> bytes:
    """Read a MAVLink 2 signing key file.

    A file of exactly 32 bytes is the raw secret key; anything else is a passphrase (surrounding
    whitespace stripped) hashed with SHA-256, as MAVProxy's ``signing setup PASSPHRASE`` does.

    Raises:
        InputError: The file cannot be read or is empty.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"signing key {p}: cannot read it ({exc.strerror or exc})") from None
    if len(data) == 32:
        return data
    phrase = data.strip()
    if not phrase:
        raise InputError(f"signing key {p}: the file is empty")
    return hashlib.sha256(phrase).digest()
