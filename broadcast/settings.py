"""Settings of the loudspeaker reminders (config section ``broadcast``).

Every field is documented in ``configs/default.yaml`` with the same default (``tests/test_config.py``
checks that the two agree).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from missions.settings import StrictModel

Language = Literal["zh", "en"]
"""A reminder language: ``zh`` (Mandarin, spoken with espeak-ng ``cmn-latn-pinyin``) or ``en``."""

SpokenKind = Literal["gathering", "unmasked", "mask_incorrect"]
"""The :class:`detection.alerts.AlertKind` values that get a spoken reminder."""

TEMPLATE_SLOTS = ("person", "colour", "lower", "place", "count")
"""Slots a reminder template may use: ``{person}`` (the person's description, built from
``person_colours``, ``person_colour`` or ``person``), ``{colour}`` (upper-body clothing colour
in the template's language), ``{lower}`` (lower-body colour),
``{place}`` and ``{count}`` (people in a gathering)."""


def _check_template(text: str) -> str:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from None
    for name in fields:
        if name not in TEMPLATE_SLOTS:
            raise ValueError(
                f"unknown slot {{{name}}} in {text!r}; slots: "
                + ", ".join("{" + s + "}" for s in TEMPLATE_SLOTS)
            )
    return text


class VoiceSettings(StrictModel):
    """The espeak-ng voice and speaking rate used for one language."""

    voice: str
    """espeak-ng voice name (``espeak-ng --voices`` lists them)."""
    rate_wpm: int = Field(ge=80, le=450)
    """Speaking rate, words per minute (espeak-ng's default is 175)."""


class ZhVoiceSettings(VoiceSettings):
    """Mandarin voice. ``cmn``/``zh`` read Chinese as English letters: use ``cmn-latn-pinyin``."""

    voice: str = "cmn-latn-pinyin"
    rate_wpm: int = Field(default=150, ge=80, le=450)


class EnVoiceSettings(VoiceSettings):
    """English voice."""

    voice: str = "en-us"
    rate_wpm: int = Field(default=150, ge=80, le=450)


class VoicesSettings(StrictModel):
    """One voice per language."""

    zh: ZhVoiceSettings = Field(default_factory=ZhVoiceSettings)
    en: EnVoiceSettings = Field(default_factory=EnVoiceSettings)


class ReminderTexts(StrictModel):
    """Reminder templates of one language (``str.format`` slots, see :data:`TEMPLATE_SLOTS`).

    Numbers, times and percentages may be written with digits: they are normalised to words
    (``broadcast.normalize``) before speech.
    """

    gathering: str
    unmasked: str
    mask_incorrect: str
    person_colour: str
    """``{person}`` when the upper-body colour is known (uses ``{colour}``)."""
    person_colours: str
    """``{person}`` when the upper- and lower-body colours are both clear (``{colour}``,
    ``{lower}``)."""
    person: str
    """``{person}`` when the colour is unknown."""
    place: str
    """``{place}`` when the caller gives no place name."""

    @field_validator("*")
    @classmethod
    def _slots_known(cls, v: str) -> str:
        return _check_template(v)


class ZhReminderTexts(ReminderTexts):
    """Mandarin templates (each key may be overridden alone)."""

    gathering: str = "{place}聚集的市民朋友们，请不要聚集，请尽快散开，彼此保持1米以上的距离。"
    unmasked: str = "{person}，请您佩戴好口罩。"
    mask_incorrect: str = "{person}，请您把口罩戴好，遮住口鼻。"
    person_colour: str = "穿{colour}衣服的这位市民"
    person_colours: str = "穿{colour}上衣、{lower}裤子的这位市民"
    person: str = "这位市民"
    place: str = "这里"


class EnReminderTexts(ReminderTexts):
    """English templates (each key may be overridden alone)."""

    gathering: str = (
        "Attention, people gathered {place}: please do not gather, disperse now, "
        "and keep at least 1 metre apart."
    )
    unmasked: str = "{person}, please wear your mask."
    mask_incorrect: str = "{person}, please wear your mask properly, over your nose and mouth."
    person_colour: str = "The person in {colour}"
    person_colours: str = "The person in the {colour} top and {lower} trousers"
    person: str = "Dear citizen"
    place: str = "here"


class TextsSettings(StrictModel):
    """Reminder templates per language."""

    zh: ZhReminderTexts = Field(default_factory=ZhReminderTexts)
    en: EnReminderTexts = Field(default_factory=EnReminderTexts)


class BroadcastSettings(StrictModel):
    """Voice reminders: language, voices, texts, output device, cooldowns."""

    enabled: bool = True
    languages: list[Language] = Field(default_factory=lambda: ["zh", "en"], min_length=1)
    """Languages spoken for each reminder, in order (one language per utterance)."""
    voices: VoicesSettings = Field(default_factory=VoicesSettings)
    texts: TextsSettings = Field(default_factory=TextsSettings)
    device: str | int | None = None
    """Output device (name or index) wired to the loudspeaker transmitter; None = default."""
    volume: float = Field(default=1.0, ge=0, le=1)
    chime: bool = True
    range_m: float = Field(default=50.0, gt=0)
    """A reminder about a place is spoken only when the vehicle is within this distance (3D) of
    it, metres. A drone loudspeaker carries tens of metres: DJI's Mavic 2 Enterprise speaker
    gives at most 100 dB at 1 m (DJI data sheet); spherical spreading loses 20 log10(r) dB, so
    at 50 m about 66 dB remain, just above speech in street noise (about 55-60 dB plus a 6-10
    dB margin for intelligibility)."""
    cooldown_place_m: float = Field(default=30.0, ge=0)
    cooldown_s: float = Field(default=60.0, ge=0)
    cooldown_track_s: float = Field(default=120.0, ge=0)
    """A tracked person (track id) is not addressed again by the same kind of reminder sooner."""
    max_age_s: float = Field(default=20.0, gt=0)
    repeat: int = Field(default=1, ge=1, le=10)
    repeat_gap_s: float = Field(default=1.0, ge=0, le=30)
    """Silence between repeats, seconds."""
    priority: list[SpokenKind] = Field(
        default_factory=lambda: ["gathering", "unmasked", "mask_incorrect"], min_length=1
    )
    """Kinds in order of priority (first = spoken first). Kinds left out are not spoken."""
    max_queue: int = Field(default=16, ge=1)
    """Queued reminders kept at most; beyond it the lowest-priority, oldest one is dropped."""
    synth_timeout_s: float = Field(default=30.0, gt=0)
    """Give up on one synthesis after this long (the speech worker is then restarted)."""
    cache_dir: Path | None = None
    """Speech WAV cache; None = ``$XDG_CACHE_HOME/dronepatrol/speech`` (``~/.cache/...``)."""

    @field_validator("languages", "priority")
    @classmethod
    def _unique(cls, v: list) -> list:
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate entries in {v}")
        return v
