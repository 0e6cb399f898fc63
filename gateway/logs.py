"""One log stream: a JSON object per line on stderr, whoever logged it.

The FIX session layer, asyncio, aiohttp and websockets log through stdlib logging;
the rest of the gateway through structlog. Both end in one stdlib handler whose
structlog ``ProcessorFormatter`` renders every record the same way, so stderr can be
read by a machine line by line and stdout stays empty.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import Processor

__all__ = ["SECRET_KEYS", "configure_logging", "redact_secrets"]

#: Event keys whose values are never written, whoever passes them.
SECRET_KEYS = frozenset(
    {"password", "new_password", "secret", "hmac_secret", "private_key", "signature", "raw_data"}
)
_REDACTED = "[redacted]"


def redact_secrets(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of any secret-named key: a guard against a careless log call."""
    for key in SECRET_KEYS.intersection(event_dict):
        event_dict[key] = _REDACTED
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr`` (a test harness may have swapped it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str) -> None:
    """Route structlog and stdlib logging to one JSON handler on stderr at ``level``.
    Idempotent: a second call replaces the handler it installed."""
    level_no = logging.getLevelName(level.upper())
    common: list[Processor] = [
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *common,
            structlog.processors.format_exc_info,
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
    )
    handler = _StderrHandler()
    handler.name = __name__
    handler.setFormatter(
        ProcessorFormatter(
            foreign_pre_chain=common,
            processors=[
                ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == __name__]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_no)
    logging.captureWarnings(True)  # warnings.warn() output is a log record too
