"""Every text an HL7 v2 refusal carries (MSA-3, ERR-8) is in the message catalogue with a
Chinese translation, and the ACK keeps answering in English (its behaviour before the
catalogue: no peer profile names a language, and the sender's character set may not hold
Chinese).

Found the way gettext's extractors find ids, independently of the gateway: every
`Hl7Error(code, message, ...)` in services/hl7_gateway/ is read from the AST, and its
message must be a `Msg("...")` (whose id tests/unit/test_i18n_catalogue.py checks in both
catalogues), a variable assigned one in the same function or a parameter typed `Msg`, or
one of the texts built elsewhere listed below, which the catalogue translates by template.
Expected Chinese words are written here from what a Chinese reader reads (不支持 = not
supported, 版本 = version, 接口 = interface), not imported from the catalogue.
"""

from __future__ import annotations

import ast
import ipaddress
import re
from pathlib import Path

import pytest

from services import i18n
from services.auth.peers import peer_refusal
from services.hl7_gateway import ack
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.oru_ecg import parse_oru_ecg, read_message
from services.i18n import catalogue
from services.ingest.patient_links import LinkRefused, PatientAt, check_link, check_unlink
from tests.ecg_payloads import ecg_payload
from tests.hl7_messages import oru_r01, set_field

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "hl7_gateway"
# Messages built elsewhere, passed through as they are: (module, expression) -> where from.
PASS_THROUGH = {
    ("intake.py", "refusal"): "services/auth/peers.py peer_refusal (template)",
    ("adt_intake.py", "str(exc)"): "services/ingest/patient_links.py LinkRefused (template)",
    ("oru_ecg.py", "validation"): "EcgIn's validation text, as POST /ingest/ecg answers it",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _is_msg(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Msg"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
    )


def _msg_names(function: ast.AST) -> set[str]:
    """Names a function binds to a Msg: assignments and parameters annotated `Msg`."""
    names = {
        target.id
        for node in ast.walk(function)
        if isinstance(node, ast.Assign) and _is_msg(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if isinstance(function, ast.FunctionDef):
        args = function.args.args + function.args.kwonlyargs
        names |= {a.arg for a in args if a.annotation and ast.unparse(a.annotation) == "Msg"}
    return names


def refusal_messages() -> list[tuple[str, int, ast.AST, set[str]]]:
    """(module, line, message expression, Msg names of its function) of every Hl7Error."""
    found: list[tuple[str, int, ast.AST, set[str]]] = []
    for path in sorted(GATEWAY.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "Hl7Error":
                    message = node.args[1] if len(node.args) > 1 else node.keywords[0].value
                    found.append((path.name, node.lineno, message, _msg_names(function)))
    return found


def test_the_scan_finds_the_gateways_refusals() -> None:
    """Guards the scan itself: without it the next test would pass on nothing."""
    found = refusal_messages()
    assert len(found) > 60
    assert {name for name, *_ in found} >= {"er7.py", "adt_in.py", "oru_ecg.py", "intake.py"}


def test_every_refusal_text_is_a_catalogue_message_or_a_listed_pass_through() -> None:
    loose = [
        f"{name}:{line}: {ast.unparse(message)[:70]}"
        for name, line, message, msg_names in refusal_messages()
        if not _is_msg(message)
        and not (isinstance(message, ast.Name) and message.id in msg_names)
        and (name, ast.unparse(message)) not in PASS_THROUGH
    ]
    assert not loose, "HL7 refusal texts outside the catalogue:\n" + "\n".join(loose)


def _patient(rid: str, merged_into: str | None = None) -> PatientAt:
    link = [{"type": "replaced-by", "other": {"reference": f"Patient/{merged_into}"}}]
    return PatientAt(rid, {}, {"link": link} if merged_into else {})


def _link_refusals() -> list[str]:
    texts = []
    cases = [
        (_patient("a"), _patient("a")),
        (_patient("a", merged_into="c"), _patient("b")),
        (_patient("a"), _patient("b", merged_into="c")),
    ]
    for source, target in cases:
        with pytest.raises(LinkRefused) as refused:
            check_link(source, target)
        texts.append(str(refused.value))
    with pytest.raises(LinkRefused) as refused:
        check_unlink(_patient("a"), _patient("b"))
    return [*texts, str(refused.value)]


def _peer_refusals() -> list[str]:
    peers = {"county-hospital": [ipaddress.ip_network("10.10.0.0/16")]}
    return [
        peer_refusal(peers, "clinic-x", "10.10.0.9"),
        peer_refusal(peers, "county-hospital", None),
        peer_refusal(peers, "county-hospital", "192.0.2.7"),
    ]


def test_texts_passed_through_are_translated_by_their_template() -> None:
    for text in _peer_refusals() + _link_refusals():
        assert catalogue.match(text) is not None, text
        chinese = i18n.localize(text, "zh-CN")
        assert CJK.search(chinese) and chinese != text, (text, chinese)


def test_a_refusal_reads_in_chinese_and_the_ack_stays_english() -> None:
    payload = set_field(oru_r01(ecg_payload(), control_id="V-22"), "MSH", 12, "2.2").encode()
    with pytest.raises(Hl7Error) as refused:
        parse_oru_ecg(payload)
    chinese = i18n.localize(refused.value.text, "zh-CN")
    assert "不支持" in chinese and "版本" in chinese and "2.2" in chinese
    header, _ = read_message(payload)
    answer = ack.error(header, refused.value).decode()
    assert "HL7 version '2.2' is not supported" in answer
    assert not CJK.search(answer)


def test_the_registry_check_of_a_site_reads_in_chinese_over_http() -> None:
    """The 422 POST /ingest/ecg answers for a site the registry does not know (the check
    the MLLP intake makes for ORU and ADT, services/registry/checks.py)."""
    chinese = i18n.localize("site.id: no clinic 'clinic-x' in the registry", "zh-CN")
    assert "注册表" in chinese and "clinic-x" in chinese
