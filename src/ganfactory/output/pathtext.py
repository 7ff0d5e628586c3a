"""Paths as text when file names are not valid UTF-8.

Linux allows any bytes in a file name; Python hands a name like b'caf\\xe9.png' (Latin-1) over as the
str 'caf\\udce9.png', with a lone surrogate per undecodable byte, and a plain `.encode("utf-8")` of it
raises UnicodeEncodeError. Every place a path becomes bytes goes through one of these two functions:
* `name_bytes` for hashes and ids: the file's own bytes (identical to UTF-8 for every valid name, so
  fingerprints and ids of ordinary names are unchanged);
* `utf8_text` for JSON and log files: valid UTF-8 where an undecodable byte becomes the six characters
  \\udcXX, which inside a JSON string is a valid escape that reads back as the same str.
"""

from __future__ import annotations


def name_bytes(text: str) -> bytes:
    """`text` as the bytes the file system holds (surrogates back to their original bytes)."""
    return text.encode("utf-8", "surrogateescape")


def utf8_text(text: str) -> bytes:
    """`text` as valid UTF-8; a lone surrogate is written as its backslash escape."""
    return text.encode("utf-8", "backslashreplace")


def strict_text(path: object, *, role: str) -> str:
    """str(path) for stores that only take valid UTF-8 (the job queue's SQLite columns).

    Raises InputError (one sentence naming the path and the fix) when the name is not valid UTF-8.
    """
    from ganfactory.errors import InputError

    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"The {role} {text!r} has a name that is not valid UTF-8, which the job queue cannot "
                         "store; rename it, or run the command directly instead of through the queue.") from None
    return text
