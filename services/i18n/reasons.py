"""The automatic triage's reasons in the reader's language.

A reason is stored in English (the `EcgMeasured` event, the queue item, FHIR notes): that is
the record, and FHIR and HL7 outputs keep it. A page matches the stored text to the
declaration it was rendered from (stream_processors/ecg_measurement/reason_texts.py, through
its `published` module) and renders the translated template with the same field values; a
field's value from a closed set (a territory, "man >= 40 years", a Sgarbossa criterion) is
translated the same way, numbers and lead names are kept. A text no declaration matches (an
older reason, a sender's own words, a measurer problem not declared) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kernel.texts import Slot, Text, first_match, split_list
from services.i18n import catalogue, locale
from stream_processors.ecg_measurement.published import REASON_TEXTS

Translate = Callable[[str], str]  # a msgid -> its template in the wanted language


def localise_reason(text: str, translate: Translate) -> str:
    """`text` (a stored English reason) in the language of `translate`; unchanged if no
    declaration matches it."""
    found = _localise(text, REASON_TEXTS, translate)
    return text if found is None else found


def reason_text(text: str, tag: str | None = None) -> str:
    """A stored reason in `tag` (default: the current request's language)."""
    wanted = tag or locale()
    return localise_reason(text, lambda msgid: catalogue.lookup(wanted, msgid))


def _localise(text: str, texts: Iterable[Text], translate: Translate) -> str | None:
    found = first_match(text, texts)
    if found is None:
        return None
    declared, values = found
    params: dict[str, object] = {
        name: _value(value, declared.slots.get(name), translate) for name, value in values.items()
    }
    return catalogue.render(translate(declared.msgid), params)


def _value(value: str, slot: Slot | None, translate: Translate) -> str:
    """A field's value: kept as written, or its own text translated (each item of a list)."""
    if slot is None or not slot.texts:
        return value
    if not slot.sep:
        return _localise(value, slot.texts, translate) or value
    items = split_list(value, slot)
    # The separator is a catalogue id too: "; " and ", " read "；" and "、" in Chinese.
    return translate(slot.sep).join(_localise(i, slot.texts, translate) or i for i in items)
