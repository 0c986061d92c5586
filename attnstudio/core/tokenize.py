"""Split a sentence into word and punctuation tokens.

Words keep their inner apostrophes ("it's", "doesn't", "l'homme") and hyphens
("well-known"), so a contraction is one token. Any Unicode letters and digits form words;
every other visible character is a token of its own.

A character is never split from the marks that complete it: combining accents and vowel
signs (Unicode category M: "é" typed as e + ◌́, Hindi "हिन्दी"), emoji modifiers (👍🏽), and
invisible joiners (ZWJ in 👨‍👩‍👧, ZWNJ, soft hyphen) stay inside their token; a pair of
regional indicators is one flag (🇫🇷).
"""

from __future__ import annotations

import re
import unicodedata

from attnstudio.core.errors import NotTextError, TokenizeError

# A word: letters/digits/underscore, optionally joined by ' ’ or - to more of the same.
_TOKEN = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)
# Invisible characters that separate words but that str.split / \s do not count as space.
_INVISIBLE_SPACE = str.maketrans({"\u200b": " ", "\ufeff": " ", "\u2060": " "})
# Lone surrogates: never text; U+DC80..U+DCFF stand for the bytes 0x80..0xFF that Python
# could not decode (a command-line argument in a non-UTF-8 encoding, a corrupt file).
_SURROGATE = re.compile("[\ud800-\udfff]")
_SKIN_TONES = ("\U0001f3fb", "\U0001f3ff")
_REGIONAL = ("\U0001f1e6", "\U0001f1ff")


def _kind(piece: str) -> str:
    """'word', 'mark' (belongs to the character before), 'joiner' (joins both sides) or 'other'."""
    c = piece[0]
    if len(piece) > 1 or c.isalnum() or c == "_":
        return "word"
    category = unicodedata.category(c)
    if category.startswith("M") or _SKIN_TONES[0] <= c <= _SKIN_TONES[1]:
        return "mark"
    if category == "Cf":
        return "joiner"
    return "other"


def _is_flag_half(token: str, piece: str) -> bool:
    """Whether ``piece`` completes a flag begun by the lone regional indicator ``token``."""
    return len(token) == 1 and all(_REGIONAL[0] <= c <= _REGIONAL[1] for c in token + piece)


def check_text(text: str) -> str:
    """Return ``text``, or raise NotTextError when it holds a lone surrogate.

    Such a string cannot be encoded (to seed a token's vector, to save, to print), so it is
    refused here, where text enters the core, with the first offending character named.
    """
    bad = _SURROGATE.search(text)
    if bad is None:
        return text
    code = ord(bad.group())
    what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"lone surrogate U+{code:04X}"
    raise NotTextError(f"the sentence holds bytes that are not UTF-8 text: {what} at character {bad.start() + 1}")


def tokenize(text: str) -> list[str]:
    """Return the tokens of ``text`` (NFC-normalized) in order.

    Raises TokenizeError when the text holds no token (empty or whitespace only), and
    NotTextError when it holds bytes that are not text (see ``check_text``).
    """
    if not isinstance(text, str):
        raise TokenizeError(f"the sentence must be text, not {type(text).__name__}")
    check_text(text)
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE_SPACE)
    tokens: list[str] = []
    end = -1  # where the last token ended, to tell whether the next piece touches it
    glue = "none"  # what the last token lets continue it: "any" after a joiner, "word" after a mark
    for m in _TOKEN.finditer(text):
        piece, kind = m.group(), _kind(m.group())
        touching = bool(tokens) and m.start() == end
        if touching and (
            kind in ("mark", "joiner")
            or glue == "any"
            or (glue == "word" and kind == "word")
            or _is_flag_half(tokens[-1], piece)
        ):
            tokens[-1] += piece
        elif kind == "joiner":
            continue  # an invisible format character on its own is no token
        else:
            tokens.append(piece)
        if kind == "joiner":
            glue = "any"
        elif kind == "mark":
            glue = "word" if _kind(tokens[-1][0]) == "word" else "none"
        else:
            glue = "none"
        end = m.end()
    if not tokens:
        raise TokenizeError("the sentence is empty: type at least one word")
    return tokens
