"""A round's outputs in one folder: result.json, result.xlsx and report.html, each written to a
temporary file beside its target and renamed over it, so a crash or Ctrl-C never leaves half a
file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service.round import results_xlsx
from service.round.report_page import render_html
from venture.v1 import round_pb2

__all__ = [
    "REPORT_HTML",
    "RESULT_JSON",
    "RESULT_XLSX",
    "atomic_write_bytes",
    "render_html",
    "result_json",
    "write_outputs",
    "write_results_xlsx",
]

RESULT_JSON = "result.json"
RESULT_XLSX = "result.xlsx"
REPORT_HTML = "report.html"
_NEW_FILE_MODE = 0o644


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; some platforms cannot open a directory, which is fine."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` all or nothing: a temporary file in the same folder, flushed to
    disk, then renamed over `path`. On any failure (or Ctrl-C) the temporary file is removed and
    an existing `path` is left as it was."""
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_dir(path.parent)


def _json_name(field: FieldDescriptor) -> str:
    """The field's key in proto3 JSON (the stubs do not declare `json_name`)."""
    return str(getattr(field, "json_name", field.camelcase_name))


def _sort_maps(message: Message, data: dict[str, Any]) -> None:
    """Map fields in key order: protobuf maps iterate in no fixed order, the file must not."""
    for field, value in message.ListFields():
        name = _json_name(field)
        if field.message_type is None or name not in data:
            continue
        if field.message_type.GetOptions().map_entry:
            data[name] = dict(sorted(data[name].items()))
        elif field.is_repeated:
            for item, item_data in zip(value, data[name], strict=True):
                if isinstance(item_data, dict):
                    _sort_maps(item, item_data)
        elif isinstance(data[name], dict):
            _sort_maps(value, data[name])


def result_json(response: round_pb2.OptimizeRoundResponse) -> bytes:
    """The response in proto3 JSON, Chinese kept readable; the same response gives the same
    bytes."""
    data = json_format.MessageToDict(response)
    _sort_maps(response, data)
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_results_xlsx(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse, path: Path
) -> None:
    atomic_write_bytes(path, results_xlsx.workbook_bytes(request, response))


def write_outputs(
    request: round_pb2.OptimizeRoundRequest,
    response: round_pb2.OptimizeRoundResponse,
    out_dir: Path,
) -> list[Path]:
    """report.html, result.xlsx and result.json in `out_dir` (created if missing); returns
    their paths. Each file is complete or absent, never partial, and result.json comes last:
    a folder whose result.json is there holds the whole result (the batch runner relies on
    it to skip rounds already done)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = (
        (REPORT_HTML, render_html(request, response).encode("utf-8")),
        (RESULT_XLSX, results_xlsx.workbook_bytes(request, response)),
        (RESULT_JSON, result_json(response)),
    )
    paths = []
    for name, data in outputs:
        path = out_dir / name
        atomic_write_bytes(path, data)
        paths.append(path)
    return paths
