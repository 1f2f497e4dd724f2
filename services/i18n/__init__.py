"""Chinese first, English second: every string a person reads comes from one catalogue
(`catalogue.py`, gettext `.po` files), in the request's language, with times in the
user's zone.

| what                       | where                                                      |
|----------------------------|------------------------------------------------------------|
| `_("text {n}", n=3)`       | translate now, in the current request's language           |
| `N_("text")`               | mark an id for the catalogue check, translated later       |
| `Msg("text {n}", n=3)`     | a lazy message (e.g. an OperationOutcome's diagnostics)    |
| `{{ _("text") }}`          | in page templates: replaced when the template is loaded     |
| `t("text", {n: 3})`        | in page scripts: from the page's `#messages` JSON block    |
| `localize(text)`           | an English text built elsewhere, matched to its template   |
| `reasons.reason_text(text)`| a stored ECG triage reason, matched to its declaration      |

The language is, in order: the `lang` query parameter (which also sets the `lang` cookie,
so a user's choice sticks), the `lang` cookie, `Accept-Language`, else zh-CN. The time
zone: the `tz` query parameter or cookie (an IANA name), else Asia/Shanghai. `install(app)`
puts both on every request (an ASGI middleware, outermost, so refusals of the auth and
limit layers are translated too).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from babel.dates import format_date as babel_format_date
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.i18n import catalogue

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")
DEFAULT_ZONE = "Asia/Shanghai"
COOKIE_MAX_AGE_S = 365 * 24 * 3600  # a user's language choice is kept a year
AGE_MINUTES_UP_TO = 120  # ages up to two hours read in minutes; older in hours, then a date
AGE_HOURS_UP_TO = 24

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)
current_zone: ContextVar[str] = ContextVar("current_zone", default=DEFAULT_ZONE)


# --- translating ----------------------------------------------------------------------------


def locale() -> str:
    """The current request's language tag (zh-CN outside a request)."""
    return current_locale.get()


def _(msgid: str, **params: object) -> str:
    """`msgid` in the current language, its `{placeholders}` filled from `params`."""
    return catalogue.render(catalogue.lookup(locale(), msgid), params)


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks `msgid` for the catalogue check; translated where it is shown."""
    return msgid


@dataclass(frozen=True)
class Msg:
    """A message translated when it is shown: `str()` is English (logs, exceptions)."""

    msgid: str
    params: dict[str, object] = field(default_factory=dict)

    def __init__(self, msgid: str, **params: object) -> None:
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "params", params)

    def text(self, tag: str | None = None) -> str:
        return catalogue.render(catalogue.lookup(tag or locale(), self.msgid), self.params)

    def __str__(self) -> str:
        return catalogue.render(self.msgid, self.params)


def localize(text: str | Msg, tag: str | None = None) -> str:
    """A person-facing text in `tag` (default: the request's): a `Msg` by its id; a plain
    English string by the catalogue template it matches; anything else unchanged."""
    if isinstance(text, Msg):
        return text.text(tag)
    tag = tag or locale()
    if tag == "en":
        return text
    found = catalogue.match(text)
    if found is None:
        return text
    msgid, params = found
    return catalogue.render(catalogue.lookup(tag, msgid), params)


def js_messages(ids: Iterable[str]) -> str:
    """The page script's messages (id -> translation) as a JSON data block's content,
    safe inside `<script type="application/json">` (no `</` can close it)."""
    table = {i: catalogue.lookup(locale(), i) for i in ids}
    return json.dumps(table, ensure_ascii=False).replace("</", "<\\/")


# --- choosing the language and zone -----------------------------------------------------------


def supported(tag: str | None) -> str | None:
    """The supported locale a tag asks for: any zh-* is zh-CN, any en-* is en."""
    base = (tag or "").strip().lower().replace("_", "-").split("-")[0]
    return {"zh": "zh-CN", "en": "en"}.get(base)


def from_accept_language(header: str) -> str | None:
    """The best supported language of an Accept-Language header (RFC 9110 q-values)."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _sep, rest = part.strip().partition(";")
        q = 1.0
        if rest.strip().startswith("q="):
            try:
                q = float(rest.strip()[2:])
            except ValueError:
                q = 0.0
        if q > 0 and supported(tag):
            ranked.append((-q, i, supported(tag)))
    return min(ranked)[2] if ranked else None


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    return (
        supported(query)
        or supported(cookie)
        or from_accept_language(accept_language or "")
        or DEFAULT_LOCALE
    )


@cache
def valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(current_zone.get())


@dataclass(frozen=True)
class Chosen:
    locale: str
    zone: str
    set_cookie: str | None  # the `lang` asked for in the query, to remember


def choose(scope: Scope) -> Chosen:
    """The language and zone of an HTTP request (see the module docstring)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is ignored, not an error page
        jar = SimpleCookie()
    cookies = {k: m.value for k, m in jar.items()}
    tag = negotiate(query.get("lang"), cookies.get("lang"), headers.get("accept-language"))
    tz = next(
        (z for z in (query.get("tz"), cookies.get("tz")) if z and valid_zone(z)), DEFAULT_ZONE
    )
    return Chosen(tag, tz, supported(query.get("lang")))


class LocaleMiddleware:
    """Sets the request's language and zone; answers with `Content-Language`, and remembers
    a `?lang=` choice in a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        chosen = choose(scope)
        tokens = (current_locale.set(chosen.locale), current_zone.set(chosen.zone))

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-language", chosen.locale.encode()))
                if chosen.set_cookie:
                    cookie = (
                        f"lang={chosen.set_cookie}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; "
                        "SameSite=Lax"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_language)
        finally:
            current_locale.reset(tokens[0])
            current_zone.reset(tokens[1])


def install(app: Any) -> None:
    """Add the language middleware; call it last, so it is the outermost layer."""
    app.add_middleware(LocaleMiddleware)


# --- times in the user's zone, in the user's language ---------------------------------------


def _local(t: dt.datetime | str) -> dt.datetime:
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return t.astimezone(zone())


def format_time(t: dt.datetime | str) -> str:
    """ "14:05" in the user's zone (24-hour clock in both languages)."""
    return _local(t).strftime("%H:%M")


def format_date(t: dt.datetime | str | dt.date) -> str:
    """ "2026年3月1日" / "March 1, 2026" (a date alone is taken as it is)."""
    day = t if isinstance(t, dt.date) and not isinstance(t, dt.datetime) else _local(t).date()
    return _babel_date(day)


def _babel_date(day: dt.date) -> str:
    return str(babel_format_date(day, "long", locale=catalogue.FOLDERS[locale()]))


def format_datetime(t: dt.datetime | str) -> str:
    """ "2026年3月1日 14:05" / "March 1, 2026 14:05" in the user's zone."""
    return f"{format_date(t)} {format_time(t)}"


def format_when(t: dt.datetime | str, at: dt.datetime) -> str:
    """The time alone when it is today (in the user's zone), else date and time."""
    same_day = _local(t).date() == _local(at).date()
    return format_time(t) if same_day else format_datetime(t)


def zone_label() -> str:
    """ "北京时间" for Asia/Shanghai (what people call it), else the zone's IANA name."""
    name = current_zone.get()
    return _("Beijing time") if name == DEFAULT_ZONE else _("{zone} time", zone=name)


def age_text(seconds: float, since: dt.datetime | str) -> str:
    """How long ago, as people say it: "刚刚", "3 分钟前", "2 小时前"; a date beyond a day
    (an age of "8063 h" helps nobody)."""
    s = max(0, int(seconds))
    if s < 60:
        return _("just now")
    if s < AGE_MINUTES_UP_TO * 60:
        return _("{n} min ago", n=s // 60)
    if s < AGE_HOURS_UP_TO * 3600:
        return _("{n} h ago", n=s // 3600)
    return _("last seen {when}", when=format_datetime(since))
