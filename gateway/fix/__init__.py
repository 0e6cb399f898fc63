"""FIX protocol edge: codec, data dictionary, session state machine, message store
and asyncio acceptor. See fix_specs/RULES_OF_ENGAGEMENT.md for the client view."""

from gateway.fix.acceptor import FixAcceptor
from gateway.fix.codec import FixEncoder, FixMessage, FrameReader, Garbled
from gateway.fix.dictionary import DataDictionary, Rejection, load_dictionary
from gateway.fix.session import (
    BusinessRejectReason,
    FixApplication,
    FixSession,
    SessionState,
    Transport,
)
from gateway.fix.settings import AcceptorSettings, AuthMode, Role, SessionSettings
from gateway.fix.store import FileStore

__all__ = [
    "AcceptorSettings",
    "AuthMode",
    "BusinessRejectReason",
    "DataDictionary",
    "FileStore",
    "FixAcceptor",
    "FixApplication",
    "FixEncoder",
    "FixMessage",
    "FixSession",
    "FrameReader",
    "Garbled",
    "Rejection",
    "Role",
    "SessionSettings",
    "SessionState",
    "Transport",
    "load_dictionary",
]
