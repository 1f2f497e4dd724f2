"""OperationOutcomes a person reads answer in Chinese unless the caller asks for English
(`Accept-Language: en`, or `?lang=en`), over real HTTP on every backend pair; the issue
`code` (for machines) is the same in both languages. Covers the common refusals: 401 and
403 (auth), 404 (FHIR read, unknown route), 409 (board), 422 (ingest validation).

Expected Chinese words are written here from what a Chinese user reads (未找到 = not
found, 令牌 = token, 必填 = required), not imported from the catalogue.
"""

from __future__ import annotations

import httpx

from services.auth.principal import DEFAULT_SCOPES
from services.auth.tokens import mint_dev
from services.server import Server

EN = {"Accept-Language": "en-GB,en;q=0.9"}


def outcome(resp: httpx.Response) -> tuple[str, str]:
    assert resp.headers["content-type"].startswith("application/fhir+json"), resp.text
    issue = resp.json()["issue"][0]
    return issue["code"], issue["diagnostics"]


def both(client: httpx.Client, method: str, url: str, **kw: object) -> tuple[httpx.Response, ...]:
    zh = client.request(method, url, **kw)  # type: ignore[arg-type]
    headers = {**dict(kw.pop("headers", {}) or {}), **EN}  # type: ignore[call-overload]
    en = client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]
    return zh, en


def test_not_found_conflict_and_invalid_are_chinese_by_default(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        zh, en = both(client, "GET", "/fhir/Patient/no-such-patient")
        assert zh.status_code == en.status_code == 404
        assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
        (zc, zt), (ec, et) = outcome(zh), outcome(en)
        assert zc == ec == "not-found"
        assert "未找到" in zt and "Patient/no-such-patient" in zt
        assert et == "Patient/no-such-patient not found"

        zh, en = both(client, "GET", "/no/such/page")
        assert outcome(zh)[1] == "未找到" and outcome(en)[1] == "Not Found"

        zh, en = both(
            client, "POST", "/board/h-1/incidents/INC-x/accept", json={"accepted_by": "李"}
        )
        assert zh.status_code == en.status_code == 409
        assert "看板上没有事件 INC-x" in outcome(zh)[1]
        assert outcome(en)[1] == "no incident INC-x is known to the board"

        zh, en = both(client, "POST", "/ingest/ecg", json={})
        assert zh.status_code == en.status_code == 422
        zh_texts = [i["diagnostics"] for i in zh.json()["issue"]]
        en_texts = [i["diagnostics"] for i in en.json()["issue"]]
        assert any("必填" in t for t in zh_texts) and any("Field required" in t for t in en_texts)
        # ?lang= wins over the header, and is remembered in a cookie
        chosen = client.get("/fhir/Patient/x?lang=en")
        assert "not found" in outcome(chosen)[1] and "lang=en" in chosen.headers["set-cookie"]


def test_auth_refusals_are_chinese_by_default(secured: Server) -> None:
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        zh, en = both(client, "GET", "/fhir/Patient/p1")
        assert zh.status_code == en.status_code == 401
        assert "令牌" in outcome(zh)[1] and outcome(en)[1] == "a bearer token is required"
        token = mint_dev(
            secured.settings, "dispatcher-1", "dispatch", "county", DEFAULT_SCOPES["dispatch"]
        )
        headers = {"Authorization": f"Bearer {token}"}
        zh, en = both(client, "GET", "/fhir/Patient/p1", headers=headers)
        assert zh.status_code == en.status_code == 403
        assert outcome(zh)[0] == outcome(en)[0]
        assert "无权" in outcome(zh)[1] and "may not" in outcome(en)[1]
