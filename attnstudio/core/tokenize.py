"""Split a sentence into word and punctuation tokens.

Words keep their inner apostrophes ("it's", "doesn't", "l'homme") and hyphens
("well-known"), so a contraction is one token. Any Unicode letters and digits form words;
every other visible character is a token of its own.
"""

from __future__ import annotations

import re

from attnstudio.core.errors import TokenizeError

# A word: letters/digits/underscore, optionally joined by ' ’ or - to more of the same.
_TOKEN = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Return the tokens of ``text`` in order.

    Raises TokenizeError when the text holds no token (empty or whitespace only).
    """
    if not isinstance(text, str):
        raise TokenizeError(f"the sentence must be text, not {type(text).__name__}")
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise TokenizeError("the sentence is empty: type at least one word")
    return tokens
