"""English stems for BM25: Snowball's English stemmer (PyStemmer) on the Latin-script terms.

The tokenizer keeps English words whole (``mutations`` and ``mutation`` are two terms), so a claim and the
abstract that answers it often share a word only in another form. Stemming both the indexed terms and the
query's lifts SciFact's BM25 nDCG@10 from 0.636 to 0.66 and the hybrid from 0.634 to 0.67 (README). The
stored terms stay as the tokenizer wrote them: stems are taken when the index is built, so a knowledge base
written before needs no re-ingest. Chinese terms (and anything not a plain Latin word) pass unchanged.
"""

from __future__ import annotations

import re
import threading

import Stemmer

_LATIN_WORD = re.compile(r"[a-z][a-z0-9']*")


class EnglishStemmer:
    """Stems the Latin-script words of a term list; safe to share between threads (PyStemmer's stemmer
    keeps a cache and is not)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()

    def stem(self, terms: list[str]) -> list[str]:
        """``terms`` with each Latin word replaced by its stem, in the same order."""
        with self._lock:
            return [self._stemmer.stemWord(t) if _LATIN_WORD.fullmatch(t) else t for t in terms]

    def stem_many(self, corpus: list[list[str]]) -> list[list[str]]:
        """``stem`` over many term lists (one lock for all)."""
        with self._lock:
            word, match = self._stemmer.stemWord, _LATIN_WORD.fullmatch
            return [[word(t) if match(t) else t for t in terms] for terms in corpus]
