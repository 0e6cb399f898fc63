"""Data dictionary: loads a QuickFIX-format XML spec and validates messages with it.

Validation is generic, driven by the loaded XML (header, trailer, messages,
components, repeating groups, field types and enumerations); nothing here knows
about a particular message type. A failed check yields a :class:`Rejection`
carrying the SessionRejectReason (373), the offending tag (RefTagID 371) and the
standard text of the reason.
"""

from __future__ import annotations

import importlib.resources
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Final

from gateway.decimals import DECIMAL_PATTERN
from gateway.fix.codec import FixMessage, parse_utc_timestamp

__all__ = [
    "REJECT_TEXTS",
    "SPEC_DIR",
    "DataDictionary",
    "FieldDef",
    "GroupDef",
    "MessageDef",
    "RejectReason",
    "Rejection",
    "load_dictionary",
]

#: The fix_specs package's files (fix_specs/ in a checkout, package data when installed).
SPEC_DIR: Final[Traversable] = importlib.resources.files("fix_specs")

_SPEC_FILES: Final = {"FIX.4.2": "FIX42.xml", "FIX.4.4": "FIX44.xml", "FIXT.1.1": "FIXT11.xml"}
#: DefaultApplVerID (1137) of a FIXT.1.1 session -> its application dictionary.
_APP_SPEC_FILES: Final = {"9": "FIX50SP2.xml"}


def _group_count(value: bytes) -> int:
    """A NumInGroup value (already checked to be digits) as a count; -1, which no group
    matches (SessionRejectReason 16), when it is too long for one: int() would raise
    beyond 4300 digits and take the session down."""
    return int(value) if len(value) <= 18 else -1


class RejectReason:
    """SessionRejectReason (373) values."""

    INVALID_TAG_NUMBER: Final = 0
    REQUIRED_TAG_MISSING: Final = 1
    TAG_NOT_DEFINED_FOR_MESSAGE: Final = 2
    UNDEFINED_TAG: Final = 3  # not sent: an undefined tag is an invalid tag number (0)
    TAG_WITHOUT_VALUE: Final = 4
    VALUE_OUT_OF_RANGE: Final = 5
    INCORRECT_DATA_FORMAT: Final = 6
    DECRYPTION_PROBLEM: Final = 7
    SIGNATURE_PROBLEM: Final = 8
    COMPID_PROBLEM: Final = 9
    SENDING_TIME_ACCURACY: Final = 10
    INVALID_MSGTYPE: Final = 11
    XML_VALIDATION_ERROR: Final = 12
    TAG_REPEATED: Final = 13
    TAG_OUT_OF_ORDER: Final = 14
    GROUP_FIELDS_OUT_OF_ORDER: Final = 15
    INCORRECT_NUMINGROUP: Final = 16
    NON_DATA_VALUE_INCLUDES_SOH: Final = 17
    INVALID_APPL_VER: Final = 18  # FIXT.1.1 only
    OTHER: Final = 99


#: The standard texts of the SessionRejectReason values (FIX 4.4 specification).
REJECT_TEXTS: Final[Mapping[int, str]] = {
    0: "Invalid tag number",
    1: "Required tag missing",
    2: "Tag not defined for this message type",
    3: "Undefined Tag",
    4: "Tag specified without a value",
    5: "Value is incorrect (out of range) for this tag",
    6: "Incorrect data format for value",
    7: "Decryption problem",
    8: "Signature problem",
    9: "CompID problem",
    10: "SendingTime accuracy problem",
    11: "Invalid MsgType",
    12: "XML Validation error",
    13: "Tag appears more than once",
    14: "Tag specified out of required order",
    15: "Repeating group fields out of order",
    16: "Incorrect NumInGroup count for repeating group",
    17: 'Non "data" value includes field delimiter (SOH character)',
    18: "Invalid/Unsupported Application Version",
    99: "Other",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message failed validation: reason (373), RefTagID (371), Text (58)."""

    reason: int
    ref_tag: int | None = None
    text: str = ""

    @property
    def message(self) -> str:
        return self.text or REJECT_TEXTS.get(self.reason, "Other")


@dataclass(frozen=True, slots=True)
class FieldDef:
    number: int
    name: str
    type: str
    values: frozenset[bytes] | None = None


@dataclass(slots=True)
class GroupDef:
    count_tag: int
    delimiter: int
    order: tuple[int, ...]
    fields: frozenset[int]
    required: frozenset[int]
    groups: dict[int, GroupDef] = field(default_factory=dict)


@dataclass(slots=True)
class MessageDef:
    msg_type: str
    name: str
    admin: bool
    order: tuple[int, ...]
    fields: frozenset[int]
    required: frozenset[int]
    groups: dict[int, GroupDef] = field(default_factory=dict)


_INT: Final = re.compile(rb"-?\d+")
_UINT: Final = re.compile(rb"\d+")
_FLOAT: Final = re.compile(DECIMAL_PATTERN.encode())  # the grammar of every edge
# Dates and times, with the ranges parse_utc_timestamp checks for UTCTimestamp: month
# 01-12, day 01-31, hour 00-23, minute 00-59, second 00-60 (leap second), 1-9 digits
# of fraction. A time zone offset (TZ types) is Z or +/-hh[:mm], hh 00-14, mm 00-59.
_YM: Final = rb"\d{4}(?:0[1-9]|1[0-2])"
_DD: Final = rb"(?:0[1-9]|[12]\d|3[01])"
_HHMM: Final = rb"(?:[01]\d|2[0-3]):[0-5]\d"
_SS: Final = rb":(?:[0-5]\d|60)(?:\.\d{1,9})?"
_TZ: Final = rb"(?:Z|[+-](?:0\d|1[0-4])(?::[0-5]\d)?)?"
_DATE: Final = re.compile(_YM + _DD)  # YYYYMMDD
_TIME: Final = re.compile(_HHMM + _SS)  # HH:MM:SS[.sss]
_TZTIMEONLY: Final = re.compile(_HHMM + b"(?:" + _SS + b")?" + _TZ)  # HH:MM[:SS[.sss]][tz]
_TZTIMESTAMP: Final = re.compile(_YM + _DD + b"-" + _HHMM + b"(?:" + _SS + b")?" + _TZ)
_MONTHYEAR: Final = re.compile(_YM + b"(?:" + _DD + rb"|w[1-5])?")  # YYYYMM[DD|wN]
_TAGNUM: Final = re.compile(rb"[1-9]\d*")  # a positive integer without leading zero
_MULTIPLECHAR: Final = re.compile(rb"[^ ](?: [^ ])*")  # single characters, one space apart
_MULTIPLESTRING: Final = re.compile(rb"[^ ]+(?: [^ ]+)*")  # strings, one space apart

_TYPE_PATTERNS: Final[dict[str, re.Pattern[bytes]]] = {
    "INT": _INT,
    "DAYOFMONTH": _INT,
    "LENGTH": _UINT,
    "NUMINGROUP": _UINT,
    "SEQNUM": _UINT,
    "FLOAT": _FLOAT,
    "QTY": _FLOAT,
    "PRICE": _FLOAT,
    "PRICEOFFSET": _FLOAT,
    "AMT": _FLOAT,
    "PERCENTAGE": _FLOAT,
    "UTCDATEONLY": _DATE,
    "UTCDATE": _DATE,
    "LOCALMKTDATE": _DATE,
    "UTCTIMEONLY": _TIME,
    "LOCALMKTTIME": _TIME,
    "TZTIMEONLY": _TZTIMEONLY,
    "TZTIMESTAMP": _TZTIMESTAMP,
    "MONTHYEAR": _MONTHYEAR,
    "TAGNUM": _TAGNUM,
    "MULTIPLECHARVALUE": _MULTIPLECHAR,
    "MULTIPLESTRINGVALUE": _MULTIPLESTRING,
}


def _parse_xml(source: Traversable) -> ET.Element:
    """A file or a package resource (an installed package may not be a directory)."""
    with source.open("rb") as fh:
        return ET.parse(fh).getroot()


class DataDictionary:
    """One session's dictionary (header, trailer, messages, fields): a FIX 4.x file, or
    for FIXT.1.1 the transport file plus an application file."""

    def __init__(self, path: Traversable, app_path: Traversable | None = None) -> None:
        """``path`` alone: a FIX 4.x dictionary. With ``app_path``: ``path`` is the
        transport dictionary (FIXT11.xml: header, trailer, session messages) and the
        application messages come from ``app_path`` (e.g. FIX50SP2.xml), as QuickFIX's
        TransportDataDictionary + AppDataDictionary. Each file's messages are built with
        its own components; where both define a field, the transport definition wins
        (it is the one that describes the header and the session messages)."""
        root = _parse_xml(path)
        roots = [root] if app_path is None else [root, _parse_xml(app_path)]
        self.begin_string = "{}.{}.{}".format(
            root.get("type", "FIX"), root.get("major"), root.get("minor")
        )
        self.fields: dict[int, FieldDef] = {}
        self.names: dict[str, int] = {}
        for r in reversed(roots):  # the transport file last: its definitions win
            for f in r.iterfind("fields/field"):
                number = int(f.get("number", "0"))
                name = f.get("name", "")
                values = frozenset(v.get("enum", "").encode() for v in f.iterfind("value"))
                self.fields[number] = FieldDef(
                    number, name, f.get("type", "STRING"), values or None
                )
                self.names[name] = number
        components = _components(root)
        self.header = self._build("header", "", False, root.find("header"), components)
        self.trailer = self._build("trailer", "", False, root.find("trailer"), components)
        self.messages: dict[str, MessageDef] = {}
        for r in roots:
            components = _components(r)
            for m in r.iterfind("messages/message"):
                mt = m.get("msgtype", "")
                admin = m.get("msgcat") == "admin"
                self.messages[mt] = self._build(m.get("name", ""), mt, admin, m, components)
        self._header_tags = self.header.fields | {8, 9, 35}
        self._trailer_tags = self.trailer.fields
        self._always_required = self.header.required | self.trailer.required
        #: (MsgType, tag sequence) -> the value checks still needed for a message of
        #: that exact shape (see validate); only shapes without repeating groups.
        self._plans: dict[tuple[str, tuple[int, ...]], tuple[tuple[int, _Check], ...]] = {}
        self._checks: dict[int, _Check | None] = {}
        self._group_tags = frozenset(self.header.groups) | frozenset(self.trailer.groups)
        self.data_tags: dict[int, int] = {}
        for fd in self.fields.values():
            if fd.type == "DATA":
                for suffix in ("Len", "Length"):
                    ln = self.names.get(fd.name + suffix)
                    if ln is not None:
                        self.data_tags[ln] = fd.number

    def _build(
        self,
        name: str,
        msg_type: str,
        admin: bool,
        elem: ET.Element | None,
        components: Mapping[str, ET.Element],
    ) -> MessageDef:
        order: list[int] = []
        required: set[int] = set()
        groups: dict[int, GroupDef] = {}
        if elem is not None:
            self._expand(elem, True, order, required, groups, components)
        return MessageDef(
            msg_type, name, admin, tuple(order), frozenset(order), frozenset(required), groups
        )

    def _expand(
        self,
        elem: ET.Element,
        req_ctx: bool,
        order: list[int],
        required: set[int],
        groups: dict[int, GroupDef],
        components: Mapping[str, ET.Element],
    ) -> None:
        for child in elem:
            name = child.get("name", "")
            req = req_ctx and child.get("required") == "Y"
            if child.tag == "component":
                self._expand(components[name], req, order, required, groups, components)
                continue
            tag = self.names[name]
            order.append(tag)
            if req:
                required.add(tag)
            if child.tag == "group":
                g_order: list[int] = []
                g_req: set[int] = set()
                g_groups: dict[int, GroupDef] = {}
                self._expand(child, True, g_order, g_req, g_groups, components)
                groups[tag] = GroupDef(
                    tag, g_order[0], tuple(g_order), frozenset(g_order), frozenset(g_req), g_groups
                )

    # -- queries -----------------------------------------------------------------

    def is_admin(self, msg_type: str) -> bool:
        m = self.messages.get(msg_type)
        return m is not None and m.admin

    def has_msg_type(self, msg_type: str) -> bool:
        return msg_type in self.messages

    # -- validation --------------------------------------------------------------

    def check_value(self, tag: int, value: bytes) -> Rejection | None:
        """Type and enumeration check of one value (``None`` if valid or unknown tag)."""
        fd = self.fields.get(tag)
        if fd is None:
            return None
        return self._check_value(fd, value)

    @staticmethod
    def _check_value(fd: FieldDef, value: bytes) -> Rejection | None:
        t = fd.type
        pat = _TYPE_PATTERNS.get(t)
        if pat is not None:
            if pat.fullmatch(value) is None:
                return Rejection(6, fd.number)
        elif t == "UTCTIMESTAMP":
            if parse_utc_timestamp(value) is None:
                return Rejection(6, fd.number)
        elif t == "CHAR":
            if len(value) != 1:
                return Rejection(6, fd.number)
        elif t == "BOOLEAN" and value not in (b"Y", b"N"):
            return Rejection(6, fd.number)
        values = fd.values
        if values is not None and t != "BOOLEAN":
            if t in ("MULTIPLEVALUESTRING", "MULTIPLECHARVALUE", "MULTIPLESTRINGVALUE"):
                if not all(v in values for v in value.split(b" ")):
                    return Rejection(5, fd.number)
            elif value not in values:
                return Rejection(5, fd.number)
        return None

    def validate(self, msg: FixMessage) -> Rejection | None:
        """Validate a framed message (8, 9, 35 first and 10 last are guaranteed
        by the framer). Returns the first problem found, or ``None``.

        Fast path: everything but the field values (defined tags, header/body/trailer
        order, repeats, required tags) depends only on the MsgType and the sequence of
        tags. Once a message of a given shape (without repeating groups) has passed the
        full check, later messages of the same shape only run the value checks of the
        cached plan; any failure there re-runs the full check, which reports the first
        problem exactly as before.
        """
        raw = msg.raw
        tags = msg.tags
        if raw and tags and b"=\x01" not in raw:  # no empty value anywhere
            key = (msg.msg_type, tags)
            plan = self._plans.get(key)
            if plan is not None:
                values = msg.values
                for i, check in plan:
                    if not check(values[i]):
                        return self._validate(msg)
                return None
            rej = self._validate(msg)
            if rej is None and len(self._plans) < _MAX_PLANS:
                plan = self._plan(key[0], key[1])
                if plan is not None:
                    self._plans[key] = plan
            return rej
        return self._validate(msg)

    def _plan(self, msg_type: str, tags: tuple[int, ...]) -> tuple[tuple[int, _Check], ...] | None:
        """Value checks for a validated shape; None if it has repeating groups."""
        mdef = self.messages[msg_type]
        if not self._group_tags.isdisjoint(tags) or not mdef.groups.keys().isdisjoint(tags):
            return None
        plan = []
        for i in range(3, len(tags) - 1):
            check = self._check_for(tags[i])
            if check is not None:
                plan.append((i, check))
        return tuple(plan)

    def _check_for(self, tag: int) -> _Check | None:
        """A predicate whose truth implies ``_check_value(fd, v) is None`` (None: no
        check needed). A false answer only sends the message to the full check, so a
        predicate may be stricter, never looser. Bound C methods where possible."""
        try:
            return self._checks[tag]
        except KeyError:
            pass
        fd = self.fields[tag]
        t = fd.type
        values = fd.values if t != "BOOLEAN" else None
        check: _Check | None
        pat = _TYPE_PATTERNS.get(t)
        if t == "CHAR" and values is not None:
            if all(len(v) == 1 for v in values):
                check = values.__contains__  # membership implies length 1
            else:
                vals = values
                check = lambda v: len(v) == 1 and v in vals  # noqa: E731
        elif t == "BOOLEAN":
            check = _BOOLEANS.__contains__
        elif t == "UTCTIMESTAMP" and values is None:
            check = parse_utc_timestamp  # epoch 0 is falsy: it just takes the full check
        elif pat is _UINT and values is None:
            check = bytes.isdigit  # ASCII digits, non-empty: exactly the regex
        elif pat is _FLOAT and values is None:
            check = _unsigned_decimal  # a subset of _FLOAT, 4x cheaper than the regex
        elif pat is not None and values is None:
            check = pat.fullmatch  # a Match is always true
        elif pat is None and t not in ("UTCTIMESTAMP", "CHAR") and values is None:
            check = None  # STRING and friends: any non-empty value
        elif t == "STRING" and values is not None:
            check = values.__contains__
        else:
            check = lambda v: self._check_value(fd, v) is None  # noqa: E731
        self._checks[tag] = check
        return check

    def _validate(self, msg: FixMessage) -> Rejection | None:
        fields = msg.fields
        mdef = self.messages.get(msg.msg_type)
        if mdef is None:
            return Rejection(RejectReason.INVALID_MSGTYPE, 35)
        defs = self.fields
        header_tags = self._header_tags
        trailer_tags = self._trailer_tags
        seen: set[int] = {8, 9, 35}
        section = 0  # 0 header, 1 body, 2 trailer
        n = len(fields) - 1  # CheckSum(10) is last
        i = 3
        while i < n:
            tag, value = fields[i]
            fd = defs.get(tag)
            if fd is None:  # not a tag number (0, negative) or none the dictionary has
                return Rejection(RejectReason.INVALID_TAG_NUMBER, tag)
            if not value:
                return Rejection(RejectReason.TAG_WITHOUT_VALUE, tag)
            if tag in header_tags:
                if section != 0:
                    return Rejection(RejectReason.TAG_OUT_OF_ORDER, tag)
                groups = self.header.groups
            elif tag in trailer_tags:
                section = 2
                groups = self.trailer.groups
            else:
                if section == 2:
                    return Rejection(RejectReason.TAG_OUT_OF_ORDER, tag)
                section = 1
                if tag not in mdef.fields:
                    return Rejection(RejectReason.TAG_NOT_DEFINED_FOR_MESSAGE, tag)
                groups = mdef.groups
            if tag in seen:
                return Rejection(RejectReason.TAG_REPEATED, tag)
            seen.add(tag)
            err = self._check_value(fd, value)
            if err is not None:
                return err
            i += 1
            g = groups.get(tag) if groups else None
            if g is not None:
                i, err = self._walk_group(fields, i, n, g, _group_count(value))
                if err is not None:
                    return err
        seen.add(10)
        for req in (self._always_required, mdef.required):
            if not req <= seen:
                missing = [
                    t for t in (*self.header.order, *mdef.order) if t in req and t not in seen
                ]
                return Rejection(RejectReason.REQUIRED_TAG_MISSING, missing[0] if missing else None)
        return None

    def _walk_group(
        self, fields: list[tuple[int, bytes]], i: int, n: int, g: GroupDef, count: int
    ) -> tuple[int, Rejection | None]:
        """Walk the instances of group ``g``; inside an instance the fields must follow
        the dictionary's order (``g.order``), the delimiter first."""
        defs = self.fields
        instances = 0
        member_seen: set[int] = set()
        pos = 0  # index in g.order of the instance's last field
        while i < n:
            tag, value = fields[i]
            if tag == g.delimiter:
                if instances and not g.required <= member_seen:
                    return i, Rejection(
                        RejectReason.REQUIRED_TAG_MISSING, min(g.required - member_seen)
                    )
                instances += 1
                member_seen = {tag}
                pos = 0
            elif tag in g.fields:
                if instances == 0:
                    reason = RejectReason.INCORRECT_NUMINGROUP if count == 0 else 15
                    return i, Rejection(reason, g.count_tag if count == 0 else tag)
                if tag in member_seen:
                    return i, Rejection(RejectReason.TAG_REPEATED, tag)
                member_seen.add(tag)
                p = g.order.index(tag)
                if p < pos:
                    return i, Rejection(RejectReason.GROUP_FIELDS_OUT_OF_ORDER, tag)
                pos = p
            else:
                break
            if not value:
                return i, Rejection(RejectReason.TAG_WITHOUT_VALUE, tag)
            err = self._check_value(defs[tag], value)
            if err is not None:
                return i, err
            i += 1
            sub = g.groups.get(tag)
            if sub is not None:
                i, err = self._walk_group(fields, i, n, sub, _group_count(value))
                if err is not None:
                    return i, err
        if instances and not g.required <= member_seen:
            return i, Rejection(RejectReason.REQUIRED_TAG_MISSING, min(g.required - member_seen))
        if instances != count:
            return i, Rejection(RejectReason.INCORRECT_NUMINGROUP, g.count_tag)
        return i, None


def _components(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in root.iterfind("components/component")}


_Check = Callable[[bytes], object]  # truthy = valid


def _unsigned_decimal(value: bytes) -> bool:
    """Digits with at most one '.', at least one digit ("1", "1.5", ".5", "5."): every
    such value matches _FLOAT; a negative one just takes the full check."""
    return value.replace(b".", b"", 1).isdigit()


_BOOLEANS: Final = frozenset((b"Y", b"N"))
_MAX_PLANS: Final = 1024


#: Loaded dictionaries by the names of their files (a Traversable need not be hashable).
_LOADED: Final[dict[tuple[str, str], DataDictionary]] = {}


def _load(path: Traversable, app_path: Traversable | None) -> DataDictionary:
    key = (str(path), str(app_path or ""))
    loaded = _LOADED.get(key)
    if loaded is None:
        loaded = _LOADED[key] = DataDictionary(path, app_path)
    return loaded


def load_dictionary(
    begin_string: str, spec_dir: Traversable | None = None, appl_ver_id: str = "9"
) -> DataDictionary:
    """The (cached) dictionary of a session: FIX42.xml or FIX44.xml for "FIX.4.2" and
    "FIX.4.4"; for "FIXT.1.1" FIXT11.xml plus the application dictionary of its
    DefaultApplVerID ``appl_ver_id`` (9: FIX50SP2.xml)."""
    directory = spec_dir or SPEC_DIR
    try:
        name = _SPEC_FILES[begin_string]
    except KeyError:
        raise ValueError(f"no data dictionary for BeginString {begin_string!r}") from None
    if begin_string != "FIXT.1.1":
        return _load(directory / name, None)
    try:
        app_name = _APP_SPEC_FILES[appl_ver_id]
    except KeyError:
        raise ValueError(f"no application dictionary for ApplVerID {appl_ver_id!r}") from None
    return _load(directory / name, directory / app_name)
