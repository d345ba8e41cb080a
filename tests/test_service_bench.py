"""bench service's in-process breakdown of the ScoreProposals handler."""

from __future__ import annotations

from bench.service import EXAMPLES, handler_parts
from service.cli import read_request


def test_handler_parts_time_every_part_of_the_call() -> None:
    parts = handler_parts(read_request(EXAMPLES / "score_county.json"), runs=3)
    engine = ["validate", "prepare", "aggregate", "calibrate", "components", "rank"]
    engine += ["bootstrap", "judges", "explain"]
    assert list(parts) == ["parse", "convert", *engine, "to_pb", "total"]
    assert all(ms > 0 for ms in parts.values())
    # The total is one clock around the parts, each a median of its own: about their sum.
    assert parts["total"] >= parts["convert"] + parts["bootstrap"] + parts["to_pb"]
