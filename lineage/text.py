r"""Text from lineage files made safe to show on a terminal and to store in other formats.

Agent ids, attribute names, operators and text values can hold any Unicode text, including
control characters. Two escapes handle them:

- :func:`printable` is for the terminal: every control character (C0, DEL, C1), the line and
  paragraph separators, the bidirectional-text controls, the byte-order mark and lone surrogates
  become ``\xNN``, ``\uNNNN`` or ``\UNNNNNNNN``, so no escape sequence reaches the terminal and
  every shown line stays one line. Rich markup is never interpreted in shown text: callers wrap it
  in :func:`plain` (a ``rich.text.Text``) instead of passing strings.
- :func:`escape` / :func:`unescape` are for files: the same characters (and U+FFFE, U+FFFF, ``%``
  and the backslash) percent-encoded as UTF-8 (``%0A``, ``%25``), so that escaped text maps back
  to exactly the original with ``urllib.parse.unquote``. GraphML (whose XML cannot hold most C0
  characters) and Newick (one tree per line) use them; see :mod:`lineage.io`.

:func:`csv_line` writes one CSV record that the ``csv`` module and pandas both read back exactly:
unlike ``csv.writer`` with ``lineterminator="\n"``, it also quotes a field holding ``\r``.

Examples
--------
>>> printable("a\x1b]0;pwned\x07b")
'a\\x1b]0;pwned\\x07b'
>>> escape("x\ny\\z 5%")
'x%0Ay%5Cz 5%25'
>>> unescape(escape("x\ny\\z")) == "x\ny\\z"
True
>>> csv_line(["1", "a\rb", "c,d", 'a "b" c'])
'1,"a\rb","c,d","a ""b"" c"\n'
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["brief", "csv_line", "escape", "needs_escape", "plain", "printable", "short", "unescape"]

# Characters a terminal may act on or that break a line: C0, DEL, C1, NEL/LS/PS, the bidi
# embedding/override/isolate controls and marks, the BOM, and lone surrogates (not encodable).
_UNSAFE = "\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff"
_SHOW_UNSAFE = re.compile(f"[{_UNSAFE}]")
# In files, also the two XML 1.0 non-characters U+FFFE and U+FFFF (and the backslash, escaped as \\).
_STORE_UNSAFE = re.compile(f"[{_UNSAFE}\ufffe\uffff]")
_STORE_OR_ESCAPE = re.compile(f"[{_UNSAFE}\ufffe\uffff%\\\\]")


def _code(ch: str) -> str:
    o = ord(ch)
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def printable(text: object) -> str:
    """``text`` with every character a terminal could act on shown as a ``\\x``/``\\u`` escape."""
    s = text if isinstance(text, str) else str(text)
    return _SHOW_UNSAFE.sub(lambda m: _code(m.group()), s)


def short(text: object, width: int = 80) -> str:
    """:func:`printable` text cut to about ``width`` characters (for error messages)."""
    s = printable(text)
    return s if len(s) <= width else s[: width - 1] + "…"


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel = 3


def brief(value: object) -> str:
    """A ``repr`` for messages: bounded in length and nesting (a list nested 10^5 deep is fine),
    with control characters escaped as ``repr`` does."""
    return printable(_REPR.repr(value))


def plain(text: object, style: str = "") -> Text:
    """:func:`printable` text as a rich ``Text``: shown as it is, never read as markup."""
    from rich.text import Text

    return Text(printable(text), style=style)


def needs_escape(text: str) -> bool:
    """Whether ``text`` holds a character that must be escaped in a file (see :func:`escape`)."""
    return _STORE_UNSAFE.search(text) is not None


def _percent(m: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass"))


def escape(text: str) -> str:
    """Reversible escape for files: every character :func:`printable` escapes, U+FFFE, U+FFFF,
    ``%`` and ``\\`` as percent-encoded UTF-8 (``%0A`` for a line break, ``%25`` for ``%``).

    :func:`unescape` (which is ``urllib.parse.unquote``) gives back exactly the original. Percent
    escapes, not backslashes: the ``newick`` package ends a quoted label at a backslash.
    """
    return _STORE_OR_ESCAPE.sub(_percent, text)


def unescape(text: str) -> str:
    """The inverse of :func:`escape`: ``urllib.parse.unquote``."""
    return unquote(text, errors="surrogatepass") if "%" in text else text


_CSV_QUOTE = re.compile(f'[,"{_UNSAFE}\ufffe\uffff]')


def csv_line(fields: Iterable[Any]) -> str:
    """One CSV record ending in ``\\n``; a field is quoted when it holds a comma, a quote or any
    control or line-breaking character (``\\r`` included), so that every reader sees one record."""
    out = []
    for f in fields:
        s = f if isinstance(f, str) else str(f)
        if _CSV_QUOTE.search(s):
            s = '"' + s.replace('"', '""') + '"'
        out.append(s)
    return ",".join(out) + "\n"
