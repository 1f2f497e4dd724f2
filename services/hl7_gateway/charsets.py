"""MSH-18 character sets (HL7 table 0211, v2.3-v2.8) -> Python codecs, with the spellings
senders really use ("GB18030", "UTF-8", "ISO-8859-1", "BIG5").

MSH-18 is read from the raw bytes *before* the message is decoded: the MSH segment is
ASCII up to MSH-18 (HL7 v2.5 section 2.15.9.18), and every multi-byte set in the table
keeps CR, LF and ASCII letters and digits at their ASCII byte values, so the first
segment can be split as Latin-1 without knowing the set. UTF-16/32 messages (which break
that rule) are recognised by their byte order mark.
"""

from __future__ import annotations

import re

# Table 0211 names -> codec. Where Python has no codec for the exact set the closest
# superset is used and said so: ISO IR87/IR159 (JIS X 0208/0212) via ISO-2022-JP(-1),
# CNS 11643-1992 via Big5 (the characters Taiwanese systems send are in both).
TABLE_0211 = {
    "ASCII": "ascii",
    **{f"8859/{n}": f"iso8859_{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)},
    "ISO IR14": "iso2022_jp",
    "ISO IR87": "iso2022_jp",
    "ISO IR159": "iso2022_jp_1",
    "ISO IR6": "ascii",
    "ISO IR100": "latin-1",
    "ISO IR192": "utf-8",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "CNS 11643-1992": "big5",
    "BIG-5": "big5",
    "UNICODE": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UNICODE UTF-16": "utf-16",
    "UNICODE UTF-32": "utf-32",
}
# Common spellings outside the table, compared after `_key` (case, spaces, dashes, slashes
# and underscores removed).
SPELLINGS = {
    "UTF8": "utf-8",
    "UNICODEUTF8": "utf-8",
    "USASCII": "ascii",
    "GB18030": "gb18030",
    "GB180302000": "gb18030",
    "GB180302005": "gb18030",
    "GB180302022": "gb18030",
    "GBK": "gb18030",  # GB 18030 is a superset of GBK and GB 2312
    "GB2312": "gb18030",
    "CP936": "gb18030",
    "BIG5": "big5",
    "BIG5HKSCS": "big5hkscs",
    "CNS116431992": "big5",
    "KSX1001": "euc_kr",
    "EUCKR": "euc_kr",
    "LATIN1": "latin-1",
    "UTF16": "utf-16",
    "UTF32": "utf-32",
    **{f"ISO8859{n}": f"iso8859_{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)},
    **{f"8859{n}": f"iso8859_{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)},
}
# How far into a frame the first MSH is looked for (after FHS/BHS batch headers).
HEAD_BYTES = 64 * 1024
_LINE = re.compile(rb"[^\r\n]+")
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _key(name: str) -> str:
    return re.sub(r"[\s\-_/]", "", name).upper()


_BY_KEY = {_key(name): codec for name, codec in TABLE_0211.items()} | SPELLINGS


def codec_of(name: str) -> str | None:
    """The Python codec of a table 0211 name or a common spelling; None when unknown."""
    name = name.strip()
    return TABLE_0211.get(name.upper()) or _BY_KEY.get(_key(name))


def bom_codec(payload: bytes) -> str | None:
    """The codec a byte order mark at the start of the payload names, if any."""
    return next((codec for bom, codec in _BOMS if payload.startswith(bom)), None)


def declared(payload: bytes) -> str:
    """MSH-18 (first repetition, first component) of a raw message's first MSH (after any
    FHS/BHS); "" when absent."""
    # Lines found one at a time: the MSH is the first (or follows FHS/BHS), and splitting
    # the whole head of a 200 KB ORU into lines cost ~0.5 ms a frame.
    lines = (m.group() for m in _LINE.finditer(payload[:HEAD_BYTES].lstrip(b"\r\n \t")))
    first = next((ln for ln in lines if ln.startswith(b"MSH")), b"").decode("latin-1")
    if len(first) < 8:
        return ""
    fields = first.split(first[3])
    if len(fields) <= 17:
        return ""
    return re.split(f"[{re.escape(first[4] + first[5])}]", fields[17])[0].strip()
