"""`venture optimize-batch` on 200 generated rounds: killed part-way and re-run, it finishes with
every result present exactly once and byte-identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.protobuf import json_format

from service.round.files_batch import run_folder
from service.round.generate import generated_round

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 200
OUTPUTS = ("report.html", "result.json", "result.xlsx")


def _write_rounds(folder: Path) -> None:
    folder.mkdir()
    for seed in range(ROUNDS):
        request = generated_round(seed)
        text = json.dumps(json_format.MessageToDict(request), ensure_ascii=False)
        (folder / f"{request.round_id}.json").write_text(text, encoding="utf-8")


def _batch(rounds: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "optimize-batch", str(rounds), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so the kill reaches its workers
    )


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow  # about 3 minutes: 200 rounds, each with its report's six charts, twice
def test_killed_batch_rerun_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    rounds = tmp_path / "rounds"
    _write_rounds(rounds)
    whole = tmp_path / "whole"
    outcomes = list(run_folder(rounds, whole, jobs=2))
    assert [o.status for o in outcomes] == ["done"] * ROUNDS

    out = tmp_path / "interrupted"
    first = _batch(rounds, out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = list(out.glob("*/result.json")) if out.exists() else []
        if len(done) >= 20:
            break
        time.sleep(0.05)
    # No chance to clean up: the worst case. The workers are killed with their parent's group.
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate()
    killed_at = len(list(out.glob("*/result.json")))
    assert 20 <= killed_at < ROUNDS, "kill the batch part-way"

    second = _batch(rounds, out)
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    skipped = stderr.count(" skipped")
    assert skipped >= killed_at  # every finished round is skipped, not redone
    files = _files(out)
    assert files == _files(whole)  # every result once, identical, no temporary files left
    assert len(files) == ROUNDS * len(OUTPUTS)
