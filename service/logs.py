"""Logging for `venture serve`: one JSON object per line (the default) or plain text.

A JSON line has `ts` (UTC, RFC 3339 with milliseconds), `level`, `logger`, `message`, then the
record's structured extras (the per-call line of venture.calls adds `method`, `code`, `ms`,
`labels` and `peer`), and `traceback` when an exception is logged. Only what the code passes as
extras is written: the interceptor never passes a request body, metadata or a token.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Every attribute a plain LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring); `process`, when given, is the
    index of this server among the processes of `venture serve --processes N`."""

    def __init__(self, process: int | None = None) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.process is not None:
            entry["process"] = self.process
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def formatter(log_format: str, process: int | None = None) -> logging.Formatter:
    """The formatter for a `log_format` setting ("json" or "text"), naming the server process
    (see JsonFormatter) when there are several."""
    if log_format.lower() == "json":
        return JsonFormatter(process)
    if process is None:
        return logging.Formatter(TEXT_FORMAT)
    return logging.Formatter(TEXT_FORMAT.replace("%(name)s", f"%(name)s[{process}]"))


def configure(level: str, log_format: str, process: int | None = None) -> None:
    """Log to stderr at `level` in `log_format`, replacing any handler the root logger had."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format, process))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
