"""Segment a Chinese description with jieba and suggest its category and urgency.

jieba's dictionary ships inside its package; building the prefix dictionary takes about a
second, so one tokenizer is built on first use per process and reused by every request.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

from tongxin.hotline.rules import Suggestion, suggest, vocabulary

_lock = threading.Lock()
_tokenizer: Any = None


def tokenizer() -> Any:
    """Return the process's jieba tokenizer, built once with the rules' words added."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                with warnings.catch_warnings():
                    # jieba 0.42 imports pkg_resources, which warns on new setuptools.
                    warnings.simplefilter("ignore")
                    import jieba
                jieba.setLogLevel(logging.WARNING)
                built = jieba.Tokenizer()
                built.initialize()
                for word in vocabulary():
                    built.add_word(word)
                _tokenizer = built
    return _tokenizer


def segment(text: str) -> list[str]:
    """Split a description into words (HMM off, so unknown words never merge with ours)."""
    return [w for w in tokenizer().lcut(text.strip(), HMM=False) if w.strip()]


def suggest_for(text: str) -> Suggestion:
    """Suggest a category and urgency for a caller's description."""
    return suggest(segment(text))
