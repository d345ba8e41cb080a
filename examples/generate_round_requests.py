#!/usr/bin/env python3
"""Write examples/round_county.json, round_street.json and round_city.json: three whole rounds
(OptimizeRoundRequest) from the seeded generators in service/round/generate.py.

- round_county.json — a county round (县级公益创投, as in Zibo or Wujin): 90 applications from
  40 organizations across 6 service domains and 16 townships; 15 experts, each proposal scored
  by 5 of them on a 100-point rubric (需求评估, 项目设计, 执行能力, 预算合理性, 社会效益与可持续性;
  a need score below 8 vetoes), some recused for conflicts of interest (回避) and a few sheets
  never handed in; trimmed mean, pass line 60. 1.2M yuan with 10% kept in reserve, paid from a
  welfare-lottery pool (elderly and disability services) and a community fund; grants of
  1万–8万 in tiers of 3万/5万/8万, score bands (≥ 85: 100%, 75–84: 80%, 60–74: 60%), whole
  100 yuan, at least 3 grants per domain, at most 2 per organization. 50 community needs
  across the townships (soft minimums, bordering townships, one forbidden and one agreed pair)
  and a mentor pool of 15 across 8 areas, some remote, three with a conflict.
- round_street.json — a street micro round (社区微创投): 60 applications from registered
  organizations and volunteer teams, tiers of 8千/5千/3千 (teams up to 5千), 0.13M yuan in two
  pools by kind of applicant, five judges scoring everything plus residents' votes at 30%,
  every community with a passing project funded, a minimum of grants for volunteer teams;
  24 needs across 8 communities (fair matching over each need's 5 best candidates) and 6
  mentors.
- round_city.json — a city round (市级公益创投, as in Guangzhou): 320 applications across 8
  domains and 11 districts, 45 experts (5 per proposal, calibrated for leniency), expert panel /
  public vote / donations raised at 60/20/20; 18M yuan from the welfare-lottery fund, grants of
  5万 to min(50万, 60% of the project budget), at least 8 grants and at most 30% of the money
  per domain, every district funded, one grant per organization; 160 needs and 30 mentors.

Names and texts are Chinese and invented; the sizes, money and rules follow the real rounds in
../shared/DESIGN.md.

    .venv/bin/python examples/generate_round_requests.py      # rewrites the three JSON files
"""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format

from service.round.generate import ROUNDS, SEEDS

HERE = Path(__file__).parent


def main() -> None:
    for name, make in ROUNDS.items():
        path = HERE / f"round_{name}.json"
        text = json.dumps(
            json_format.MessageToDict(make(SEEDS[name])), ensure_ascii=False, indent=2
        )
        path.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
