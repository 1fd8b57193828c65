"""Reminder texts: an :class:`~detection.alerts.Alert` becomes one sentence in one language.

The templates live in the config (``broadcast.texts``, see :class:`broadcast.settings.ReminderTexts`)
and are filled with the person's description (clothing colour) and the place, then normalised to
words (:func:`broadcast.normalize.normalize_text`) so espeak-ng reads numbers correctly.

Example:
    >>> from detection.alerts import Alert, AlertKind
    >>> a = Alert(kind=AlertKind.UNMASKED, t_s=0, colour="red", colour_zh="红色")
    >>> reminder_text(a, "zh")
    '穿红色衣服的这位市民，请您佩戴好口罩。'
    >>> reminder_text(a, "en")
    'The person in red, please wear your mask.'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from broadcast.normalize import normalize_text
from broadcast.settings import ReminderTexts, TextsSettings
from detection.alerts import Alert, AlertKind
from detection.colour_names import COLOUR_NAMES_ZH, COLOUR_SPELLINGS, colour_key
from missions.errors import InputError

log = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

SPOKEN_KINDS = (AlertKind.GATHERING, AlertKind.UNMASKED, AlertKind.MASK_INCORRECT)
"""Alert kinds that have a reminder; safety kinds (link, battery, geofence) are not spoken."""

COLOURS_ZH = {
    **COLOUR_NAMES_ZH,
    **{other: COLOUR_NAMES_ZH[word] for other, word in COLOUR_SPELLINGS.items()},
}
"""Chinese names of the clothing colours a reminder can speak, by English name: the detection
vocabulary (:data:`detection.colour_names.COLOUR_NAMES_ZH`) plus other spellings (``gray``)."""


def _lower(alert: Alert, lang: str) -> str | None:
    """The alert's lower-body colour in ``lang`` (vocabulary words only, as :func:`_colour`)."""
    key = colour_key(alert.lower_colour) or colour_key(alert.lower_colour_zh)
    if key is None:
        return None
    return COLOUR_NAMES_ZH[key] if lang == "zh" else key


def _colour(alert: Alert, lang: str) -> str | None:
    """The alert's clothing colour in ``lang``, or None: the same colour in every language.

    The colour is looked up in the vocabulary from ``alert.colour`` (English), else from
    ``alert.colour_zh``; a name outside it is not spoken in any language (the reminder uses the
    colour-less description), so the Chinese and English reminders always describe the person
    alike.
    """
    key = colour_key(alert.colour) or colour_key(alert.colour_zh)
    if key is None:
        if alert.colour or alert.colour_zh:
            log.debug(
                "alert %s: colour %r/%r is not in the vocabulary: not spoken",
                alert.id,
                alert.colour,
                alert.colour_zh,
            )
        return None
    return COLOUR_NAMES_ZH[key] if lang == "zh" else key


def _templates(texts: TextsSettings | ReminderTexts | None, lang: str) -> ReminderTexts:
    if isinstance(texts, ReminderTexts):
        return texts
    if texts is None:
        texts = TextsSettings()
    try:
        return getattr(texts, lang)
    except AttributeError:
        raise InputError(
            f"no reminder texts for language {lang!r}: expected 'zh' or 'en'"
        ) from None


def reminder_text(
    alert: Alert,
    lang: str,
    texts: TextsSettings | ReminderTexts | None = None,
    *,
    place: str | Mapping[str, str] | None = None,
) -> str:
    """The reminder for ``alert`` in one language, normalised for speech.

    Args:
        alert: A gathering, unmasked or mask_incorrect alert. ``colour``/``colour_zh`` describe
            the person; a colour outside the vocabulary
            (:data:`detection.colour_names.COLOUR_NAMES_ZH`) is spoken in no language, and
            ``{person}`` falls back to the colour-less description in every language.
            ``count`` fills ``{count}``.
        lang: ``"zh"`` or ``"en"``.
        texts: The config's ``broadcast.texts`` (or one language's :class:`ReminderTexts`);
            None uses the built-in defaults.
        place: Name of the place for ``{place}`` (e.g. a street): one string, or one per
            language (``{"zh": "中山路", "en": "Zhongshan Road"}``). None, or a name in Chinese
            characters for an English reminder (one language per utterance), uses the
            template's ``place`` (``这里`` / ``here``).

    Returns:
        One sentence in ``lang``, numbers written as words
        (``"穿红色衣服的这位市民，请您佩戴好口罩。"``).

    Raises:
        missions.errors.InputError: The alert kind has no reminder (a safety alert) or the
            language is unknown.
    """
    kind = AlertKind(alert.kind)
    if kind not in SPOKEN_KINDS:
        raise InputError(f"alert {alert.id}: kind '{kind.value}' has no spoken reminder")
    if lang not in ("zh", "en"):
        raise InputError(f"unknown reminder language {lang!r}: expected 'zh' or 'en'")
    t = _templates(texts, lang)
    colour = _colour(alert, lang)
    lower = _lower(alert, lang) if colour else None
    if colour and lower:
        person = t.person_colours.format(colour=colour, lower=lower)
    elif colour:
        person = t.person_colour.format(colour=colour)
    else:
        person = t.person
    if isinstance(place, Mapping):
        place = place.get(lang)
    if place and lang == "en" and _CJK.search(place):
        place = None
    slots = {
        "person": person,
        "colour": colour or "",
        "lower": lower or "",
        "place": place.strip() if place and place.strip() else t.place,
        "count": str(alert.count),
    }
    template = getattr(t, kind.value)
    text = template.format(**slots)
    if text[:1].islower() and lang == "en":
        text = text[0].upper() + text[1:]
    return normalize_text(text, lang)
