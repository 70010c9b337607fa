"""The one sanitiser for text leaving the system in a spreadsheet (and, for bidi, on a page).

Names, notes and usernames arrive from imports, forms and failed logins with whatever
characters their source held. Two kinds do harm on the way out:

- **Control characters** XML cannot hold (C0 controls but tab, newline and CR; lone
  surrogates; U+FFFE/U+FFFF): openpyxl refuses the first with `IllegalCharacterError`, so
  one such name made a whole export answer 500, and the others give a file Excel calls
  corrupt.
- **Bidi embedding, override and isolate controls** (U+202A–U+202E, U+2066–U+2069): they
  reorder the text after them, so "张三\u202egpj.exe" reads as "张三exe.jpg" and a name can
  be made to look like another one.

`clean_text` replaces each with `MARKER` (U+FFFD, shown as a question mark in a diamond)
instead of deleting it. Deleting would make two different stored values print the same —
"ad\\x01min" and "admin" in the audit export — which is exactly what an attacker wants,
and it would hide from the office that the record needs correcting at its source. The
marker keeps the length and the position, and tab, newline and CR stay (notes use them).
"""

import re

MARKER = "\ufffd"

# openpyxl's ILLEGAL_CHARACTERS_RE (\x00-\x08, \x0b-\x0c, \x0e-\x1f) plus what XML 1.0
# has no place for either: lone surrogates (a broken decode) and the non-characters
# U+FFFE/U+FFFF.
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
# LRE RLE PDF LRO RLO and LRI RLI FSI PDI. The marks LRM/RLM/ALM are left alone: they
# change the direction of neutral characters next to them only, and Arabic or Hebrew
# text legitimately needs them.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(f"[{CONTROL_CHARACTERS}{BIDI_CONTROLS}]")


def clean_text(text: str) -> str:
    """`text` with control and bidi control characters replaced by `MARKER`."""
    return _UNSAFE_RE.sub(MARKER, text)
