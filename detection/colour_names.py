"""The clothing colour vocabulary shared by detection and the reminders (pure Python, no OpenCV).

:mod:`detection.colours` names pixels with these words; :mod:`broadcast.reminders` speaks them and
``dronepatrol say --colour`` accepts them. Keeping the table here lets ``broadcast`` import it
without pulling in OpenCV.
"""

from __future__ import annotations

from missions.errors import InputError

COLOUR_NAMES_ZH: dict[str, str] = {
    "black": "黑色",
    "white": "白色",
    "grey": "灰色",
    "red": "红色",
    "orange": "橙色",
    "yellow": "黄色",
    "green": "绿色",
    "cyan": "青色",
    "blue": "蓝色",
    "purple": "紫色",
    "pink": "粉色",
    "brown": "棕色",
}
"""English colour name -> Chinese (as spoken in reminders: 穿红色衣服的...).

The basic colour terms of Berlin & Kay (*Basic Color Terms*, 1969); the order is the index order
of :func:`detection.colours.name_pixels`."""

COLOUR_SPELLINGS: dict[str, str] = {"gray": "grey"}
"""Other spellings of the English names (US ``gray``), mapped to the vocabulary's word."""

_BY_ZH = {zh: en for en, zh in COLOUR_NAMES_ZH.items()}


def colour_key(name: str | None) -> str | None:
    """The vocabulary word (English key of :data:`COLOUR_NAMES_ZH`) for a colour name, if any.

    Args:
        name: An English name in any case (``"Red"``, ``"gray"``) or a Chinese one with or
            without 色 (``"红色"``, ``"红"``); surrounding blanks are ignored.

    Returns:
        ``"red"``, ``"grey"``...; None for None, a blank name or a name outside the vocabulary.
    """
    text = (name or "").strip()
    if not text:
        return None
    low = text.lower()
    if low in COLOUR_NAMES_ZH:
        return low
    if low in COLOUR_SPELLINGS:
        return COLOUR_SPELLINGS[low]
    return _BY_ZH.get(text) or _BY_ZH.get(text + "色")


def accepted_colours() -> str:
    """The accepted names as one line: ``black/黑色, white/白色, ...``."""
    return ", ".join(f"{en}/{zh}" for en, zh in COLOUR_NAMES_ZH.items())


def parse_colour(name: str, where: str = "colour") -> str:
    """The vocabulary word for a colour a user typed; an unknown name is an error.

    Args:
        name: As for :func:`colour_key`.
        where: What to call the value in the message (``"--colour"``).

    Returns:
        The English key of :data:`COLOUR_NAMES_ZH` (its Chinese name is
        ``COLOUR_NAMES_ZH[key]``).

    Raises:
        missions.errors.InputError: ``name`` is not in the vocabulary; one line listing the
            accepted names in both languages.
    """
    key = colour_key(name)
    if key is None:
        raise InputError(f"{where} {name!r}: unknown colour; use one of {accepted_colours()}")
    return key
