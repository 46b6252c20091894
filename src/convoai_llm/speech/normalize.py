"""Numbers, dates, times, money, percentages and phone numbers as words, in English and in Chinese (pure).

English words come from `num2words` (cardinals, ordinals, years), Chinese numerals from `cn2an`; this
module only finds the written forms and puts the words in a spoken order. Rules, in the order they
apply (a form already turned into words is not read again):

| written | English | Chinese |
|---|---|---|
| ``+1 (415) 555-0123``, ``138 1234 5678`` | digit by digit, groups kept | digit by digit, 1 as 幺 |
| ``2026-03-15``, ``03/15/2026`` (US order) | March fifteenth, twenty twenty-six | 二零二六年三月十五日 |
| ``2026年3月15日`` | — | 二零二六年三月十五日 |
| ``9:05``, ``10:30 p.m.``, ``14:00`` | nine oh five, ten thirty p m, fourteen hundred | 九点零五分, 下午十点三十分 |
| ``$1,000.99``, ``€5``, ``¥20``, ``$2.5 million`` | one thousand dollars and ninety-nine cents | 二十元 |
| ``45%`` | forty-five percent | 百分之四十五 |
| ``21st`` | twenty-first | — |
| ``in 1999`` (after in/since/by/until/from/year or a month) | nineteen ninety-nine | — |
| ``1,250``, ``12.5``, ``-3`` | left as written: the voice reads them well | 一千二百五十, 十二点五, 负三 |
| seven or more digits, or a leading zero (``0451``, order codes) | digit by digit | digit by digit |
"""

# ruff: noqa: RUF001  (Chinese text is the point of this module)

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import cn2an
from num2words import num2words

MONTHS = [
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
_EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_ZH_DIGITS = "零幺二三四五六七八九"
_CURRENCY_EN = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
    "￥": ("yuan", "yuan", "", ""),
}
_CURRENCY_ZH = {"$": "美元", "€": "欧元", "£": "英镑", "¥": "元", "￥": "元"}
_SCALE_EN = {"k": "thousand", "m": "million", "bn": "billion", "thousand": "thousand", "million": "million",
             "billion": "billion", "trillion": "trillion"}  # fmt: skip

# Lookarounds use ASCII classes: a Han character next to a number is a word boundary here.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(\+\d{1,3})[\s.-]?)?(\(\d{2,4}\)|\d{3,4})[\s.-](\d{3,4})[\s.-](\d{4})(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z+])(\+86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![0-9A-Za-z])"
)
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_US_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_ZH_DATE = re.compile(
    r"(\d{4})\s*年\s*(?:(\d{1,2})\s*月\s*(?:(\d{1,2})\s*[日号])?)?"  # 2026年3月15日, 2026年3月, 2026年
    r"|(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"  # 3月15日
)
_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])(?:\s?([AaPp])\.?\s?[Mm](\.?)(?![A-Za-z]))?")
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"  # 1,250.50 or 1250.50, never a trailing comma
_MONEY = re.compile(
    rf"([$€£¥￥])\s?(-?(?:{_AMOUNT}))(?:\s?(k|m|bn|thousand|million|billion|trillion)\b)?", re.IGNORECASE
)
_PERCENT = re.compile(rf"(-?(?:{_AMOUNT}))\s?[%％]")
_ORDINAL = re.compile(r"(?<![0-9A-Za-z])(\d+)(st|nd|rd|th)(?![A-Za-z])", re.IGNORECASE)
_YEAR = re.compile(
    r"\b(in|since|by|until|from|year|of|" + "|".join(MONTHS) + r")(,?\s+)(1[1-9]\d\d|20\d\d)\b", re.IGNORECASE
)
_NUMBER = re.compile(rf"(?<![0-9A-Za-z.])(-?)({_AMOUNT})(?![\d])")


def _money_value(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None


def _digits_en(digits: str) -> str:
    return " ".join(_EN_DIGITS[int(d)] for d in digits if d.isdigit())


def _digits_zh(digits: str) -> str:
    return "".join(_ZH_DIGITS[int(d)] for d in digits if d.isdigit())


def _is_code(raw: str) -> bool:
    """Seven or more digits without thousands commas, or a leading zero: an order number, a code."""
    digits = raw.lstrip("-").split(".")[0].replace(",", "")
    return (len(digits) >= 7 and "," not in raw) or (len(digits) > 1 and digits.startswith("0"))


def _cardinal_en(raw: str) -> str:
    value = _money_value(raw)
    if value is None:
        return raw
    if _is_code(raw):
        return _digits_en(raw)
    words: str = num2words(value, lang="en")
    return words


def _cardinal_zh(raw: str) -> str:
    if _is_code(raw):
        return _digits_zh(raw).replace("幺", "一")
    words: str = cn2an.an2cn(raw.replace(",", ""), "low")
    return words


def _phone(match: re.Match[str], digits: Callable[[str], str], plus: str, sep: str) -> str:
    """Each group digit by digit, groups apart (a listener writes a number down group by group)."""
    groups = [g for g in match.groups() if g]
    return sep.join((plus if g.strip().startswith("+") else "") + digits(g) for g in groups)


def _date_en(year: int, month: int, day: int) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{MONTHS[month - 1]} {num2words(day, lang='en', to='ordinal')}, {num2words(year, lang='en', to='year')}"


def _date_zh(year: str | None, month: str | None, day: str | None) -> str:
    out = f"{_digits_zh(year).replace('幺', '一')}年" if year else ""
    if month:
        out += f"{cn2an.an2cn(str(int(month)), 'low')}月"
    if day:
        out += f"{cn2an.an2cn(str(int(day)), 'low')}日"
    return out


def _time_en(match: re.Match[str]) -> str:
    hour, minute, half = int(match[1]), int(match[2]), match[3]
    suffix = f" {half.lower()} m" if half else ""
    if match[4] and not match.string[match.end() :].strip():
        suffix += "."  # "a.m." ended the sentence
    if minute == 0:
        if half:
            return f"{num2words(hour, lang='en')}{suffix}"
        return f"{num2words(hour, lang='en')} o'clock" if hour <= 12 else f"{num2words(hour, lang='en')} hundred"
    minutes = f"oh {num2words(minute, lang='en')}" if minute < 10 else num2words(minute, lang="en")
    return f"{num2words(hour, lang='en')} {minutes}{suffix}"


def _time_zh(match: re.Match[str]) -> str:
    hour, minute, half = int(match[1]), int(match[2]), match[3]
    prefix = ("下午" if half.lower() == "p" else "上午") if half else ""
    spoken = f"{prefix}{cn2an.an2cn(str(hour), 'low')}点"
    if minute:
        spoken += ("零" if minute < 10 else "") + cn2an.an2cn(str(minute), "low") + "分"
    return spoken


def _money_en(match: re.Match[str]) -> str:
    symbol, raw, scale = match[1], match[2], match[3]
    one, many, cent, cents = _CURRENCY_EN[symbol]
    value = _money_value(raw)
    if value is None:
        return match[0]
    if scale:
        return f"{_cardinal_en(raw)} {_SCALE_EN[scale.lower()]} {many}"
    whole = int(abs(value))
    fraction = round((abs(value) - whole) * 100)
    sign = "minus " if value < 0 else ""
    spoken = f"{sign}{num2words(whole, lang='en')} {one if whole == 1 else many}"
    if fraction and cent:
        spoken += f" and {num2words(fraction, lang='en')} {cent if fraction == 1 else cents}"
    elif fraction:
        spoken = f"{sign}{num2words(abs(value), lang='en')} {many}"
    return spoken


def _money_zh(match: re.Match[str]) -> str:
    symbol, raw, scale = match[1], match[2], match[3]
    scales = {"k": "千", "thousand": "千", "m": "百万", "million": "百万", "bn": "十亿", "billion": "十亿"}
    unit = scales.get((scale or "").lower(), "")
    return f"{_cardinal_zh(raw)}{unit}{_CURRENCY_ZH[symbol]}"


def english(text: str) -> str:
    """English text with its numbers, dates, times, money and phone numbers written as words."""
    text = _PHONE.sub(lambda m: _phone(m, _digits_en, "plus ", ", "), text)
    text = _ISO_DATE.sub(lambda m: _date_en(int(m[1]), int(m[2]), int(m[3])) or m[0], text)
    text = _US_DATE.sub(lambda m: _date_en(int(m[3]), int(m[1]), int(m[2])) or m[0], text)
    text = _TIME.sub(_time_en, text)
    text = _MONEY.sub(_money_en, text)
    text = _PERCENT.sub(lambda m: f"{_cardinal_en(m[1])} percent", text)
    text = _ORDINAL.sub(lambda m: num2words(int(m[1]), lang="en", to="ordinal"), text)
    text = _YEAR.sub(lambda m: f"{m[1]}{m[2]}{num2words(int(m[3]), lang='en', to='year')}", text)
    return _NUMBER.sub(_code_en, text)


def _code_en(match: re.Match[str]) -> str:
    """Codes digit by digit; other plain numbers are left to the voice, which reads them well (measured:
    writing them as words raised the recognizer's error rate)."""
    return match[1] + _digits_en(match[2]) if _is_code(match[2]) else match[0]


def chinese(text: str) -> str:
    """Chinese text with its numbers, dates, times, money and phone numbers written in Chinese words."""
    text = _PHONE.sub(lambda m: _phone(m, _digits_zh, "加", "，"), text)
    text = _ISO_DATE.sub(lambda m: _date_zh(m[1], m[2], m[3]), text)
    text = _ZH_DATE.sub(lambda m: _date_zh(m[1], m[2] or m[4], m[3] or m[5]), text)
    text = _TIME.sub(_time_zh, text)
    text = _MONEY.sub(_money_zh, text)
    text = _PERCENT.sub(lambda m: f"百分之{_cardinal_zh(m[1])}", text)
    return _NUMBER.sub(lambda m: ("负" if m[1] else "") + _cardinal_zh(m[2]), text)
