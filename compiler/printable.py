"""Text from users made safe to show: manifest values, file names, commit subjects and git's own
messages reach terminals and commit messages, and a raw control character there is an instruction to
the terminal (`ESC [2J` clears the screen, `ESC ]52` writes the clipboard, a bidi override reorders
what is read).

Every such character is written as a visible escape (`\\x1b`, `\\u202e`) instead; tabs stay, and
newlines stay only where the text is meant to span lines.
"""

from __future__ import annotations

_C0 = range(0x00, 0x20)
_C1 = range(0x7F, 0xA0)  # DEL and the C1 controls (0x9b is a one-byte CSI on some terminals)
# Invisible formatting: zero-width characters, bidi marks, embeddings, overrides and isolates, the
# line and paragraph separators, the byte-order mark.
_FORMAT = (0x061C, *range(0x200B, 0x2010), *range(0x2028, 0x202F), *range(0x2060, 0x2070), 0xFEFF)
# Lone surrogates: how Python carries a file name's bytes that are not UTF-8 (`\udcff` for 0xff);
# written raw, they reach the terminal as those bytes
_SURROGATES = range(0xD800, 0xE000)


def _escape_of(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE: dict[int, str] = {
    code: _escape_of(code) for code in (*_C0, *_C1, *_FORMAT, *_SURROGATES) if code != 0x09
}
_TABLE_KEEPING_NEWLINES: dict[int, str] = {
    code: escape for code, escape in _TABLE.items() if code != 0x0A
}


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control and invisible formatting character written as an escape."""
    return text.translate(_TABLE_KEEPING_NEWLINES if keep_newlines else _TABLE)


def has_controls(text: str) -> bool:
    """Whether `escape_controls` would change `text` (newlines count)."""
    return any(ord(char) in _TABLE for char in text)


# What JSON writers leave raw (they escape only C0): C1 controls, the invisible formatting
# characters and line separators (a reader splitting lines on U+2028 or NEL would start a line with
# a manifest's text), and lone surrogates (no UTF-8 writer can write them). In a JSON document they
# stand only inside strings, where `\uXXXX` is the same character.
_JSON_TABLE: dict[int, str] = {code: f"\\u{code:04x}" for code in (*_C1, *_FORMAT, *_SURROGATES)}
# The same in XML: a character reference, except for a surrogate, which no XML document may hold:
# shown as the escape `escape_controls` writes.
_XML_TABLE: dict[int, str] = {
    **{code: f"&#x{code:x};" for code in (*_C1, *_FORMAT)},
    **{code: _escape_of(code) for code in _SURROGATES},
}


def json_printable(text: str) -> str:
    """JSON text (as `json.dumps(..., ensure_ascii=False)` writes it) with those characters
    escaped: the same document to a JSON reader, and no raw control reaches a terminal or log."""
    return text.translate(_JSON_TABLE)


def xml_printable(text: str) -> str:
    """Serialized XML with those characters written as character references."""
    return text.translate(_XML_TABLE)


# the most of a name a person typed that a message repeats
MAX_SHOWN_ARGUMENT = 80


def shown_argument(text: str) -> str:
    """A name from the command line as a message repeats it: escaped, and cut with `…` past
    `MAX_SHOWN_ARGUMENT` characters (a 5,000-character name was printed whole)."""
    if len(text) > MAX_SHOWN_ARGUMENT:
        text = text[: MAX_SHOWN_ARGUMENT - 1] + "…"
    return escape_controls(text)
