"""The tokenizer: words, punctuation, contractions, any Unicode, and clear errors."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnstudio.core import TokenizeError, compute, tokenize
from attnstudio.core.errors import NotTextError


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("The cat sat on the mat.", ["The", "cat", "sat", "on", "the", "mat", "."]),
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("a,b;c", ["a", ",", "b", ";", "c"]),
        ("(x)...?", ["(", "x", ")", ".", ".", ".", "?"]),
        ("  spaced\tout\nlines  ", ["spaced", "out", "lines"]),
        ("R2-D2 costs 3.50", ["R2-D2", "costs", "3", ".", "50"]),
        ("a well-known fact", ["a", "well-known", "fact"]),
        ("trailing- hyphen", ["trailing", "-", "hyphen"]),
    ],
)
def test_words_and_punctuation(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("it's", ["it's"]),
        ("The trophy doesn't fit because it's too big",
         ["The", "trophy", "doesn't", "fit", "because", "it's", "too", "big"]),
        ("it’s (curly apostrophe)", ["it’s", "(", "curly", "apostrophe", ")"]),
        ("l'homme qu'il voit", ["l'homme", "qu'il", "voit"]),
        ("rock 'n' roll", ["rock", "'", "n", "'", "roll"]),  # quotes around a word are punctuation
        ("dogs' bowls", ["dogs", "'", "bowls"]),
    ],
)
def test_contractions_stay_whole(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Η γάτα κάθισε.", ["Η", "γάτα", "κάθισε", "."]),
        ("Привет, мир!", ["Привет", ",", "мир", "!"]),
        ("猫が座った。", ["猫が座った", "。"]),  # no spaces in Japanese: one run of letters
        ("naïve café Straße", ["naïve", "café", "Straße"]),
        # The same words with decomposed accents (e + U+0301), as some keyboards and macOS
        # file names produce them: one token each, normalized to the composed form.
        ("cafe\u0301 nai\u0308ve", ["café", "naïve"]),
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # vowel signs and virama are marks, not tokens
        ("مرحبا بالعالم", ["مرحبا", "بالعالم"]),
        ("I ❤ 🐈!", ["I", "❤", "🐈", "!"]),
        ("ok 👍🏽 go", ["ok", "👍🏽", "go"]),  # a skin-tone modifier belongs to its emoji
        ("family 👨\u200d👩\u200d👧 here", ["family", "👨\u200d👩\u200d👧", "here"]),
        ("🇫🇷🇩🇪", ["🇫🇷", "🇩🇪"]),  # two regional indicators make one flag
        ("1\ufe0f\u20e3 first", ["1\ufe0f\u20e3", "first"]),
        ("\ufeffHello\u200bworld", ["Hello", "world"]),  # BOM and zero-width space separate words
    ],
)
def test_any_unicode(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_no_token_is_invisible_or_a_lone_mark() -> None:
    for text in ("a\u200db", "👨\u200d👩", "x\u0301\u0302y", "soft\u00adhyphen"):
        for token in tokenize(text):
            assert not all(unicodedata.category(c)[0] in "MC" for c in token), (text, token)


@pytest.mark.parametrize("text", ["", " ", "   \t\n  ", "\u00a0\u2003", "\u200b", "\ufeff \u200d"])
def test_empty_or_whitespace_raises_clear_error(text: str) -> None:
    with pytest.raises(TokenizeError, match="empty") as info:
        tokenize(text)
    assert "word" in str(info.value)  # says what to do, not just what is wrong


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["a", "b"]])
def test_non_text_raises_tokenize_error(value: object) -> None:
    with pytest.raises(TokenizeError, match="must be text"):
        tokenize(value)  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_tokens_or_tokenize_error(text: str) -> None:
    try:
        tokens = tokenize(text)
    except TokenizeError:
        assert not any(c.isalnum() for c in text)
        return
    assert tokens
    for token in tokens:
        assert token
        assert not any(c.isspace() for c in token)


_LETTERS = st.characters(categories=("Lu", "Ll", "Lo"))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(_LETTERS, min_size=1, max_size=8), min_size=1, max_size=12),
       st.sampled_from([" ", "  ", "\t", "\n"]))
def test_letters_split_on_whitespace_exactly(words: list[str], sep: str) -> None:
    text = sep.join(words)
    assert tokenize(text) == unicodedata.normalize("NFC", text).split()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("the \udcff cat", "byte 0xff at character 5"),  # b"the \xff cat" read with surrogateescape
        ("\udcc3", "byte 0xc3 at character 1"),
        ("half \ud83d pair", "lone surrogate U+D83D at character 6"),
    ],
)
def test_bytes_that_are_not_text_are_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(NotTextError) as err:
        tokenize(text)
    assert str(err.value) == f"the sentence holds bytes that are not UTF-8 text: {named}"
    assert isinstance(err.value, TokenizeError)


def test_compute_refuses_bytes_that_are_not_text_as_text_or_tokens() -> None:
    with pytest.raises(NotTextError, match="byte 0xff"):
        compute("the \udcff cat")
    with pytest.raises(NotTextError, match="byte 0xff"):
        compute(["the", "\udcff", "cat"])
