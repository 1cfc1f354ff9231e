""" "Did you mean" for names a spec gets wrong, including names that only look right.

A key typed with a Cyrillic "o" (U+043E) or pasted with a zero-width space reads exactly like
the real one, so "unknown key 'model'" leaves a user staring at a word that seems correct.
Names with such characters are compared through their *skeleton* (invisible characters
removed, Unicode compatibility forms folded, common Cyrillic and Greek look-alikes mapped to
Latin) and the hint names the offending character by its code point and Unicode name.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

# Letters that render like Latin ones in most fonts (a subset of Unicode's confusables.txt:
# the Cyrillic and Greek letters met in pasted text).
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕһԁԛԝАВЕКМНОРСТХІЈЅҮαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧı",
    "aeopcyxijshdqwABEKMHOPCTXIJSYabeikvoptuxABEZHIKMNOPTYXi",
)
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"})


def _invisible(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char) in _INVISIBLE_CATEGORIES


def skeleton(name: str) -> str:
    """``name`` as it looks: invisible characters dropped, look-alikes made Latin."""
    visible = "".join(c for c in name if not _invisible(c))
    return unicodedata.normalize("NFKC", visible).translate(_LOOKALIKES)


def odd_character(name: str) -> str | None:
    """The first invisible or look-alike character of ``name``, described, or None."""
    for char in name:
        if char.isascii():
            continue
        if _invisible(char) or skeleton(char) != char:
            label = unicodedata.name(char, "an unnamed character")
            return f"U+{ord(char):04X} {label}"
    return None


def closest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice ``name`` was most likely meant to be: its skeleton, else the nearest."""
    options = sorted(set(choices))
    look = skeleton(name)
    if look != name and look in options:
        return look
    found = difflib.get_close_matches(look, options, n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(
    name: str, choices: Iterable[str], *, what: str = "key", cutoff: float = 0.6
) -> str | None:
    """A hint for an unknown ``name``: which character is odd (if any) and the likely choice.

    ``"key 'm\u043edel' contains U+043E CYRILLIC SMALL LETTER O; did you mean 'model'?"``
    """
    guess = closest(name, choices, cutoff)
    odd = odd_character(name)
    parts = [f"{what} '{name}' contains {odd}"] if odd else []
    if guess is not None:
        parts.append(f"did you mean '{guess}'?")
    return "; ".join(parts) or None
