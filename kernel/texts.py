"""English texts declared once, with named fields, that people read translated.

A writer renders a `Text` into data: the event keeps the English (so rebuilt views stay
identical and old events still read). A page matches the stored English back to the `Text`
it came from, by an anchored regex derived from the declaration, and shows the translated
template (its catalogue id, `msgid`, is the English with the format specs dropped:
`{hr:g}` -> `{hr}`) filled with the same field values.

A field's `Slot` says what its value is: kept as written (numbers, lead names: a `pattern`),
one of a closed set of texts (a territory, "man >= 40 years"), or a list of them joined by
`sep`; such values are matched and translated in turn. Translating is the pages' business
(services/i18n/reasons.py): nothing here knows a language.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

ANY = r".+?"
NUMBER = r"[+-]?\d+(?:\.\d+)?"
LEAD = r"(?:III|II|I|aVR|aVL|aVF|V[1-9])"
LEADS = rf"{LEAD}(?:, {LEAD})*"


@dataclass(frozen=True, eq=False)
class Slot:
    """What one field's value is. `pattern` (a regex without groups) is what it matches:
    by default any text, or with `texts`, one of them (with `sep`, a list of them)."""

    pattern: str | None = None
    texts: tuple[Text, ...] = ()
    sep: str = ""

    def regex(self) -> str:
        if self.pattern is not None:
            return self.pattern
        if not self.texts:
            return ANY
        one = "(?:" + "|".join(t.regex(named=False) for t in by_literal(self.texts)) + ")"
        return one + (f"(?:{re.escape(self.sep)}{one})*" if self.sep else "")


KEPT = Slot()


@dataclass(frozen=True, eq=False)
class Text:
    """An English `str.format` template (format specs allowed) and its fields' slots;
    a field without a slot is kept as written and matches any text."""

    english: str
    slots: dict[str, Slot] = field(default_factory=dict)

    def render(self, **values: object) -> str:
        """The English text, as stored (a plain `str.format`)."""
        return self.english.format(**values)

    @cached_property
    def parts(self) -> tuple[tuple[str, str | None], ...]:
        """(literal, field name or None) in order, as `string.Formatter` parses them."""
        return tuple(
            (lit, name) for lit, name, _spec, _conv in string.Formatter().parse(self.english)
        )

    @cached_property
    def msgid(self) -> str:
        """The catalogue id: the English with `{name}` placeholders and no format specs."""
        return "".join(
            lit + ("{" + name + "}" if name is not None else "") for lit, name in self.parts
        )

    @cached_property
    def literal(self) -> int:
        """Characters of the text outside its fields: the more, the more specific."""
        return sum(len(lit) for lit, _name in self.parts)

    def regex(self, named: bool = True) -> str:
        """The text as a regex (not anchored); `named`: each field a named group."""
        out = []
        for lit, name in self.parts:
            out.append(re.escape(lit))
            if name is not None:
                inner = self.slots.get(name, KEPT).regex()
                out.append(f"(?P<{name}>{inner})" if named else f"(?:{inner})")
        return "".join(out)

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex(), re.DOTALL)

    def match(self, text: str) -> dict[str, str] | None:
        """The field values if `text` is this text rendered, else None."""
        m = self.compiled.fullmatch(text)
        return m.groupdict() if m else None

    def __str__(self) -> str:
        return self.english


def by_literal(texts: Iterable[Text]) -> list[Text]:
    """The most specific first, so a longer text wins over one whose field would take it."""
    return sorted(texts, key=lambda t: t.literal, reverse=True)


def first_match(text: str, texts: Iterable[Text]) -> tuple[Text, dict[str, str]] | None:
    """The declaration `text` was rendered from, and its field values."""
    for t in by_literal(texts):
        found = t.match(text)
        if found is not None:
            return t, found
    return None


def split_list(value: str, slot: Slot) -> list[str]:
    """A list slot's value as its items: each a text of the slot where one matches up to
    the next separator (an item may hold the separator itself), else up to the separator."""
    items, pos, sep = [], 0, slot.sep
    follow = f"(?={re.escape(sep)}|$)"
    item = re.compile(
        "|".join(t.regex(named=False) + follow for t in by_literal(slot.texts)), re.DOTALL
    )
    while pos <= len(value):
        m = item.match(value, pos) if slot.texts else None
        end = m.end() if m else _next(value, sep, pos)
        items.append(value[pos:end])
        pos = end + len(sep)
    return items


def _next(value: str, sep: str, pos: int) -> int:
    found = value.find(sep, pos)
    return found if found >= 0 else len(value)


def every_text(texts: Iterable[Text]) -> Iterator[Text]:
    """These texts and every text their slots may hold, each once."""
    seen: set[int] = set()
    todo = list(texts)
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        yield t
        todo += [x for s in t.slots.values() for x in s.texts]
