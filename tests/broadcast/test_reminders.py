"""Reminder texts: alert kind + person description + place, one language, normalised."""

from __future__ import annotations

import pytest

from broadcast.reminders import COLOURS_ZH, reminder_text
from broadcast.settings import TextsSettings, ZhReminderTexts
from detection.alerts import Alert, AlertKind
from detection.colour_names import COLOUR_NAMES_ZH, colour_key, parse_colour
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


def test_unknown_colour_uses_the_plain_description_in_every_language():
    plain = {"zh": "这位市民，请您佩戴好口罩。", "en": "Dear citizen, please wear your mask."}
    for alert in (
        _alert(),
        _alert(colour="teal"),
        _alert(colour="purplish"),  # the English reminder once said "The person in purplish"
        _alert(colour_zh="紫红色"),  # and the Chinese one "穿紫红色衣服的"
        _alert(colour="teal", colour_zh="蓝绿色"),
    ):
        assert {lang: reminder_text(alert, lang) for lang in plain} == plain, alert


def test_a_known_colour_is_the_same_in_both_languages_whatever_it_was_written_as():
    for alert in (
        _alert(colour="gray"),
        _alert(colour=" Grey "),
        _alert(colour_zh="灰"),
        _alert(colour="greyish", colour_zh="灰色"),  # the known one of the two
    ):
        assert reminder_text(alert, "zh").startswith("穿灰色衣服的"), alert
        assert reminder_text(alert, "en").startswith("The person in grey,"), alert


def test_parse_colour_takes_either_language_and_lists_the_names_when_unknown():
    assert parse_colour("红") == parse_colour("红色") == parse_colour("Red") == "red"
    assert parse_colour("GRAY") == "grey" and colour_key("purplish") is None
    with pytest.raises(InputError) as err:
        parse_colour("purplish", "--colour")
    msg = str(err.value)
    assert msg.startswith("--colour 'purplish': unknown colour; use one of black/黑色, white/白色")
    assert all(f"{en}/{zh}" in msg for en, zh in COLOUR_NAMES_ZH.items()) and "\n" not in msg


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
