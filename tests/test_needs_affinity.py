"""Affinity of needs and organizations: each part by hand, the weighted total, the text
similarity against scikit-learn's own vectorizer, and matrix = pair on generated rounds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.needs import text
from matching.needs.affinity import (
    AffinityFeatures,
    affinity_matrix,
    affinity_of,
    affinity_rows,
    features_of,
    part_matrices,
)
from matching.needs.model import AFFINITY_PARTS, DEFAULT_WEIGHTS, AffinityWeights, Need
from matching.organization import Organization, Rating

ELDERLY = "为社区独居老人提供助餐和探访服务"
YOUTH = "青少年课后托管与心理辅导"
NEEDS = (
    Need("N0", domain="养老", region="东湖街道", description=ELDERLY),
    Need("N1", domain="儿童", region="西山镇", description=YOUTH),
    Need("N2"),  # no domain, no region, no text: only the organization's own parts count
)
ORGS = (
    Organization(
        "O0",
        domains=("养老",),
        regions=("东湖街道",),
        description=ELDERLY,
        rating=Rating.A5,
        evaluation_grades=(80.0, 90.0),
        capacity=4,
    ),
    Organization(
        "O1",
        domains=("儿童", "心理"),
        regions=("北苑街道",),
        description="青少年课后托管",
        past_projects=("心理辅导小组",),
        rating=Rating.A3,
        capacity=2,
    ),
    Organization(
        "O2",
        domains=("环保",),
        regions=("南桥镇",),
        description="垃圾分类宣传",
        evaluation_grades=(70.0,),
        capacity=1,
    ),
)
ADJACENCY = {"西山镇": ("北苑街道",)}
WEIGHTS = DEFAULT_WEIGHTS.normalised()


def _features(adjacency: dict[str, tuple[str, ...]] = ADJACENCY) -> AffinityFeatures:
    return features_of(NEEDS, ORGS, adjacency)


def test_domain_region_and_organization_parts_by_hand() -> None:
    domain, region, _, rating, track, capacity = part_matrices(_features())
    assert domain.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    # O1 works in 北苑街道, adjacent to N1's 西山镇: half a region match.
    assert region.tolist() == [[1, 0, 0], [0, 0.5, 0], [0, 0, 0]]
    assert rating[0].tolist() == [1.0, 0.6, 0.0]
    # O1 has no record: the mean of O0's 0.85 and O2's 0.7.
    assert track[0].tolist() == pytest.approx([0.85, 0.775, 0.7], abs=1e-15)
    assert capacity[0].tolist() == [1.0, 0.5, 0.25]


def test_adjacency_counts_both_ways() -> None:
    forward = part_matrices(_features({"西山镇": ("北苑街道",)}))[1]
    backward = part_matrices(_features({"北苑街道": ("西山镇",)}))[1]
    assert np.array_equal(forward, backward)
    assert part_matrices(_features({}))[1][1].tolist() == [0, 0, 0]


def test_no_track_record_anywhere_is_a_half() -> None:
    orgs = (Organization("A"), Organization("B"))
    track = part_matrices(features_of(NEEDS[:1], orgs, {}))[4]
    assert track.tolist() == [[0.5, 0.5]]


def test_text_identical_disjoint_and_empty() -> None:
    similarity = part_matrices(_features())[2]
    assert similarity[0, 0] == pytest.approx(1.0, abs=1e-12)
    # No character in common: 垃圾分类宣传 with the elderly need, the youth need with O0.
    assert similarity[0, 2] == 0.0
    assert similarity[1, 0] == 0.0
    assert similarity[2].tolist() == [0.0, 0.0, 0.0]
    assert 0 < similarity[1, 1] < 1


def test_text_orders_by_shared_words() -> None:
    orgs = (
        Organization("close", description="为独居老人提供助餐服务"),
        Organization("some", description="老人探访"),
        Organization("none", description=YOUTH),
    )
    similarity = part_matrices(features_of(NEEDS[:1], orgs, {}))[2][0]
    assert similarity[0] > similarity[1] > similarity[2] == 0.0
    assert np.all((similarity >= 0) & (similarity <= 1))


def test_text_is_scikit_learns_char_wb_tfidf() -> None:
    needs = [ELDERLY, YOUTH, "", "Elderly meal delivery, 助餐!", "ＡＢＣ１２３ 老人"]
    orgs = ["长期为老年人提供助餐服务\n居家探访", "abc123", "，。", "meal  delivery 服务", YOUTH]
    ours_n, ours_o = text.tfidf_rows(needs, orgs)
    reference = TfidfVectorizer(
        analyzer="char_wb", ngram_range=text.NGRAMS, preprocessor=text.normalise, sublinear_tf=True
    ).fit_transform(needs + orgs)
    expected = (reference[:5] @ sp.csr_matrix(reference[5:]).T).toarray()
    ours = (ours_n @ ours_o.T).toarray()
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    assert ours_n.shape[1] == reference.shape[1]


def test_normalise_folds_width_case_and_punctuation() -> None:
    assert text.normalise("ＡＢＣ１２３，老人。  Help!") == "abc123 老人 help"


def test_all_texts_empty() -> None:
    needs = (Need("N"),)
    orgs = (Organization("O", description="，"),)
    assert part_matrices(features_of(needs, orgs, {}))[2].tolist() == [[0.0]]


def test_total_by_hand() -> None:
    features = _features()
    # 0.35·1 + 0.2·1 + 0.25·1 + 0.1·1 + 0.05·0.85 + 0.05·1
    assert affinity_of(features, WEIGHTS, 0, 0).total == pytest.approx(0.9925, abs=1e-12)
    # Only the organization's own parts: 0.05·0.7 (track record) + 0.05·0.25 (capacity).
    assert affinity_of(features, WEIGHTS, 2, 2).total == pytest.approx(0.0475, abs=1e-15)
    youth = affinity_of(features, WEIGHTS, 1, 1)
    text_value = youth.parts[2].value
    assert youth.total == pytest.approx(0.57375 + 0.25 * text_value, abs=1e-15)


def test_breakdown_names_weights_and_sums() -> None:
    affinity = affinity_of(_features(), WEIGHTS, 1, 1)
    assert tuple(p.part for p in affinity.parts) == AFFINITY_PARTS
    assert tuple(p.weight for p in affinity.parts) == WEIGHTS
    for part in affinity.parts:
        assert part.contribution == part.weight * part.value
    assert sum(p.contribution for p in affinity.parts) == pytest.approx(affinity.total, abs=1e-15)


def test_weights_are_normalised() -> None:
    weights = AffinityWeights(domain=2, region=0, text=0, rating=0, track_record=0, capacity=2)
    assert weights.normalised() == (0.5, 0, 0, 0, 0, 0.5)
    # N0 and O1: no domain match, capacity 2 of 4.
    assert affinity_of(_features(), weights.normalised(), 0, 1).total == 0.25


def test_all_zero_weights_mean_the_default() -> None:
    assert AffinityWeights(0, 0, 0, 0, 0, 0).normalised() == DEFAULT_WEIGHTS.normalised()


def test_matrix_is_the_weighted_sum_of_the_parts() -> None:
    features = _features()
    expected = sum(w * part for w, part in zip(WEIGHTS, part_matrices(features), strict=True))
    np.testing.assert_allclose(affinity_matrix(features, WEIGHTS), expected, atol=1e-15)


def test_rows_of_any_needs_are_rows_of_the_matrix() -> None:
    features = _features()
    matrix = affinity_matrix(features, WEIGHTS)
    rows = np.array([2, 0], dtype=np.intp)
    assert np.array_equal(affinity_rows(features, WEIGHTS, rows), matrix[rows])


_DOMAINS = ("养老", "儿童", "")
_REGIONS = ("东湖街道", "西山镇", "北苑街道", "")
_TEXTS = (ELDERLY, YOUTH, "老人探访", "心理辅导", "垃圾分类宣传", "")


@st.composite
def _rounds(draw: st.DrawFn) -> tuple[tuple[Need, ...], tuple[Organization, ...]]:
    needs = tuple(
        Need(
            f"N{i}",
            domain=draw(st.sampled_from(_DOMAINS)),
            region=draw(st.sampled_from(_REGIONS)),
            description=draw(st.sampled_from(_TEXTS)),
        )
        for i in range(draw(st.integers(1, 5)))
    )
    orgs = tuple(
        Organization(
            f"O{j}",
            domains=tuple(draw(st.sets(st.sampled_from(_DOMAINS[:2])))),
            regions=tuple(draw(st.sets(st.sampled_from(_REGIONS[:3])))),
            description=draw(st.sampled_from(_TEXTS)),
            past_projects=tuple(draw(st.lists(st.sampled_from(_TEXTS), max_size=2))),
            rating=draw(st.sampled_from(list(Rating))),
            evaluation_grades=tuple(draw(st.lists(st.floats(0, 100), max_size=2))),
            capacity=draw(st.integers(1, 5)),
        )
        for j in range(draw(st.integers(1, 5)))
    )
    return needs, orgs


_WEIGHTS = st.tuples(*(st.floats(0, 10) for _ in AFFINITY_PARTS)).map(
    lambda w: AffinityWeights(*w).normalised()
)


@given(_rounds(), _WEIGHTS)
def test_matrix_equals_each_pair_explained(
    round_: tuple[tuple[Need, ...], tuple[Organization, ...]], weights: tuple[float, ...]
) -> None:
    needs, orgs = round_
    adjacency = {"西山镇": ("北苑街道",)}
    for features in (
        features_of(needs, orgs, adjacency),
        features_of(needs, orgs, adjacency, dense_text_cells=0),  # text block by block
    ):
        matrix = affinity_matrix(features, weights)
        assert matrix.shape == (len(needs), len(orgs))
        assert np.all((matrix >= 0) & (matrix <= 1))
        for i in range(len(needs)):
            for j in range(len(orgs)):
                affinity = affinity_of(features, weights, i, j)
                assert abs(affinity.total - matrix[i, j]) <= 1e-12
                assert all(0 <= p.value <= 1 for p in affinity.parts)
