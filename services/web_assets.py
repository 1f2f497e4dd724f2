"""What our server-rendered pages share (the reading workstation, the hospital board and the
region view, the KPI report, the landing page): security headers with each page set's own
Content-Security-Policy, `string.Template` pages, and static files from a fixed list.

Templates are translated when loaded: every `{{ _("English text") }}` is replaced by the
catalogue's text in the request's language (services/i18n), once per template and
language; `$lang` is the page's language tag. A page template starts with `$head`: the
document's opening and `<head>` come from `head_html` alone (what every page has, then the
stylesheet and script its `Head` names), so no page repeats them.

Everything a page loads is served from here: a clinical page must not depend on (or leak
to) a CDN. Pages carry patient data, so they are never cached (`no-store`); static files
hold none and are revalidated (`no-cache`).
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse, Response

from services import i18n
from services.outcome import FhirError

# The common part of every page's Content-Security-Policy: nothing from elsewhere, no
# inline script or style, not framed, no <base> rewriting. A page set adds its own.
CSP_SELF = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PRODUCT = "goldenhour"  # the last part of every page's title
STATIC_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
# A translation call in a template: {{ _("text") }} (the catalogue check scans for it).
TEMPLATE_CALL = re.compile(r'\{\{\s*_\("((?:[^"\\]|\\.)*)"\)\s*\}\}')


def security_headers(csp: str) -> dict[str, str]:
    """Headers of a page (or fragment) carrying patient data, under policy `csp`."""
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",  # patient data: never from a shared or back-button cache
    }


@dataclass(frozen=True)
class Head:
    """What a page loads in its `<head>` besides what every page does: its stylesheet, its
    script (deferred) and the catalogue ids of the texts that script shows (`t("…")`),
    given to it in the request's language as JSON (`<script id="messages">`)."""

    stylesheet: str
    script: str = ""
    messages: tuple[str, ...] = ()
    refresh_s: int | None = None  # the page reloads itself after this many seconds


def head_html(head: Head, title: str) -> str:
    """A page's opening up to `</head>`, in the request's language; `title` is plain text."""
    lines = [
        "<!doctype html>",
        f'<html lang="{i18n.locale()}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ]
    if head.refresh_s is not None:
        lines.append(f'<meta http-equiv="refresh" content="{head.refresh_s}">')
    lines += [
        f"<title>{html.escape(title, quote=True)}</title>",
        '<link rel="icon" href="data:,">',
        f'<link rel="stylesheet" href="{head.stylesheet}">',
    ]
    if head.messages:
        json_block = i18n.js_messages(head.messages)
        lines.append(f'<script type="application/json" id="messages">{json_block}</script>')
    if head.script:
        lines.append(f'<script src="{head.script}" defer></script>')
    return "\n".join([*lines, "</head>"])


def titled(*names: str) -> str:
    """A page's title: its names (plain text), then the product's."""
    return " · ".join((*names, PRODUCT))


@dataclass(frozen=True)
class WebAssets:
    """One page set: templates in `<folder>/templates`, static files in `<folder>/static`
    (only those named in `static_types`, name -> media type), pages under `csp`, loading
    what `head` names (a page may name another)."""

    folder: Path
    static_types: Mapping[str, str]
    csp: str
    head: Head | None = None

    @property
    def headers(self) -> dict[str, str]:
        return security_headers(self.csp)

    def template(self, name: str) -> string.Template:
        """The template in the request's language."""
        return _template(self.folder / "templates" / name, i18n.locale())

    def page(
        self,
        template: str,
        fragments: Mapping[str, str],
        *,
        title: str,
        status: int = 200,
        head: Head | None = None,
    ) -> HTMLResponse:
        """Fill a template with fragments that are already HTML (every caller escapes), its
        `$head` with `head_html` (the page set's `head` unless the page names one)."""
        chosen = head or self.head
        if chosen is None:
            raise ValueError(f"{template}: no Head for its page set or the page")
        opening = head_html(chosen, title)
        body = self.template(template).substitute(
            {"lang": i18n.locale(), **fragments, "head": opening}
        )
        return HTMLResponse(body, status_code=status, headers=self.headers)

    def fragment(self, body: str) -> HTMLResponse:
        """An HTML fragment a page fetches, with the page's headers."""
        return HTMLResponse(body, headers=self.headers)

    def static(self, name: str) -> Response:
        """A static file of the fixed list (404 OperationOutcome for any other name)."""
        if name not in self.static_types:  # a fixed list: no path ever reaches the file system
            raise FhirError(404, f"no static file {name}", "not-found")
        return Response(
            _bytes(self.folder / "static" / name),
            media_type=self.static_types[name],
            headers=STATIC_HEADERS,
        )


@cache
def _template(path: Path, tag: str) -> string.Template:
    return string.Template(translate_template(path.read_text(encoding="utf-8"), tag))


def translate_template(text: str, tag: str) -> str:
    """Replace each `{{ _("...") }}` by its translation in `tag`, HTML-escaped (`$` doubled,
    so a translation never becomes a template variable)."""

    def one(m: re.Match[str]) -> str:
        translated = i18n.Msg(m.group(1).replace('\\"', '"')).text(tag)
        return html.escape(translated, quote=True).replace("$", "$$")

    return TEMPLATE_CALL.sub(one, text)


@cache
def _bytes(path: Path) -> bytes:
    return path.read_bytes()
