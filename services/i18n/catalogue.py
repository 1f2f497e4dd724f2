"""The one message catalogue: gettext `.po` files, read at import by Babel.

Why `.po` read at import and no compiled `.mo`: the `.po` files are what translators and
reviewers edit and what `git diff` shows; reading them with `babel.messages.pofile.read_po`
takes milliseconds for a catalogue this size, so nothing has to be compiled at build or
test time and no binary file can drift from its source.

A message id is the English text with named `{placeholders}` (Python `str.format`); both
`locale/zh_CN/LC_MESSAGES/messages.po` and `locale/en/LC_MESSAGES/messages.po` give every
id a non-empty `msgstr` (tests/unit/test_i18n_catalogue.py fails otherwise). An id missing
at run time falls back to the English id itself, never to an empty string.

OperationOutcome texts built elsewhere as plain English strings are translated by
*template*: each catalogue id with placeholders is also a pattern (`{name}` matches any
text), so "Patient/p1 not found" is recognised as `{rtype}/{rid} not found` with its
parameters, and rendered from the translated template with the same parameters.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# BCP 47 tag (HTML lang, Content-Language) -> gettext folder name.
FOLDERS = {"zh-CN": "zh_CN", "en": "en"}
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def po_path(tag: str) -> Path:
    return LOCALE_DIR / FOLDERS[tag] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def messages(tag: str) -> dict[str, str]:
    """msgid -> msgstr of one locale (entries with an empty msgstr left out)."""
    with po_path(tag).open("rb") as f:
        catalog = read_po(f, locale=FOLDERS[tag])
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


def lookup(tag: str, msgid: str) -> str:
    """The translation of `msgid` in `tag`, else the id itself (English)."""
    return messages(tag).get(msgid, msgid)


class _Params(dict[str, object]):
    """Unknown placeholders stay as written, so a bad call never raises in an error path."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, params: dict[str, object]) -> str:
    return string.Formatter().vformat(template, (), _Params(params))


@dataclass(frozen=True)
class Pattern:
    msgid: str
    regex: re.Pattern[str]
    literal: int  # characters of the id outside its placeholders


# A template names a text only if its own words are enough of it: a short fragment such as
# "{pct} of {n}" matches any English sentence with " of " in it (placeholders take anything)
# and would render it as garbled Chinese. Enough: this many literal characters, or this
# share of the text (short texts: "5 min ago" is "{n} min ago").
MIN_LITERAL = 12
MIN_LITERAL_SHARE = 0.3


@cache
def patterns() -> tuple[Pattern, ...]:
    """Every id with placeholders as an anchored regex; the most literal text first, so
    "{rtype}/{rid}/_history/{vid} not found" wins over "{rtype}/{rid} not found"."""
    out = []
    for msgid in messages("en"):
        if not PLACEHOLDER.search(msgid):
            continue
        parts = PLACEHOLDER.split(msgid)  # literal, name, literal, name, ...
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)
        )
        literal = len(PLACEHOLDER.sub("", msgid))
        out.append(Pattern(msgid, re.compile(f"^{regex}$", re.DOTALL), literal))
    return tuple(sorted(out, key=lambda p: p.literal, reverse=True))


def match(text: str) -> tuple[str, dict[str, object]] | None:
    """(msgid, parameters) of an English text the catalogue knows, or None."""
    if text in messages("en"):
        return text, {}
    for p in patterns():
        enough = p.literal >= MIN_LITERAL or p.literal >= MIN_LITERAL_SHARE * len(text)
        m = p.regex.match(text) if enough else None
        if m:
            return p.msgid, dict(m.groupdict())
    return None
