"""Tokenizer for BM25: jieba words for Chinese, lower-cased words for English, both for mixed text."""

from __future__ import annotations

import logging
import re
import unicodedata

import jieba

# A run of CJK ideographs (plus the CJK punctuation jieba handles) versus a run of anything else.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")

ENGLISH_STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is
    it its me my no not of on or our so than that the their them then there these they this to too us
    was we were what when where which who why will with would you your yours""".split()  # noqa: SIM905
)
CHINESE_STOP_WORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 是 我 你 您 他 她 它 们 我们 你们 在 和 与 及 或 也 都 就 还 要 会 能 可以 请问 请
    一下 这 那 这个 那个 什么 怎么 怎么样 如何 多少 吗 有 没有 个 把 被 给 对 从 到 为 让""".split()  # noqa: SIM905
)


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph (the characters jieba segments)."""
    return _CJK_RUN.fullmatch(char) is not None


def cjk_share(text: str) -> float:
    """The share of CJK ideographs among the letters of ``text`` (0.0 for text with no letters)."""
    letters = [char for char in text if char.isalpha()]
    return sum(1 for char in letters if is_cjk(char)) / len(letters) if letters else 0.0


class Tokenizer:
    """Splits text into BM25 terms.

    English (and any non-CJK run): NFKC, lower-case, words of letters and digits (``it's``, ``7.30`` kept
    whole). Chinese runs: jieba's search mode (``营业时间`` gives 营业, 时间 and 营业时间, so a partial
    word still matches). Stop words of both languages are dropped unless ``stop_words=False``.
    With ``cjk_chars`` every ideograph is also a term of its own (丢 matches 丢失, 赔 matches 赔偿), which
    recovers Chinese paraphrases that jieba segments differently.
    jieba's dictionary loads in the constructor (about 1 s; jieba caches it on disk).
    """

    def __init__(self, *, stop_words: bool = True, cjk_chars: bool = True) -> None:
        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._stop = (ENGLISH_STOP_WORDS | CHINESE_STOP_WORDS) if stop_words else frozenset()
        self._cjk_chars = cjk_chars

    def tokenize(self, text: str) -> list[str]:
        """Terms of ``text`` in order, stop words removed."""
        normalized = unicodedata.normalize("NFKC", text).lower()
        terms: list[str] = []
        position = 0
        for match in _CJK_RUN.finditer(normalized):
            terms.extend(self._english(normalized[position : match.start()]))
            terms.extend(self._chinese(match.group()))
            position = match.end()
        terms.extend(self._english(normalized[position:]))
        return terms

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        return [self.tokenize(text) for text in texts]

    def _english(self, text: str) -> list[str]:
        return [word for word in _WORD.findall(text) if word not in self._stop]

    def _chinese(self, text: str) -> list[str]:
        segmented = self._jieba.lcut_for_search(text)
        words = [word for word in segmented if word.strip() and word not in self._stop]
        if self._cjk_chars:
            seen = set(words)
            for char in text:
                if char not in seen and char not in self._stop:
                    seen.add(char)
                    words.append(char)
        return words
