"""The text of a file the user gives (a lesson, a workspace): UTF-8, a BOM dropped, a size
limit checked before anything is parsed. One place for what lessons and workspaces both
refuse; each names the file and the kind of file in its own error.
"""

from __future__ import annotations

from collections.abc import Callable


class FileTextError(ValueError):
    """The bytes or text are not usable text; the message is the problem, without the file name."""


def file_text(data: bytes | bytearray | memoryview | str, limit: int, too_big: Callable[[int], str],
              utf8_hint: str) -> str:
    """``data`` as text: bytes decoded as UTF-8 (a BOM dropped), text as it is (a BOM dropped).

    Raises FileTextError when it is more than ``limit`` bytes (``too_big(size)`` says so),
    not UTF-8 (the byte and its line, then ``utf8_hint``), or text that cannot be encoded
    (lone surrogates).
    """
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise FileTextError("holds characters that are not valid Unicode text") from None
        if size > limit:
            raise FileTextError(too_big(size))
        return text
    raw = bytes(data)
    if len(raw) > limit:
        raise FileTextError(too_big(len(raw)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileTextError(f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}){utf8_hint}") from None
