"""Text normalisation for speech: digits, times, dates, percentages and units written as words.

espeak-ng 1.51 misreads numbers, above all in Mandarin (``../shared/notes/audio.md``, measured
with ``espeak-ng -v cmn-latn-pinyin -q -x``): ``2024年`` comes out as "two thousand and twenty-four
nian" instead of the digit-by-digit year, ``14:30`` as "fourteen thirty" without 点/分, ``85%``
falls back to English for the percent sign, ``3.5米`` drops the decimal point; in English ``1 m``
is read "one em". A reminder is therefore rewritten to words before synthesis:

=================  ==========================  =====================================
written            zh                           en
=================  ==========================  =====================================
``2024年``/2024    二零二四年                   twenty twenty-four (after in/since/...)
``2024-11-29``     二零二四年十一月二十九日     November twenty-ninth, twenty twenty-four
``14:30``          十四点三十分                 fourteen thirty
``14:05``/14:00    十四点零五分 / 十四点整      fourteen oh five / fourteen hundred
``85%``            百分之八十五                 eighty-five percent
``3.5``            三点五                       three point five
``2米``/``2 m``    两米                         two metres
``1-2``            一到二                       one to two
``-5``             负五                         minus five
``25°C``           二十五摄氏度                 twenty-five degrees Celsius
=================  ==========================  =====================================

Number words come from well-kept libraries: ``cn2an`` (Mandarin) and ``num2words`` (English);
this module only finds the numbers and decides how each kind is read. Normalising twice gives the
same text (no digits remain after the first pass).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from broadcast.errors import SpeechError

_FULLWIDTH = {ord("０") + i: ord("0") + i for i in range(10)} | {
    ord("％"): ord("%"),
    ord("．"): ord("."),
    ord("－"): ord("-"),
    ord("＋"): ord("+"),
    ord("／"): ord("/"),
}
_NUM = r"\d+(?:\.\d+)?"

_ZH_UNITS = {
    "km/h": "公里每小时",
    "m/s": "米每秒",
    "km": "公里",
    "cm": "厘米",
    "mm": "毫米",
    "kg": "公斤",
    "m": "米",
    "h": "小时",
    "min": "分钟",
}
_EN_UNITS = {  # unit: (singular, plural)
    "km/h": ("kilometre per hour", "kilometres per hour"),
    "m/s": ("metre per second", "metres per second"),
    "km": ("kilometre", "kilometres"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "kg": ("kilogram", "kilograms"),
    "m": ("metre", "metres"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_ZH_UNITS, key=len, reverse=True))
_ZH_MEASURE = "个位名人米次天岁条只辆台分钟小时公里公斤层号"
"""Measure words before which the number two is read 两 (两米, 两位), not 二."""
_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_EN_YEAR_CUES = r"(?:in|since|by|until|from|year|of|before|after)"


def normalize_text(text: str, lang: str) -> str:
    """Rewrite numbers, times, dates, percentages and units in ``text`` as words of ``lang``.

    Args:
        text: One utterance in one language.
        lang: ``"zh"`` or ``"en"``.

    Returns:
        The text with every ASCII digit replaced by words and whitespace collapsed. Idempotent.

    Raises:
        SpeechError: ``lang`` is not ``zh`` or ``en``.
    """
    text = unicodedata.normalize("NFC", str(text)).translate(_FULLWIDTH)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # thousands separators: 1,000 -> 1000
    if lang == "zh":
        out = _normalize_zh(text)
    elif lang == "en":
        out = _normalize_en(text)
    else:
        raise SpeechError(f"unknown language {lang!r}: expected 'zh' or 'en'")
    return re.sub(r"\s+", " ", out).strip()


# --- Mandarin ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _an2cn():
    from cn2an import An2Cn

    return An2Cn().an2cn


def zh_cardinal(number: str | int, *, measure: bool = False) -> str:
    """Chinese reading of a non-negative integer or decimal (``"1005"`` → 一千零五).

    Args:
        number: Digits, optionally with one decimal point.
        measure: True when a measure word follows: a lone 2 is read 两 (两米).

    Returns:
        Chinese numerals; a leading 二 before 千/万/亿 is read 两, as spoken.
    """
    s = str(number)
    whole, _, frac = s.partition(".")
    whole = whole.lstrip("0") or "0"
    if len(whole) > 12:  # beyond 千亿: read digit by digit
        words = _an2cn()(whole, "direct")
    else:
        words = _an2cn()(int(whole), "low")
        if words.startswith(("二千", "二万", "二亿")):
            words = "两" + words[1:]
        if measure and words == "二":
            words = "两"
    if frac:
        words += "点" + _an2cn()(frac, "direct")
    return words


def _zh_digits(s: str) -> str:
    return _an2cn()(s, "direct")


def _zh_time(m: re.Match) -> str:
    h, mi, sec = int(m["h"]), int(m["m"]), m["s"]
    hour = "两" if h == 2 else zh_cardinal(h)
    if mi == 0 and not sec:
        return f"{hour}点整"
    minute = ("零" if mi < 10 else "") + zh_cardinal(mi)
    out = f"{hour}点{minute}分"
    if sec:
        s = int(sec)
        out += ("零" if s < 10 else "") + zh_cardinal(s) + "秒"
    return out


def _zh_ratio(m: re.Match, word: str) -> str:
    return ("负" if m[1] else "") + word + zh_cardinal(m[2])


def _zh_date(m: re.Match) -> str:
    return f"{_zh_digits(m['y'])}年{zh_cardinal(int(m['mo']))}月{zh_cardinal(int(m['d']))}日"


def _zh_number(m: re.Match) -> str:
    sign, num = m["sign"] or "", m["num"]
    after = m.string[m.end() : m.end() + 2]
    measure = bool(after) and (after[0] in _ZH_MEASURE or after in ("分钟", "小时", "公里"))
    if len(num) > 1 and num.startswith("0") and "." not in num:
        words = _zh_digits(num)  # codes, numbers with leading zeros: digit by digit
    elif "." not in num and len(num) >= 7:
        words = _zh_digits(num)  # phone numbers and ids
    else:
        words = zh_cardinal(num, measure=measure)
    return ("负" if sign else "") + words


def _normalize_zh(text: str) -> str:
    t = text
    t = re.sub(
        r"(?<!\d)(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)(?:日)?", _zh_date, t
    )
    t = re.sub(r"(?<!\d)(\d{4})(?=\s*年)", lambda m: _zh_digits(m[1]), t)  # years: 二零二四年
    t = re.sub(
        r"(?<!\d)(?P<h>[01]?\d|2[0-4])[:：](?P<m>[0-5]\d)(?:[:：](?P<s>[0-5]\d))?(?!\d)",
        _zh_time,
        t,
    )
    t = re.sub(rf"(?<!\d)({_NUM})\s*[:：]\s*({_NUM})", lambda m: f"{m[1]}比{m[2]}", t)  # 3:2
    t = re.sub(rf"(-?)({_NUM})\s*‰", lambda m: _zh_ratio(m, "千分之"), t)
    t = re.sub(rf"(-?)({_NUM})\s*%", lambda m: _zh_ratio(m, "百分之"), t)
    t = re.sub(
        rf"(?<![\d.])-\s*({_NUM})\s*(?:°C|℃|摄氏度)",
        lambda m: f"零下{zh_cardinal(m[1])}摄氏度",
        t,
    )
    t = re.sub(rf"({_NUM})\s*(?:°C|℃)", lambda m: f"{zh_cardinal(m[1])}摄氏度", t)
    t = re.sub(
        r"(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d/])",
        lambda m: f"{zh_cardinal(m[2])}分之{zh_cardinal(m[1])}",
        t,
    )
    t = re.sub(rf"({_NUM})\s*[-~～]\s*(?={_NUM})", lambda m: m[1] + "到", t)
    t = re.sub(rf"({_NUM})\s*({_UNIT_RE})(?![A-Za-z/])", lambda m: m[1] + _ZH_UNITS[m[2]], t)
    t = re.sub(r"(?P<sign>(?<![\d.])[-+])?(?P<num>\d+(?:\.\d+)?)", _zh_number, t)
    return t


# --- English ----------------------------------------------------------------------------------


def _n2w(value: str | int, to: str = "cardinal") -> str:
    from num2words import num2words

    v = Decimal(value) if isinstance(value, str) and "." in value else int(value)
    return num2words(v, lang="en", to=to)


def _en_number(num: str) -> str:
    if len(num) > 1 and num.startswith("0") and "." not in num:
        return " ".join(_n2w(int(d)) for d in num).replace("zero", "oh")
    if "." not in num and len(num) >= 7:
        return " ".join(_n2w(int(d)) for d in num)
    return _n2w(num)


def _en_time(m: re.Match) -> str:
    h, mi, sec, ampm = int(m["h"]), int(m["m"]), m["s"], (m["ampm"] or "").lower()
    hour = _n2w(h)
    if mi == 0:
        words = f"{hour} o'clock" if ampm or h <= 12 else f"{hour} hundred"
    elif mi < 10:
        words = f"{hour} oh {_n2w(mi)}"
    else:
        words = f"{hour} {_n2w(mi)}"
    if sec and int(sec):
        words += f" and {_n2w(int(sec))} seconds"
    if ampm:
        words += " a m" if ampm.startswith("a") else " p m"
    return words


def _en_date(m: re.Match) -> str:
    mo, d = int(m["mo"]), int(m["d"])
    if not 1 <= mo <= 12:
        return m[0]
    return f"{_EN_MONTHS[mo - 1]} {_n2w(d, 'ordinal')}, {_n2w(int(m['y']), 'year')}"


def _en_fraction(m: re.Match) -> str:
    num, den = int(m[1]), int(m[2])
    if den == 0:
        return f"{_n2w(num)} over zero"
    name = {2: "half", 4: "quarter"}.get(den) or _n2w(den, "ordinal")
    if num != 1:
        name = "halves" if den == 2 else name + "s"
    return f"{_n2w(num)} {name}"


def _en_unit(m: re.Match) -> str:
    singular, plural = _EN_UNITS[m[2]]
    return f"{m[1]} {singular if m[1] == '1' else plural}"


def _normalize_en(text: str) -> str:
    t = text
    t = re.sub(r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?!\d)", _en_date, t)
    t = re.sub(
        r"(?<!\d)(?P<h>[01]?\d|2[0-4]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?(?!\d)"
        r"(?:\s*(?P<ampm>[aApP]\.?[mM]\.?)(?![A-Za-z]))?",
        _en_time,
        t,
    )
    t = re.sub(
        rf"\b({_EN_YEAR_CUES})\s+(1[1-9]\d\d|20\d\d)(?!\d)(?!\s*%)",
        lambda m: f"{m[1]} {_n2w(int(m[2]), 'year')}",
        t,
        flags=re.IGNORECASE,
    )
    t = re.sub(
        r"\b(\d+)(st|nd|rd|th)\b", lambda m: _n2w(int(m[1]), "ordinal"), t, flags=re.IGNORECASE
    )
    t = re.sub(rf"({_NUM})\s*%", lambda m: f"{m[1]} percent", t)
    t = re.sub(rf"({_NUM})\s*‰", lambda m: f"{m[1]} per mille", t)
    t = re.sub(rf"({_NUM})\s*(?:°C|℃)", lambda m: f"{m[1]} degrees Celsius", t)
    t = re.sub(r"(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d/])", _en_fraction, t)
    t = re.sub(rf"({_NUM})\s*[-~]\s*(?={_NUM})", lambda m: f"{m[1]} to ", t)
    t = re.sub(rf"({_NUM})\s*({_UNIT_RE})(?![A-Za-z/])", _en_unit, t)
    t = re.sub(
        r"(?P<sign>(?<![\w.])[-+])?(?P<num>\d+(?:\.\d+)?)",
        lambda m: (
            (" " if m.start() and m.string[m.start() - 1].isalpha() else "")
            + ("minus " if m["sign"] == "-" else "")
            + _en_number(m["num"])
        ),
        t,
    )
    return t
