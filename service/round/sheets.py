"""The round's table layout, derived from the OptimizeRoundRequest descriptor: which sheet holds
which repeated field, its columns and their Chinese labels, and the settings sheet's rows.

Walking the descriptor keeps the workbook complete and in step with the protos: a new field
gets a column or a setting without touching this module (a Chinese label is optional). A shape
the files cannot hold (bytes, lists two deep, a list in an element without a text id) raises
NotImplementedError here, so that the tests catch it. A singular message inside a row is
flattened into dotted columns; set with nothing but empty text, it would read back unset.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from venture.v1 import round_pb2

# Messages kept in one cell, in their proto3 JSON text form ("1.5s", "2026-03-01T01:00:00Z").
WELL_KNOWN = frozenset({"google.protobuf.Duration", "google.protobuf.Timestamp"})

# Repeated messages whose elements are only a key for a child list: their rows live in the
# child's sheet, one row per child, grouped by the key (a score sheet is judge x proposal).
_IMPLIED_PARENTS = {"venture.v1.ScoreSheet": "scores"}

# Compact forms of a list that has a sheet of its own: the files hold the long form only (a
# score sheet's values are written as rows of "scores", see rows.request_rows).
COMPACT_FORMS = frozenset({"venture.v1.ScoreSheet.values"})

SHEET_TITLES = {
    "instructions": "说明",
    "settings": "设置",
    "criteria": "评审指标",
    "judges": "评委",
    "proposals": "项目",
    "eligibility_checks": "资格审查",
    "component_values": "其他得分",
    "scores": "评分",
    "components": "评分组成",
    "tie_break_rules": "同分规则",
    "pools": "资金池",
    "tiers": "档次",
    "score_bands": "分数段",
    "quotas": "配额",
    "locked_decisions": "已定决定",
    "needs": "需求",
    "organizations": "机构",
    "weak_areas": "薄弱领域",
    "region_adjacency": "相邻街镇",
    "forbidden_pairs": "禁止配对",
    "fixed_pairs": "指定配对",
    "mentors": "导师",
    "expertise": "导师专长",
}

# Chinese labels, by "Message.field" first and then by field name.
_LABELS = {
    "round_id": "轮次编号",
    "display_name": "名称",
    "criterion_id": "指标编号",
    "judge_id": "评委编号",
    "proposal_id": "项目编号",
    "organization_id": "机构编号",
    "need_id": "需求编号",
    "mentor_id": "导师编号",
    "pool_id": "资金池编号",
    "component_id": "评分组成编号",
    "check_id": "审查项",
    "title": "项目名称",
    "domain": "领域",
    "region": "街镇",
    "tier": "档次",
    "submit_time": "申报时间",
    "description": "简介",
    "weight": "权重",
    "scale_min": "最低分",
    "scale_max": "最高分",
    "veto_below": "否决线",
    "conflict_organization_ids": "回避机构",
    "assigned_proposal_ids": "分配项目",
    "requested_fen": "申请金额（分）",
    "minimum_fen": "最低可接受金额（分）",
    "project_budget_fen": "项目总预算（分）",
    "donations_fen": "已筹资金（分）",
    "score": "分数",
    "tags": "标签",
    "passed": "是否通过",
    "reason": "原因",
    "value": "数值",
    "CriterionScore.value": "分数",
    "amount_fen": "金额（分）",
    "kind": "类型",
    "normalization": "归一化",
    "cap": "上限",
    "eligible_domains": "可申请领域",
    "eligible_regions": "可申请街镇",
    "eligible_tiers": "可申请档次",
    "eligible_tags": "可申请标签",
    "max_grant_fen": "最高资助额（分）",
    "min_grant_fen": "最低资助额（分）",
    "min_score": "最低分",
    "funding_ratio_bp": "资助比例（万分比）",
    "dimension": "维度",
    "key": "取值",
    "min_count": "最少项目数",
    "max_count": "最多项目数",
    "min_amount_fen": "最低金额（分）",
    "max_amount_fen": "最高金额（分）",
    "decision": "决定",
    "min_organizations": "最少机构数",
    "max_organizations": "最多机构数",
    "priority": "优先级",
    "domains": "服务领域",
    "regions": "服务街镇",
    "past_projects": "既往项目",
    "rating": "评估等级",
    "evaluation_grades": "历次评估得分",
    "capacity": "承接能力",
    "Mentor.capacity": "可带机构数",
    "min_load": "最少承接数",
    "mentors_wanted": "需要导师数",
    "WeakArea.area": "薄弱领域",
    "Expertise.area": "专长领域",
    "severity": "薄弱程度",
    "level": "水平",
    "remote": "可远程",
    "adjacent_regions": "相邻街镇",
    "time_limit": "求解时限",
    "validate_only": "仅校验",
    "top_k": "候选个数",
    "seed": "随机种子",
    "exclude_timings": "不输出耗时",
    "aggregation": "汇总方法",
    "trim_count": "去掉最高最低分个数",
    "weight_mode": "权重方式",
    "veto_rule": "否决规则",
    "panel_weight": "专家评审权重",
    "pass_line": "及格线",
    "tie_decimals": "同分比较小数位",
    "samples": "抽样次数",
    "confidence": "置信度",
    "shortlist_size": "入围数量",
    "outlier_threshold": "异常分阈值",
    "total_budget_fen": "总预算（分）",
    "reserve_bp": "预留比例（万分比）",
    "grant_unit_fen": "资助额单位（分）",
    "max_grants_per_organization": "每机构最多资助数",
    "max_project_share_bp": "占项目预算上限（万分比）",
    "donation_match_bp": "配捐比例（万分比）",
    "require_region_coverage": "覆盖每个街镇",
    "objective": "优化目标",
    "quota_mode": "配额方式",
    "quota_penalty": "配额罚分",
    "AffinityWeights.domain": "领域权重",
    "AffinityWeights.region": "街镇权重",
    "AffinityWeights.text": "文本权重",
    "AffinityWeights.rating": "等级权重",
    "AffinityWeights.track_record": "业绩权重",
    "AffinityWeights.capacity": "能力权重",
    "one_organization_per_domain": "每领域一家机构",
    "min_affinity": "最低匹配度",
    "candidates_per_need": "每个需求候选数",
    "soft_minimums": "最低数可放宽",
    "balance_load": "均衡导师负担",
}


def label(field: FieldDescriptor) -> str:
    """The field's Chinese label, or "" when it has none."""
    return _LABELS.get(f"{field.containing_type.name}.{field.name}", _LABELS.get(field.name, ""))


def is_cell(field: FieldDescriptor) -> bool:
    """Whether one cell holds the field: scalars, repeated scalars and well-known times."""
    message = field.message_type
    return message is None or message.full_name in WELL_KNOWN


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


@dataclass(frozen=True, slots=True)
class Column:
    """One column: a field of the row's message, or of a singular message inside it."""

    name: str
    """Dotted English name, the reading key: "requested_fen", "submit_time"."""
    fields: tuple[FieldDescriptor, ...]
    """From the row's message to the field."""

    @property
    def field(self) -> FieldDescriptor:
        return self.fields[-1]

    @property
    def header(self) -> str:
        chinese = label(self.field)
        return f"{chinese} / {self.name}" if chinese else self.name


@dataclass(frozen=True, slots=True)
class Table:
    """One sheet: a repeated message field, one row per element."""

    name: str
    field: FieldDescriptor
    """The repeated message field."""
    prefix: tuple[FieldDescriptor, ...]
    """Singular message fields from the request to the field's message (root tables only)."""
    columns: tuple[Column, ...]
    parent: Table | None = None
    """For a child table: the table whose elements hold the field."""
    key: tuple[Column, ...] = ()
    """The parent's columns naming the parent, written first on each row."""
    hidden: bool = False
    """The elements' rows live in a child table (score sheets live in "scores")."""
    implied: bool = False
    """Child rows create their parent; a row with only the key is a parent without children."""

    @property
    def headers(self) -> tuple[Column, ...]:
        return self.key + self.columns

    @property
    def path(self) -> str:
        """Where the elements sit, for messages: "allocation_rules.pools"."""
        if self.parent is not None:
            return f"{self.parent.path}[].{self.field.name}"
        return ".".join(f.name for f in (*self.prefix, self.field))


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the settings sheet: a scalar of the round or of a singular message in it, a
    map (one row per key, "labels.KEY"), or a message's presence ("options" = "{}")."""

    name: str
    fields: tuple[FieldDescriptor, ...]

    @property
    def field(self) -> FieldDescriptor:
        return self.fields[-1]

    @property
    def is_map(self) -> bool:
        return _is_map(self.field)

    @property
    def is_message(self) -> bool:
        return not self.is_map and not is_cell(self.field)


@dataclass(frozen=True, slots=True)
class Layout:
    settings: tuple[Setting, ...]
    tables: tuple[Table, ...]

    @property
    def sheets(self) -> tuple[Table, ...]:
        """The tables that have a sheet of their own, in workbook order."""
        return tuple(t for t in self.tables if not t.hidden)


def _columns(message: Descriptor, prefix: tuple[FieldDescriptor, ...] = ()) -> list[Column]:
    columns = []
    for field in message.fields:
        path = (*prefix, field)
        if field.full_name in COMPACT_FORMS:
            continue
        if _is_map(field):
            raise NotImplementedError(f"map {field.full_name} inside a table row")
        if field.type == FieldDescriptor.TYPE_BYTES:
            raise NotImplementedError(f"bytes field {field.full_name}")
        if is_cell(field):
            columns.append(Column(".".join(f.name for f in path), path))
        elif not field.is_repeated:
            columns.extend(_columns(field.message_type, path))
    return columns


def _tables(
    field: FieldDescriptor, prefix: tuple[FieldDescriptor, ...], parent: Table | None
) -> list[Table]:
    """The table of a repeated message field and the tables of its repeated children."""
    element = field.message_type
    implied_child = _IMPLIED_PARENTS.get(element.full_name)
    columns = tuple(_columns(element))
    if parent is None:
        table = Table(field.name, field, prefix, columns, hidden=implied_child is not None)
    else:
        # A parent is named by its first column (its id), or by its whole row when implied.
        key = parent.columns if parent.hidden else parent.columns[:1]
        if not key or any(k.field.type != k.field.TYPE_STRING or k.field.is_repeated for k in key):
            raise NotImplementedError(f"{parent.field.full_name} has children but no string key")
        if {k.name for k in key} & {c.name for c in columns}:
            raise NotImplementedError(f"{field.full_name} repeats its parent's key")
        name = _IMPLIED_PARENTS.get(parent.field.message_type.full_name, field.name)
        table = Table(name, field, (), columns, parent, key, implied=parent.hidden)
    tables = [table]
    for child in element.fields:
        if child.is_repeated and not is_cell(child) and not _is_map(child):
            if parent is not None:
                raise NotImplementedError(f"{child.full_name}: lists nested two deep")
            tables.extend(_tables(child, (), table))
    return tables


def _walk(message: Descriptor, prefix: tuple[FieldDescriptor, ...], layout: _Builder) -> None:
    for field in message.fields:
        path = (*prefix, field)
        name = ".".join(f.name for f in path)
        if field.type == FieldDescriptor.TYPE_BYTES:
            raise NotImplementedError(f"bytes field {field.full_name}")
        if _is_map(field) and field.message_type.fields_by_name["key"].type != field.TYPE_STRING:
            raise NotImplementedError(f"map {field.full_name} without text keys")
        if _is_map(field) or is_cell(field):
            layout.settings.append(Setting(name, path))
        elif field.is_repeated:
            layout.tables.extend(_tables(field, prefix, None))
        else:
            layout.settings.append(Setting(name, path))
            _walk(field.message_type, path, layout)


@dataclass
class _Builder:
    settings: list[Setting]
    tables: list[Table]


@functools.cache
def layout(message: Descriptor = round_pb2.OptimizeRoundRequest.DESCRIPTOR) -> Layout:
    """The sheets and settings of a request type (by default OptimizeRoundRequest)."""
    builder = _Builder([], [])
    _walk(message, (), builder)
    names = [t.name for t in builder.tables]
    clashes = {n for n in names if names.count(n) > 1} | ({"settings", "instructions"} & set(names))
    if clashes:
        raise NotImplementedError(f"two lists would share a sheet name: {sorted(clashes)}")
    return Layout(tuple(builder.settings), tuple(builder.tables))


def walk(message: Message, fields: Iterable[FieldDescriptor]) -> Message:
    """The message at the end of a path of singular message fields (reading never sets it)."""
    for f in fields:
        message = getattr(message, f.name)
    return message


def present(message: Message, fields: Iterable[FieldDescriptor]) -> bool:
    """Whether every message along the path is set."""
    for f in fields:
        if not message.HasField(f.name):
            return False
        message = getattr(message, f.name)
    return True
