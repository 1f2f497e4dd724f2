"""Section narrative as FHIR xhtml (narrative.html#xhtml): escaped text in a namespaced div."""

from __future__ import annotations

from html import escape

from kernel.jsontypes import Json

XHTML_NS = "http://www.w3.org/1999/xhtml"


def div(paragraphs: list[str], items: list[str]) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if items:
        body += "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"
    return f'<div xmlns="{XHTML_NS}">{body or "<p>Not recorded</p>"}</div>'


def narrative(paragraphs: list[str], items: list[str] | None = None) -> Json:
    return {"status": "generated", "div": div(paragraphs, items or [])}
