"""Text normalisation: what espeak-ng misreads is written as words before speech."""

from __future__ import annotations

import re
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.errors import SpeechError
from broadcast.normalize import normalize_text, zh_cardinal
from broadcast.speech import phonemes

ZH_CASES = [
    ("2024年", "二零二四年"),
    ("14:30", "十四点三十分"),
    ("14:05", "十四点零五分"),
    ("14:00", "十四点整"),
    ("2:00", "两点整"),
    ("08:30:05", "八点三十分零五秒"),
    ("85%", "百分之八十五"),
    ("85％的市民", "百分之八十五的市民"),
    ("3.5米", "三点五米"),
    ("保持1米以上", "保持一米以上"),
    ("2米", "两米"),
    ("2位市民", "两位市民"),
    ("第2", "第二"),
    ("2000人", "两千人"),
    ("10010", "一万零一十"),
    ("1,000人", "一千人"),
    ("2024-11-29", "二零二四年十一月二十九日"),
    ("11月29日", "十一月二十九日"),
    ("-5℃", "零下五摄氏度"),
    ("25°C", "二十五摄氏度"),
    ("1/2", "二分之一"),
    ("1-2米", "一到两米"),
    ("比分3:2", "比分三比二"),
    ("30m", "三十米"),
    ("12km/h", "十二公里每小时"),
    ("13800138000", "一三八零零一三八零零零"),
    ("２０２４年", "二零二四年"),
]

EN_CASES = [
    ("In 2024, 85% of people", "In twenty twenty-four, eighty-five percent of people"),
    ("at 14:30", "at fourteen thirty"),
    ("14:05", "fourteen oh five"),
    ("14:00", "fourteen hundred"),
    ("9:00", "nine o'clock"),
    ("2:30 pm", "two thirty p m"),
    ("keep 1 m apart", "keep one metre apart"),
    ("keep 2 m apart", "keep two metres apart"),
    ("3.5 km", "three point five kilometres"),
    ("2024-11-29", "November twenty-ninth, twenty twenty-four"),
    ("the 1st time", "the first time"),
    ("-5°C", "minus five degrees Celsius"),
    ("1,000 people", "one thousand people"),
    ("1-2 m", "one to two metres"),
    ("3/4", "three quarters"),
]


@pytest.mark.parametrize(("text", "spoken"), ZH_CASES)
def test_mandarin(text, spoken):
    assert normalize_text(text, "zh") == spoken


@pytest.mark.parametrize(("text", "spoken"), EN_CASES)
def test_english(text, spoken):
    assert normalize_text(text, "en") == spoken


def test_text_without_numbers_is_unchanged():
    zh = "穿红色衣服的这位市民，请您佩戴好口罩。"
    assert normalize_text(zh, "zh") == zh
    assert normalize_text("  Please  wear\tyour mask. ", "en") == "Please wear your mask."


def test_unknown_language():
    with pytest.raises(SpeechError, match="unknown language 'fr'"):
        normalize_text("1", "fr")


def test_zh_cardinal_reads_two_as_liang_only_where_spoken_so():
    assert zh_cardinal("2") == "二"
    assert zh_cardinal("2", measure=True) == "两"
    assert zh_cardinal("22", measure=True) == "二十二"
    assert zh_cardinal("20000") == "两万"
    assert zh_cardinal("0.05") == "零点零五"


numbers = st.one_of(
    st.integers(-(10**9), 10**12).map(str),
    st.decimals(min_value=-1000, max_value=10**6, places=2, allow_nan=False).map(str),
    st.integers(0, 100).map(lambda n: f"{n}%"),
    st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]}:{t[1]:02d}"),
    st.integers(1000, 2999).map(lambda y: f"{y}年"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(numbers, min_size=1, max_size=4), st.sampled_from(["zh", "en"]))
def test_no_digit_survives_and_normalising_twice_changes_nothing(parts, lang):
    text = " 有 ".join(parts) if lang == "zh" else " and ".join(parts)
    once = normalize_text(text, lang)
    assert not re.search(r"[0-9%]", once), once
    assert normalize_text(once, lang) == once


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng program")
@pytest.mark.parametrize("raw", ["85%的市民", "2024年11月29日14:30", "保持1.5米", "-3℃"])
def test_normalised_mandarin_is_read_without_english_fallback(raw):
    """The normalised text is read in Mandarin only by cmn-latn-pinyin (no ``(en)`` switch)."""
    spoken = normalize_text(raw, "zh")
    assert "(en)" not in phonemes(spoken, "cmn-latn-pinyin")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng program")
def test_raw_percent_is_what_espeak_gets_wrong():
    """Why normalisation exists: espeak-ng switches to English for a raw percent sign."""
    assert "(en)" in phonemes("85%", "cmn-latn-pinyin")
