"""Round files: JSON, workbook and CSV forms of one round read back as the same request, the
template's sheets and headers, and bad cells reported by sheet, row and column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from google.protobuf import duration_pb2, json_format, message_factory, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.round.sheets import COMPACT_FORMS, WELL_KNOWN, layout
from service.round.workbook import (
    CellProblem,
    RoundFileError,
    read_round,
    write_csv_folder,
    write_template,
    write_workbook,
)
from venture.v1 import allocation_pb2, matching_pb2, round_pb2, scoring_pb2

ROOT = Path(__file__).resolve().parent.parent
Writer = Callable[[round_pb2.OptimizeRoundRequest, Path], None]
# The tables the issue names, by sheet.
ISSUE_SHEETS = {"criteria", "judges", "scores", "proposals", "pools", "quotas", "needs"}
ISSUE_SHEETS |= {"organizations", "mentors"}


def _xlsx(request: round_pb2.OptimizeRoundRequest, tmp: Path) -> Path:
    path = tmp / "round.xlsx"
    write_workbook(request, path)
    return path


def _csv(request: round_pb2.OptimizeRoundRequest, tmp: Path) -> Path:
    path = tmp / "round"
    write_csv_folder(request, path)
    return path


def _json(request: round_pb2.OptimizeRoundRequest, tmp: Path) -> Path:
    path = tmp / "round.json"
    path.write_text(json_format.MessageToJson(request), encoding="utf-8")
    return path


FORMS = [pytest.param(_xlsx, id="xlsx"), pytest.param(_csv, id="csv")]


def _hand_built() -> round_pb2.OptimizeRoundRequest:
    """Many kinds of field: optional unset and 0, enums, lists, labels, children, big fen."""
    r = round_pb2.OptimizeRoundRequest(round_id="2026-春", display_name='社区, "引号"\n第二行')
    r.labels["caller"] = "demo"
    r.labels["empty"] = ""
    r.options.time_limit.FromNanoseconds(1_500_000_000)
    r.options.seed = 2**64 - 1
    r.options.top_k = 3
    r.criteria.add(criterion_id="c1", display_name="必要性", weight=0.1, scale_max=85.5)
    r.criteria.add(criterion_id="c2", weight=1 / 3, veto_below=0.0)  # optional set to 0
    r.judges.add(judge_id="J1", conflict_organization_ids=["ORG1", "a;b", ""])
    r.judges.add(judge_id="J2", assigned_proposal_ids=["P1"])
    p = r.proposals.add(proposal_id="P1", title="=SUM(A1) 助老\r\n食堂", organization_id="ORG1")
    p.requested_fen = 2**60 + 1  # above 2^53: exact only as text
    p.minimum_fen = -(2**63)
    p.submit_time.FromJsonString("2026-03-01T01:02:03.456Z")
    p.score = 0.0
    p.tags.extend(["registered", "志愿 团队"])
    p.eligibility_checks.add(check_id="registration", passed=True)
    p.eligibility_checks.add(check_id="inspection", reason="年检未通过, 需补材料")
    p.component_values.add(component_id="votes", value=0.0)
    p.component_values.add(component_id="donations", amount_fen=123_456_789_012_345_678)
    p.component_values.add(component_id="none")
    r.proposals.add(proposal_id="P2", description="_x000D_ literal, tab\there", donations_fen=5)
    sheet = r.sheets.add(judge_id="J1", proposal_id="P1")
    sheet.scores.add(criterion_id="c1", value=85.5)
    sheet.scores.add(criterion_id="c2", value=0.30000000000000004)
    r.sheets.add(judge_id="J2", proposal_id="P1")  # a sheet without scores
    r.sheets.add(judge_id="J1", proposal_id="P2").scores.add(criterion_id="c1", value=-0.0)
    r.scoring_policy.aggregation = scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN
    r.scoring_policy.trim_count = 1
    r.scoring_policy.pass_line = 0.0
    r.scoring_policy.rank_stability.SetInParent()  # set, all defaults
    r.scoring_policy.components.add(component_id="votes", kind=scoring_pb2.COMPONENT_KIND_BONUS)
    r.scoring_policy.tie_break_rules.add(kind=scoring_pb2.TIE_BREAK_KIND_CRITERION)
    rules = r.allocation_rules
    rules.total_budget_fen = 9_007_199_254_740_993
    rules.pools.add(pool_id="registered", amount_fen=50 * 10**6, eligible_tags=["registered"])
    rules.tiers.add(tier="startup", max_grant_fen=800_000)
    rules.score_bands.add(min_score=85.5, funding_ratio_bp=10_000)
    rules.quotas.add(dimension=allocation_pb2.DIMENSION_DOMAIN, key="elderly", max_count=0)
    rules.quotas.add(dimension=allocation_pb2.DIMENSION_REGION, key="南桥镇", min_count=1)
    approved = allocation_pb2.LOCKED_DECISION_KIND_APPROVED
    rules.locked_decisions.add(proposal_id="P2", decision=approved)
    rules.require_region_coverage = True
    r.needs.add(need_id="N1", domain="elderly", region="南桥镇", max_organizations=2, priority=2.5)
    org = r.organizations.add(organization_id="ORG1", domains=["elderly"], regions=[])
    org.rating = matching_pb2.ORGANIZATION_RATING_3A
    org.evaluation_grades.extend([72.0, 93.5, float("inf")])
    org.weak_areas.add(area="finance", severity=0.7)
    org.weak_areas.add(area="law")
    r.organizations.add(organization_id="ORG2", display_name="无薄弱领域")
    r.need_matching_policy.weights.SetInParent()
    r.need_matching_policy.region_adjacency.add(region="南桥镇", adjacent_regions=["城关镇"])
    r.need_matching_policy.forbidden_pairs.add(need_id="N1", organization_id="ORG2")
    mentor = r.mentors.add(mentor_id="M1", capacity=2, remote=True)
    mentor.expertise.add(area="finance", level=3)
    r.mentor_matching_policy.SetInParent()
    return r


def _county() -> round_pb2.OptimizeRoundRequest:
    """The four county examples as one round."""
    examples = ROOT / "examples"

    def load(name: str, message: Message) -> Message:
        return json_format.Parse((examples / name).read_text(encoding="utf-8"), message)

    score = load("score_county.json", scoring_pb2.ScoreProposalsRequest())
    allocate = load("allocate_county.json", allocation_pb2.AllocateFundingRequest())
    needs = load("match_needs_county.json", matching_pb2.MatchNeedsRequest())
    mentors = load("match_mentors_county.json", matching_pb2.MatchMentorsRequest())
    assert isinstance(score, scoring_pb2.ScoreProposalsRequest)
    assert isinstance(allocate, allocation_pb2.AllocateFundingRequest)
    assert isinstance(needs, matching_pb2.MatchNeedsRequest)
    assert isinstance(mentors, matching_pb2.MatchMentorsRequest)
    r = round_pb2.OptimizeRoundRequest(round_id="2026-county-spring", display_name="县级公益创投")
    r.labels.update(score.labels)
    r.options.CopyFrom(score.options)
    r.criteria.extend(score.criteria)
    r.judges.extend(score.judges)
    r.proposals.extend(allocate.proposals)
    r.sheets.extend(score.sheets)
    r.scoring_policy.CopyFrom(score.policy)
    r.allocation_rules.CopyFrom(allocate.rules)
    r.needs.extend(needs.needs)
    r.organizations.extend(needs.organizations)
    r.need_matching_policy.CopyFrom(needs.policy)
    r.mentors.extend(mentors.mentors)
    r.mentor_matching_policy.CopyFrom(mentors.policy)
    return r


@pytest.mark.parametrize("write", FORMS)
def test_hand_built_round_reads_back_identical(write: Writer, tmp_path: Path) -> None:
    request = _hand_built()
    assert read_round(write(request, tmp_path)) == request


@pytest.mark.parametrize("write", FORMS)
def test_county_round_reads_back_as_its_json(write: Writer, tmp_path: Path) -> None:
    request = _county()
    from_json = read_round(_json(request, tmp_path))
    assert from_json == request
    assert read_round(write(request, tmp_path)) == from_json


def test_optional_fields_empty_is_unset_and_zero_is_set(tmp_path: Path) -> None:
    request = round_pb2.OptimizeRoundRequest()
    request.proposals.add(proposal_id="P1", score=0.0)
    request.proposals.add(proposal_id="P2")
    back = read_round(_xlsx(request, tmp_path))
    assert back.proposals[0].HasField("score") and not back.proposals[1].HasField("score")
    assert not back.HasField("allocation_rules")


def test_template_lists_every_sheet_with_bilingual_headers(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["instructions", "settings"]
    assert set(book.sheetnames) >= ISSUE_SHEETS
    assert set(book.sheetnames[2:]) == {t.name for t in layout().sheets}
    headers = {name: [c.value for c in book[name][1]] for name in book.sheetnames[1:]}
    assert headers["proposals"][:2] == ["项目编号 / proposal_id", "项目名称 / title"]
    assert "申请金额（分） / requested_fen" in headers["proposals"]
    assert headers["scores"] == [
        "评委编号 / judge_id",
        "项目编号 / proposal_id",
        "指标编号 / criterion_id",
        "分数 / value",
    ]
    assert headers["weak_areas"][0] == "机构编号 / organization_id"
    assert all(book[name].max_row == 1 for name in book.sheetnames[2:])  # headers, no data
    settings_rows = [row[0].value for row in book["settings"].iter_rows(min_row=2)]
    assert "allocation_rules.total_budget_fen" in settings_rows
    assert "scoring_policy.rank_stability.samples" in settings_rows
    listed = {row[0].value for row in book["instructions"].iter_rows()}
    assert "公益创投" in str(book["instructions"]["A1"].value)
    assert set(book.sheetnames[1:]) <= listed
    book.close()
    assert read_round(path) == round_pb2.OptimizeRoundRequest()


def _scalar_paths(message: Descriptor, prefix: str = "") -> set[str]:
    """Every field that holds a value, by path through messages ("proposals.submit_time"),
    but for compact forms (the files hold their long form)."""
    paths = set()
    for field in message.fields:
        if field.full_name in COMPACT_FORMS:
            continue
        path = prefix + field.name
        nested = field.message_type
        if nested is None or nested.full_name in WELL_KNOWN or nested.GetOptions().map_entry:
            paths.add(path)
        else:
            paths |= _scalar_paths(nested, path + ".")
    return paths


def test_layout_places_every_field_of_the_request() -> None:
    shape = layout()
    placed = {s.name for s in shape.settings}
    for table in shape.tables:
        where = table.path.replace("[]", "")
        placed |= {f"{where}.{c.name}" for c in table.columns}
    assert placed >= _scalar_paths(round_pb2.OptimizeRoundRequest.DESCRIPTOR)


def _edit(
    path: Path, edits: dict[str, dict[str, object]], rows: dict[str, list[list[object]]]
) -> None:
    """Change cells ({"proposals": {"H2": "3万"}}) and append rows, as a committee would."""
    book = openpyxl.load_workbook(path)
    for sheet, cells in edits.items():
        target = book[sheet] if sheet in book.sheetnames else book.create_sheet(sheet)
        for ref, value in cells.items():
            target[ref] = value
    for sheet, new in rows.items():
        for row in new:
            book[sheet].append(row)
    book.save(path)
    book.close()


def _small() -> round_pb2.OptimizeRoundRequest:
    request = round_pb2.OptimizeRoundRequest(round_id="r1")
    request.proposals.add(proposal_id="P1", requested_fen=300_000)
    request.organizations.add(organization_id="ORG1")
    return request


def _where(problem: CellProblem) -> tuple[str, int, str]:
    return problem.sheet, problem.row, problem.column


def test_bad_cells_are_all_reported_with_sheet_row_and_column(tmp_path: Path) -> None:
    path = _xlsx(_small(), tmp_path)
    book = openpyxl.load_workbook(path, read_only=True)
    names = [row[0] for row in book["settings"].iter_rows(values_only=True)]
    book.close()
    aggregation = names.index("scoring_policy.aggregation") + 1
    _edit(
        path,
        {
            # requested_fen; an unknown column; a value under no header
            "proposals": {"H2": "3万", "P1": "budget", "Q2": "stray"},
            "settings": {f"B{aggregation}": "AVERAGE"},
            "notes": {"A1": "minutes of the meeting"},
        },
        {
            "weak_areas": [["ORG9", "finance", 0.5]],
            "settings": [["round_id", "r2"]],
            "component_values": [["P1", "votes", 3, 400]],  # a oneof given twice
            "needs": [["N1", None, None, None, None, 2**40]],  # int32 out of range
        },
    )
    with pytest.raises(RoundFileError) as caught:
        read_round(path)
    where = {_where(p): p for p in caught.value.problems}
    assert ("notes", 0, "") in where
    assert "expected a whole number" in where["proposals", 2, "requested_fen"].message
    assert where["proposals", 2, "requested_fen"].cell == "H2"
    assert "unknown column 'budget'" in where["proposals", 1, "P"].message
    assert "under no header" in where["proposals", 2, "Q"].message
    assert "unknown value 'AVERAGE'" in where["settings", aggregation, "value"].message
    assert "TRIMMED_MEAN" in where["settings", aggregation, "value"].message
    assert "no row of organizations" in where["weak_areas", 2, "organization_id"].message
    twice = [p for p in caught.value.problems if p.sheet == "settings" and p.column == "field"]
    assert len(twice) == 1 and "round_id is given twice" in twice[0].message
    assert "not both" in where["component_values", 2, "amount_fen"].message
    assert "out of range" in where["needs", 2, "min_organizations"].message
    text = str(caught.value)
    assert text.startswith(f"{len(caught.value.problems)} problems:")
    assert "proposals, row 2, column requested_fen (H2): expected a whole number" in text


def test_csv_bad_cells_name_the_file_row_and_column(tmp_path: Path) -> None:
    folder = _csv(_small(), tmp_path)
    proposals = folder / "proposals.csv"
    lines = proposals.read_text(encoding="utf-8-sig").splitlines()
    lines[1] = lines[1].replace("300000", "三十万")
    proposals.write_text("\n".join([*lines, "P2,,,,,,,,,,,abc"]) + "\n\n\n", encoding="utf-8")
    (folder / "extra.csv").write_text("a\n1\n", encoding="utf-8")
    (folder / "mentors.csv").write_bytes("导师编号 / mentor_id\nM1\n".encode("gbk"))
    with pytest.raises(RoundFileError) as caught:
        read_round(folder)
    where = {_where(p) for p in caught.value.problems}
    assert where == {
        ("proposals", 2, "requested_fen"),
        ("proposals", 3, "score"),
        ("extra", 0, ""),
        ("mentors", 0, ""),
    }


def test_friendly_inputs_read_as_intended(tmp_path: Path) -> None:
    """What people type: short enum names, 是/否, full-width semicolons, dates, numbers as ids."""
    path = _xlsx(_small(), tmp_path)
    _edit(
        path,
        {"proposals": {"A2": 101, "G2": dt.datetime(2026, 3, 1, 9, 30), "M2": "registered；x; "}},
        {
            "mentors": [["M1", "导师", 2, "南桥镇", "是"]],
            "quotas": [["domain", "elderly", 1, 0]],
            "organizations": [["ORG2", None, None, None, None, None, "3a", 88]],
            # Below the listed (empty) rows rather than in them: still one value each.
            "settings": [
                ["allocation_rules.total_budget_fen", "50000000"],
                ["labels.委员会", "民政局"],
                ["scoring_policy.rank_stability", "{}"],
            ],
        },
    )
    request = read_round(path)
    proposal = request.proposals[0]
    assert proposal.proposal_id == "101"
    assert proposal.submit_time.ToJsonString() == "2026-03-01T01:30:00Z"  # Beijing time
    assert list(proposal.tags) == ["registered", "x"]
    assert request.mentors[0].remote and request.mentors[0].capacity == 2
    quota = request.allocation_rules.quotas[0]
    assert quota.dimension == allocation_pb2.DIMENSION_DOMAIN and quota.HasField("max_count")
    assert request.organizations[1].rating == matching_pb2.ORGANIZATION_RATING_3A
    assert list(request.organizations[1].evaluation_grades) == [88.0]
    assert request.allocation_rules.total_budget_fen == 50_000_000
    assert dict(request.labels) == {"委员会": "民政局"}
    assert request.scoring_policy.HasField("rank_stability")


def test_json_errors_become_round_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "round.json"
    path.write_text('{"proposals": [{"requestedFen": "lots"}]}', encoding="utf-8")
    with pytest.raises(RoundFileError, match="not an OptimizeRoundRequest"):
        read_round(path)
    with pytest.raises(RoundFileError, match="no such file"):
        read_round(tmp_path / "missing.json")
    (tmp_path / "round.txt").write_text("{}", encoding="utf-8")
    with pytest.raises(RoundFileError, match=r"expected a \.json file"):
        read_round(tmp_path / "round.txt")
    (tmp_path / "broken.xlsx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(RoundFileError, match="not an Excel workbook"):
        read_round(tmp_path / "broken.xlsx")


@pytest.mark.parametrize(
    "request_",
    [
        # Every cell of the row would be empty: it would read back as no row.
        round_pb2.OptimizeRoundRequest(judges=[scoring_pb2.Judge()]),
        # Two organizations named ORG1, one with weak areas: the child rows cannot say which.
        round_pb2.OptimizeRoundRequest(
            organizations=[
                matching_pb2.Organization(organization_id="ORG1"),
                matching_pb2.Organization(
                    organization_id="ORG1", weak_areas=[matching_pb2.WeakArea(area="law")]
                ),
            ]
        ),
    ],
)
def test_requests_no_sheet_can_hold_are_refused(
    request_: round_pb2.OptimizeRoundRequest, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"organizations|judges"):
        write_workbook(request_, tmp_path / "round.xlsx")


# --- any request: a strategy driven by the descriptor, so that every field is exercised ------

_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=5),
    st.sampled_from(["", " ", "a;b", "[x]", "_x000D_", "=1+2", '社区, "引号"\n换行', "\r\x00\x1f"]),
)
_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_PARENT_KEYS = {
    t.parent.field.message_type.full_name: [c.name for c in t.key]
    for t in layout().tables
    if t.parent is not None
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[object]:
    if field.message_type is not None and field.message_type.name == "Timestamp":
        return st.builds(
            timestamp_pb2.Timestamp,
            seconds=st.integers(-62_135_596_800, 253_402_300_799),
            nanos=st.integers(0, 999_999_999),
        )
    if field.message_type is not None:
        return st.integers(-(10**15), 10**15).map(_duration)
    if field.enum_type is not None:
        return st.sampled_from([v.number for v in field.enum_type.values] + [77])
    if field.type == FieldDescriptor.TYPE_STRING:
        return _TEXT
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.cpp_type == FieldDescriptor.CPPTYPE_DOUBLE:
        return st.floats(allow_nan=False) | st.sampled_from([0.1, 85.5, -0.0, 2.0**60])
    low, high = _RANGES[field.cpp_type]
    edges = [n for n in (0, 2**53 + 1, low, high) if n <= high]
    return st.integers(low, high) | st.sampled_from(edges)


def _duration(nanos: int) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(nanos)
    return duration


def _has_content(message: Message) -> bool:
    """Whether the element's row has a non-blank cell (else it would read as no row)."""
    return any(not (isinstance(v, str) and not v.strip()) for _, v in message.ListFields())


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor) -> Message:
    message = message_factory.GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if field.full_name in COMPACT_FORMS or not draw(st.booleans()):
            continue  # a compact form reads back in its long form: see the test below
        nested = field.message_type
        if nested is not None and nested.GetOptions().map_entry:
            getattr(message, field.name).update(draw(st.dictionaries(_TEXT, _TEXT, max_size=2)))
        elif nested is not None and nested.full_name not in WELL_KNOWN and field.is_repeated:
            keys = _PARENT_KEYS.get(nested.full_name, [])
            elements = st.lists(
                _message(nested).filter(_has_content),
                max_size=2,
                unique_by=lambda m, keys=keys: tuple(getattr(m, k) for k in keys) or id(m),
            )
            getattr(message, field.name).extend(draw(elements))
        elif nested is not None and nested.full_name not in WELL_KNOWN:
            getattr(message, field.name).CopyFrom(draw(_message(nested)))
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(st.lists(_scalar(field), max_size=3)))
        elif nested is not None:
            getattr(message, field.name).CopyFrom(draw(_scalar(field)))
        else:
            setattr(message, field.name, draw(_scalar(field)))
    return message


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(request=_message(round_pb2.OptimizeRoundRequest.DESCRIPTOR))
def test_any_request_reads_back_identical_from_workbook_and_csv(
    request: Message, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("round")
    assert read_round(_xlsx(request, folder)) == request
    assert read_round(_csv(request, folder)) == request


@pytest.mark.parametrize("write", FORMS)
def test_compact_score_sheets_are_written_in_the_long_form(write: Writer, tmp_path: Path) -> None:
    listed = _county()
    compact = round_pb2.OptimizeRoundRequest()
    compact.CopyFrom(listed)
    for sheet in compact.sheets[::2]:  # every other sheet compact: both forms in one request
        values = [s.value for s in sheet.scores]
        del sheet.scores[:]
        sheet.values.extend(values)
    assert read_round(write(compact, tmp_path)) == listed
    assert compact.sheets[0].values and not compact.sheets[0].scores  # the caller's is kept


@pytest.mark.parametrize("extra", [0.0, None])
def test_compact_sheets_no_row_can_hold_are_refused(extra: float | None, tmp_path: Path) -> None:
    request = _county()
    sheet = request.sheets[3]
    values = [s.value for s in sheet.scores]
    if extra is None:
        del sheet.scores[1:]  # values as well as scores
    else:
        del sheet.scores[:]
        values.append(extra)  # one value too many
    sheet.values.extend(values)
    with pytest.raises(ValueError, match=r"sheets\[3\]\.values: \d values for 5 criteria"):
        write_workbook(request, tmp_path / "round.xlsx")
