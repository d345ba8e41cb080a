"""Every example round (examples/round_*.json) through the real server with OptimizeRound: the
whole result held to the shared validators, and the JSON, workbook and CSV forms of the same
round giving the same result, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.client import VentureClient
from service.round.workbook import read_round, write_csv_folder, write_workbook
from tests.round_builders import county_example_round
from tests.round_check import round_violations
from venture.v1 import common_pb2

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ROUNDS = ["round_county.json", "round_street.json", "round_city.json"]


@pytest.mark.parametrize("name", ROUNDS)
def test_example_round_is_legal_throughout(client: VentureClient, name: str) -> None:
    request = read_round(EXAMPLES / name)
    response = client.optimize_round(request)
    assert response.allocation.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    assert response.allocation.awards
    assert round_violations(request, response) == []


@pytest.mark.parametrize("name", ROUNDS)
def test_json_workbook_and_csv_forms_give_identical_results(
    client: VentureClient, name: str, tmp_path: Path
) -> None:
    request = read_round(EXAMPLES / name)
    request.options.exclude_timings = True
    write_workbook(request, tmp_path / "round.xlsx")
    write_csv_folder(request, tmp_path / "csv")
    forms = [request, read_round(tmp_path / "round.xlsx"), read_round(tmp_path / "csv")]
    answers = [client.optimize_round(r).SerializeToString(deterministic=True) for r in forms]
    assert answers[1] == answers[0] and answers[2] == answers[0]


def test_merged_county_example_round_is_legal_throughout(client: VentureClient) -> None:
    request = county_example_round()
    assert round_violations(request, client.optimize_round(request)) == []
