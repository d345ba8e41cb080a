"""Score components: each normalisation, bonus caps, money, missing values, shares."""

from __future__ import annotations

import pytest

from scoring.components import COMPONENT_NO_SPREAD, COMPONENT_VALUE_MISSING
from scoring.model import (
    ComponentKind,
    ComponentValue,
    Criterion,
    Normalization,
    Proposal,
    ScoreComponent,
    WeightMode,
)
from tests.scoring_builders import by_id, score

BONUS = ComponentKind.BONUS


def _round(
    values: dict[str, float | None],
    component: ScoreComponent,
    panel_weight: float = 7.0,
    panel: float = 8.0,
) -> dict[str, object]:
    """Every proposal gets the same panel (10·panel points) and its component value."""
    proposals = [
        Proposal(
            p,
            component_values=(ComponentValue(component.component_id, v),) if v is not None else (),
        )
        for p, v in values.items()
    ]
    table = {p: {"J1": [panel]} for p in values}
    return by_id(
        score(table, proposals=proposals, components=(component,), panel_weight=panel_weight)
    )


@pytest.mark.parametrize(
    ("rule", "values", "normalized"),
    [
        (Normalization.NONE, [80.0, 50.0, 0.0], [80.0, 50.0, 0.0]),
        # 100·v / max: 200 → 100, 100 → 50.
        (Normalization.MAX, [200.0, 100.0, 0.0], [100.0, 50.0, 0.0]),
        # max ≤ 0: everything maps to 0.
        (Normalization.MAX, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        # 100·(v − 50) / (200 − 50).
        (Normalization.MIN_MAX, [50.0, 100.0, 200.0], [0.0, 100 / 3, 100.0]),
        # 100·(below + equal/2)/count, equal counting itself: 10 → (0 + 1/2)/3; each 20 →
        # (1 + 2/2)/3 = 2/3.
        (Normalization.RANK, [10.0, 20.0, 20.0], [100 * 0.5 / 3, 200 / 3, 200 / 3]),
        # 100·min(v, cap) / cap with cap 150.
        (Normalization.CAP, [300.0, 75.0, 0.0], [100.0, 50.0, 0.0]),
    ],
)
def test_normalizations(rule: Normalization, values: list[float], normalized: list[float]) -> None:
    component = ScoreComponent("vote", weight=3.0, normalization=rule, cap=150.0)
    scored = _round(dict(zip(("P1", "P2", "P3"), values, strict=True)), component)
    for p, expected in zip(("P1", "P2", "P3"), normalized, strict=True):
        vote = scored[p].components[1]
        assert vote.normalized == pytest.approx(expected)
        # W = 7 + 3: the panel keeps 0.7 of its 80 points, the vote adds 100·0.3·norm/100.
        assert vote.weight_share == pytest.approx(0.3)
        assert vote.contribution == pytest.approx(0.3 * expected)
        assert scored[p].final_score == pytest.approx(0.7 * 80 + 0.3 * expected)
        panel = scored[p].components[0]
        assert (panel.component_id, panel.value, panel.normalized) == ("panel", 80.0, 80.0)
        assert panel.weight_share == pytest.approx(0.7)
        assert panel.contribution == pytest.approx(56.0)


def test_min_max_without_spread_maps_to_zero_with_a_notice() -> None:
    component = ScoreComponent("vote", weight=1.0, normalization=Normalization.MIN_MAX)
    proposals = [Proposal(p, component_values=(ComponentValue("vote", 5.0),)) for p in ("P1", "P2")]
    result = score(
        {"P1": {"J1": [8]}, "P2": {"J1": [6]}}, proposals=proposals, components=(component,)
    )
    assert [p.components[1].normalized for p in result.proposals] == [0.0, 0.0]
    assert [n.code for n in result.notices] == [COMPONENT_NO_SPREAD]


def test_bonus_points_are_capped_and_added_on_top() -> None:
    bonus = ScoreComponent("党建", kind=BONUS, cap=3.0)
    scored = _round({"P1": 5.0, "P2": 1.5, "P3": 0.0}, bonus, panel_weight=1.0)
    # No weighted component: the panel keeps its whole 80 points; the bonus adds min(v, 3).
    assert [scored[p].final_score for p in ("P1", "P2", "P3")] == [83.0, 81.5, 80.0]
    b = scored["P1"].components[1]
    assert (b.value, b.normalized, b.weight_share, b.contribution) == (5.0, 5.0, 0.0, 3.0)


def test_money_values_keep_fen_and_normalise_as_numbers() -> None:
    component = ScoreComponent("raised", weight=1.0, normalization=Normalization.MAX)
    proposals = [
        Proposal("P1", component_values=(ComponentValue("raised", amount_fen=1_234_567),)),
        Proposal("P2", component_values=(ComponentValue("raised", amount_fen=617_283),)),
    ]
    scored = by_id(
        score({"P1": {"J1": [8]}, "P2": {"J1": [8]}}, proposals=proposals, components=(component,))
    )
    raised = scored["P1"].components[1]
    assert (raised.value, raised.amount_fen, raised.normalized) == (1234567.0, 1_234_567, 100.0)
    assert scored["P2"].components[1].normalized == pytest.approx(100 * 617_283 / 1_234_567)
    assert scored["P2"].components[1].amount_fen == 617_283
    assert scored["P1"].components[0].amount_fen == 0


def test_missing_value_counts_as_zero_with_one_notice_per_component() -> None:
    component = ScoreComponent("vote", weight=1.0, normalization=Normalization.MAX)
    scored = _round({"P1": 100.0, "P2": None, "P3": None}, component, panel_weight=1.0)
    assert scored["P2"].components[1].value == 0.0
    assert scored["P2"].final_score == pytest.approx(0.5 * 80)
    result = score(
        {"P1": {"J1": [8]}, "P2": {"J1": [8]}},
        proposals=[Proposal("P1"), Proposal("P2")],
        components=(component,),
    )
    missing = [n for n in result.notices if n.code == COMPONENT_VALUE_MISSING]
    assert len(missing) == 1
    assert missing[0].subject_ids == ("P1", "P2")


def test_points_mode_final_is_on_the_points_scale() -> None:
    # F = 60 points. Panel 45 of 60 (75 normalised); vote normalised 50; shares 1/2 each.
    # final = 60·(0.5·75 + 0.5·50)/100 = 37.5 = 22.5 (panel) + 15 (vote).
    criteria = (Criterion("a", 20.0, 0.0, 20.0), Criterion("b", 40.0, 0.0, 40.0))
    component = ScoreComponent("vote", weight=1.0, normalization=Normalization.NONE)
    proposals = [Proposal("P1", component_values=(ComponentValue("vote", 50.0),))]
    p = by_id(
        score(
            {"P1": {"J1": [15, 30]}},
            criteria,
            proposals=proposals,
            components=(component,),
            weight_mode=WeightMode.POINTS,
        )
    )["P1"]
    assert p.panel_score == pytest.approx(45.0)
    assert [c.contribution for c in p.components] == [pytest.approx(22.5), pytest.approx(15.0)]
    assert p.final_score == pytest.approx(37.5)
    assert p.components[0].normalized == pytest.approx(75.0)


def test_unscored_proposal_gets_no_final_but_still_counts_in_normalisation() -> None:
    component = ScoreComponent("vote", weight=1.0, normalization=Normalization.MAX)
    proposals = [
        Proposal("P1", component_values=(ComponentValue("vote", 50.0),)),
        Proposal("P2", component_values=(ComponentValue("vote", 100.0),)),
    ]
    scored = by_id(
        score({"P1": {"J1": [8]}, "P2": {}}, proposals=proposals, components=(component,))
    )
    # P2 has no sheet, yet its 100 votes are the maximum P1 is normalised against.
    assert scored["P1"].components[1].normalized == pytest.approx(50.0)
    assert scored["P2"].final_score == 0.0
    assert [c.contribution for c in scored["P2"].components] == [0.0, 0.0]
    assert scored["P2"].components[1].normalized == 100.0
    assert scored["P2"].criteria == ()
