"""Safe one-line renderings of file names for terminals, logs and reports.

File names are hostile: they may hold newlines, escape sequences, bidirectional controls or
bytes that are not valid UTF-8. Standard library only, so the CLI can print names without
importing the imaging stack.
"""
from __future__ import annotations

import os


def display_path(root: str, path: str, cwd: str | None = None) -> str:
    """A safe one-line rendering of ``root/path`` for terminals and logs.

    The path is shown relative to ``cwd`` (default: the current directory) when it lies
    below it. Control characters (newlines, escape sequences) and bytes that are not
    valid UTF-8 are shown as backslash escapes, so a hostile name cannot forge output lines
    or drive the terminal.
    """
    full = os.path.join(root, path)
    base = cwd if cwd is not None else os.getcwd()
    rel = os.path.relpath(full, base)
    shown = full if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel
    return printable(shown)


# Bidirectional controls (an RTL override makes "gpj.exe" read "exe.jpg") and line separators.
_BIDI_AND_SEPARATORS = frozenset({0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                  *range(0x2066, 0x206A)})


def printable(text: str) -> str:
    """Escape control characters and undecodable bytes (surrogate escapes) of ``text``."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a raw byte kept by os.fsdecode
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0xD800 <= code <= 0xDFFF:
            out.append(ch.encode("unicode_escape").decode("ascii") if code < 0xD800 else f"\\u{code:04x}")
        elif code in _BIDI_AND_SEPARATORS:  # they reorder or break the text shown around them
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
