"""The argument types every ``lineage-sim`` command shares (``type=`` of ``add_argument``).

Each refuses with one short line, which argparse prefixes with the option (``argument --top:``);
text too long to be a number is not read, nor echoed in full.

Examples
--------
>>> whole_number(1)("3"), probability("0.25"), csv_list(" value, cost,, ")
(3, 0.25, ['value', 'cost'])
>>> whole_number(0)("-1")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: expected a number >= 0, got -1
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["MAX_DIGITS", "csv_list", "probability", "whole_number"]

#: Longest text read as a whole number: ``int()`` of thousands of digits is slow, and echoing them is no help.
MAX_DIGITS = 30


def whole_number(lowest: int) -> Callable[[str], int]:
    """A parser of whole numbers ``>= lowest``."""

    def parse(text: str) -> int:
        if len(text) > MAX_DIGITS:
            shown = f"{text[:20]!r}... ({len(text)} characters)"
            raise argparse.ArgumentTypeError(f"expected a whole number of at most {MAX_DIGITS} digits, got {shown}")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected a number >= {lowest}, got {value}")
        return value

    return parse


def probability(text: str) -> float:
    """A probability in ``[0, 1)`` (a fault-injection rate: 1 would fail every attempt)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {value}")
    return value


def csv_list(text: str) -> list[str]:
    """Comma-separated names, blanks dropped (``""`` is the empty list)."""
    return [part.strip() for part in text.split(",") if part.strip()]
