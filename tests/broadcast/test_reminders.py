"""Reminder texts: alert kind + person description + place, one language, normalised."""

from __future__ import annotations

import pytest

from broadcast.reminders import COLOURS_ZH, reminder_text
from broadcast.settings import TextsSettings, ZhReminderTexts
from detection.alerts import Alert, AlertKind
from groundstation.config import load_config
from missions.errors import ConfigError, InputError


def _alert(kind="unmasked", **kw):
    return Alert(kind=kind, t_s=1_700_000_000.0, **kw)


def test_unmasked_person_in_red():
    a = _alert(colour="red", colour_zh="红色")
    assert reminder_text(a, "zh") == "穿红色衣服的这位市民，请您佩戴好口罩。"
    assert reminder_text(a, "en") == "The person in red, please wear your mask."


def test_colour_known_in_one_language_only_is_translated():
    assert reminder_text(_alert(colour="blue"), "zh").startswith("穿蓝色衣服的")
    assert reminder_text(_alert(colour_zh="绿色"), "en").startswith("The person in green")
    assert reminder_text(_alert(colour_zh="红"), "zh").startswith("穿红色衣服的")


def test_unknown_colour_uses_the_plain_description():
    assert reminder_text(_alert(), "zh") == "这位市民，请您佩戴好口罩。"
    assert reminder_text(_alert(colour="teal"), "zh") == "这位市民，请您佩戴好口罩。"
    assert reminder_text(_alert(), "en") == "Dear citizen, please wear your mask."


def test_mask_incorrect():
    text = reminder_text(_alert("mask_incorrect", colour="black"), "zh")
    assert text == "穿黑色衣服的这位市民，请您把口罩戴好，遮住口鼻。"


def test_gathering_asks_to_disperse_and_keep_distance_with_numbers_as_words():
    g = _alert("gathering", count=7, lat_deg=41.8, lon_deg=123.4)
    zh = reminder_text(g, "zh")
    en = reminder_text(g, "en")
    assert "散开" in zh and "一米" in zh and "1" not in zh
    assert "disperse" in en and "one metre apart" in en


def test_place_slot_per_language_and_never_mixing_languages():
    g = _alert("gathering")
    assert reminder_text(g, "zh", place="中山路").startswith("中山路聚集的")
    both = {"zh": "中山路", "en": "on Zhongshan Road"}
    assert "gathered on Zhongshan Road:" in reminder_text(g, "en", place=both)
    # Chinese characters cannot be read by the English voice: the English default is used.
    assert "gathered here:" in reminder_text(g, "en", place="中山路")


def test_custom_templates_with_count_slot():
    texts = TextsSettings(
        zh=ZhReminderTexts(gathering="{place}的{count}位市民请散开", place="路口")
    )
    assert reminder_text(_alert("gathering", count=12), "zh", texts) == "路口的十二位市民请散开"
    assert reminder_text(_alert("gathering", count=2), "zh", texts.zh) == "路口的两位市民请散开"
    assert reminder_text(_alert(), "zh", texts) == "这位市民，请您佩戴好口罩。"


def test_safety_alerts_have_no_reminder():
    with pytest.raises(InputError, match="link_lost"):
        reminder_text(_alert(AlertKind.LINK_LOST), "zh")
    with pytest.raises(InputError, match="'fr'"):
        reminder_text(_alert(), "fr")


def test_template_with_unknown_slot_is_a_config_error(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(
        "broadcast:\n  texts:\n    en:\n      unmasked: '{persn}, mask please'\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert "c.yaml:4" in str(err.value) and "{persn}" in str(err.value)


def test_colour_names_agree_with_detection():
    """Every colour detection can report has the same Chinese name here."""
    colours = pytest.importorskip("detection.colours")
    for en, zh in colours.COLOUR_NAMES_ZH.items():
        assert COLOURS_ZH[en] == zh
