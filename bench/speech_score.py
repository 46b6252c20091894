"""How the speech bench scores what the recognizer heard: WER for English, CER for Chinese and mixed text.

Both sides, the text that was spoken and the text the recognizer wrote, go through the same rule:

1. **Script folded**: traditional characters become simplified (OpenCC's ``t2s``); Whisper writes either.
2. **Numbers in one form**: the speech normalizer writes dates, times, money and phone numbers as words
   (English: num2words, Chinese: cn2an, as the voices read them); then every remaining number is
   written as words too: ``4521`` → "four thousand, five hundred and twenty-one", ``3rd`` → "third",
   ``6PM`` → "six PM", ``9点`` → "九点". Whisper writes "28" or "twenty-eight" as it likes.
3. **Punctuation and symbols removed**, case folded, hyphens read as spaces, the word "and" inside
   numbers dropped (num2words writes it, listeners do not hear it).
4. **Units**: English is scored in words (WER). Chinese and mixed text is scored in characters (CER):
   each Han character is one unit, and a Latin word inside Chinese is one unit (as in the
   "mixed error rate" of code-switching speech recognition). A Chinese sentence has no spaces, so a
   word error rate that counts a whole clause as one "word" says nothing; 0.86 "WER" on Chinese was that.

The rate is jiwer's: edit distance over units, summed over the whole set, divided by the units spoken.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import jiwer
import opencc
from num2words import num2words

from convoai_llm.speech import normalize
from convoai_llm.speech._script import has_han, runs

_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_NUMBER_AND = re.compile(r"\b(hundred|thousand|million|billion),? and\b", re.IGNORECASE)
_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")


@cache
def _folder() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _said(words: str) -> str:
    return " " + words.replace(",", "") + " "


def _english_numbers(text: str) -> str:
    text = normalize.english(text)
    text = _ACRONYM.sub(lambda m: m[0].replace(".", ""), text)  # "a.m." and "AM", "U.S." and "US"
    text = _ORDINAL.sub(lambda m: _said(num2words(int(m[1]), to="ordinal")), text)
    text = _DIGIT_LETTER.sub(" ", text)
    text = _NUMBER.sub(lambda m: _said(num2words(float(m[0]) if "." in m[0] else int(m[0]))), text)
    return _NUMBER_AND.sub(r"\1 ", text)  # "five hundred and twenty-one" as a listener writes it


def folded(text: str) -> str:
    """`text` in the one form both sides are compared in (steps 1-3 above), units separated by spaces."""
    text = _folder().convert(text)
    text = text if has_han(text) else text.replace(",", "")  # "1,250" as one number
    parts = [normalize.chinese(piece) if voice == "han" else _english_numbers(piece) for voice, piece in runs(text)]
    text = "".join(parts).lower().replace("-", " ")
    kept = [c if not unicodedata.category(c).startswith(("P", "S")) else " " for c in text]
    return " ".join(units("".join(kept)))


def units(text: str) -> list[str]:
    """Han characters one by one, other words whole."""
    out: list[str] = []
    for word in text.split():
        latin = ""
        for char in word:
            if has_han(char):
                out += [latin] if latin else []
                out.append(char)
                latin = ""
            else:
                latin += char
        out += [latin] if latin else []
    return out


def error_rate(spoken: list[str], heard: list[str]) -> float:
    """Errors over units spoken, for the whole set (each sentence folded by :func:`folded`)."""
    return float(jiwer.wer([folded(s) for s in spoken], [folded(h) for h in heard]))


def per_sentence(spoken: str, heard: str) -> tuple[int, int]:
    """(errors, units spoken) of one sentence."""
    ref, hyp = folded(spoken), folded(heard)
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, len(ref.split())
