"""Hypothesis strategies for fuzzing every VentureService RPC (tests/test_fuzz.py, scripts/fuzz).

The requests are mostly malformed but plausible enough to get past protobuf parsing and reach
conversion, validation and the solvers. Most start from an example request in examples/ (or a
round's matching part of one), shrunk to a few items with its cross-references kept consistent
(so a shrunk request is valid and solves in a blink), then take a few mutations. A mutation
picks a field by walking the message's descriptor (every field of every nested message is a
candidate, including fields of submessages not yet set) and deletes, duplicates, clears,
reorders or appends repeated elements, sets scalars to extremes (NaN, ±inf, -0.0, huge and
negative integers, empty, very long and control-character strings, IDs that dangle or
duplicate another), sets enums to unknown numbers, sets or clears submessages, oneofs and
optional fields. A share of requests is built from the descriptor alone, at random.

The solve time is capped (options.time_limit of at most 2 s) in most cases; the others keep
whatever time limit the mutations left, odd ones included (negative, huge, unnormalised).
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from hypothesis import note
from hypothesis import strategies as st

from venture.v1 import allocation_pb2, common_pb2, matching_pb2, round_pb2, scoring_pb2

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
M = TypeVar("M", bound=Message)
Draw = Callable[[st.SearchStrategy[Any]], Any]

ROUND_EXAMPLES = ("round_street.json", "round_county.json", "round_city.json")
SAMPLES = (0, 10, 30, 60)
"""Bootstrap samples of a shrunk scoring request (0: unset, the engine's default)."""
CAPPED_TIME_LIMITS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

# ---------------------------------------------------------------------------------------------
# Values at the edges of each field type.

INT32_EDGES = (0, 1, -1, 2, 3, 7, 100, 10_000, 2**31 - 1, -(2**31))
INT64_EDGES = (
    0,
    1,
    -1,
    100,
    10_000,
    10**9,
    10**12,
    10**15,
    2**53 + 1,
    10**18,
    2**63 - 1,
    -(2**63),
)
UINT32_EDGES = (0, 1, 2**31, 2**32 - 1)
UINT64_EDGES = (0, 1, 2**53 + 1, 2**63, 2**64 - 1)
DOUBLE_EDGES = (
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    100.0,
    1e-300,
    5e-324,
    1e300,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    math.inf,
    -math.inf,
    math.nan,
)
STRING_EDGES = (
    "",
    " ",
    "x",
    "\x00",
    "a\x00b",
    "\n\t\r",
    "\x7f\x1b[31m",
    "é",
    "公益创投",
    "🙂",
    "\u202e\u200b\ufeff",
    "NaN",
    "-1",
    "1e309",
    "../../etc/passwd",
    "%s%n{0}",
    "a" * 300,
    "长" * 5_000,
    "z" * 20_000,
)
ENUM_EXTRAS = (-1, 99, 2**31 - 1, -(2**31))
DURATION_SECONDS = (0, 1, -1, 2, 30, 3_600, 315_576_000_000, -315_576_000_000, 2**63 - 1, -(2**63))
DURATION_NANOS = (0, 1, -1, 50_000_000, 999_999_999, -999_999_999, 10**9, 2**31 - 1, -(2**31))

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


def _int_strategy(edges: Sequence[int], low: int, high: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(edges), st.integers(low, high), st.integers(-5, 20))


INT_STRATEGIES: dict[int, st.SearchStrategy[int]] = {
    FieldDescriptor.TYPE_INT32: _int_strategy(INT32_EDGES, -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: _int_strategy(INT32_EDGES, -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: _int_strategy(INT32_EDGES, -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: _int_strategy(INT64_EDGES, -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: _int_strategy(INT64_EDGES, -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: _int_strategy(INT64_EDGES, -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: _int_strategy(UINT32_EDGES, 0, 2**32 - 1).map(abs),
    FieldDescriptor.TYPE_FIXED32: _int_strategy(UINT32_EDGES, 0, 2**32 - 1).map(abs),
    FieldDescriptor.TYPE_UINT64: _int_strategy(UINT64_EDGES, 0, 2**64 - 1).map(abs),
    FieldDescriptor.TYPE_FIXED64: _int_strategy(UINT64_EDGES, 0, 2**64 - 1).map(abs),
}
DOUBLES = st.one_of(
    st.sampled_from(DOUBLE_EDGES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10, 110),
)
FLOATS = st.one_of(st.sampled_from(DOUBLE_EDGES), st.floats(width=32))


def is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def new_message(descriptor: Descriptor) -> Message:
    return message_factory.GetMessageClass(descriptor)()


def string_pool(message: Message) -> tuple[str, ...]:
    """Every short string in the message (IDs, domains, regions, tags, areas, ...): values a
    mutated string field may take, so that IDs duplicate or cross-reference the wrong thing."""
    found: set[str] = set()

    def walk(msg: Message) -> None:
        for field, value in msg.ListFields():
            if field.type == FieldDescriptor.TYPE_STRING:
                values = value if field.is_repeated else [value]
                found.update(v for v in values if len(v) <= 40)
            elif is_map(field):
                found.update(k for k in value if len(k) <= 40)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                for child in value if field.is_repeated else [value]:
                    walk(child)

    walk(message)
    return tuple(sorted(found))


def strings(pool: Sequence[str]) -> st.SearchStrategy[str]:
    choices: list[st.SearchStrategy[str]] = [st.sampled_from(STRING_EDGES), text]
    if pool:
        dangling = st.sampled_from(pool).map(lambda s: s + "-dangling")
        choices[:0] = [st.sampled_from(pool), dangling]
    return st.one_of(choices)


def scalar_value(field: FieldDescriptor, pool: Sequence[str]) -> st.SearchStrategy[Any]:
    """A value for one (non-message) field: mostly edges, sometimes anything of its type."""
    kind = field.type
    if kind in INT_STRATEGIES:
        return INT_STRATEGIES[kind]
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return DOUBLES
    if kind == FieldDescriptor.TYPE_FLOAT:
        return FLOATS
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_STRING:
        return strings(pool)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=16)
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.sampled_from([*known, max(known) + 1, *ENUM_EXTRAS])
    raise AssertionError(f"no strategy for field type {kind} of {field.full_name}")


# ---------------------------------------------------------------------------------------------
# Random messages from a descriptor.


def random_message(
    draw: Draw, descriptor: Descriptor, pool: Sequence[str], depth: int = 0
) -> Message:
    """A message of `descriptor` with random fields set; depth and sizes are bounded."""
    message = new_message(descriptor)
    if depth > 3:
        return message
    for field in descriptor.fields:
        # Fewer fields deeper down, so that a random round stays small.
        if draw(st.integers(0, 2 + depth)) != 0:
            continue
        fill_field(draw, message, field, pool, depth)
    return message


def fill_field(
    draw: Draw, message: Message, field: FieldDescriptor, pool: Sequence[str], depth: int
) -> None:
    name = field.name
    if is_map(field):
        entries = getattr(message, name)
        value_field = field.message_type.fields_by_name["value"]
        for _ in range(draw(st.integers(0, 3))):
            key = draw(strings(pool))
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                entries[key].CopyFrom(random_message(draw, value_field.message_type, pool, depth))
            else:
                entries[key] = draw(scalar_value(value_field, pool))
    elif field.is_repeated:
        container = getattr(message, name)
        for _ in range(draw(st.integers(0, 3))):
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                element = random_message(draw, field.message_type, pool, depth + 1)
                container.add().CopyFrom(element)
            else:
                container.append(draw(scalar_value(field, pool)))
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        child = random_message(draw, field.message_type, pool, depth + 1)
        getattr(message, name).CopyFrom(child)
        getattr(message, name).SetInParent()
    else:
        setattr(message, name, draw(scalar_value(field, pool)))


# ---------------------------------------------------------------------------------------------
# Mutations chosen by walking the descriptor.


@dataclass(frozen=True, slots=True)
class Site:
    """One field of one message in the request, where a mutation may strike."""

    path: str
    parent: Message
    field: FieldDescriptor


def sites_by_pattern(message: Message, unset_depth: int = 2) -> dict[str, list[Site]]:
    """Every field reachable in `message`, grouped by its path without list indices (so that
    every field of the schema is equally likely to be picked, however many sheets there are).
    Unset submessages are entered `unset_depth` levels deep: writing to a field there sets them.
    """
    found: dict[str, list[Site]] = defaultdict(list)

    def walk(msg: Message, path: str, pattern: str, unset_left: int) -> None:
        for field in msg.DESCRIPTOR.fields:
            here = f"{path}.{field.name}" if path else field.name
            shape = f"{pattern}.{field.name}" if pattern else field.name
            found[shape].append(Site(here, msg, field))
            if field.type != FieldDescriptor.TYPE_MESSAGE or is_map(field):
                continue
            if field.is_repeated:
                for index, element in enumerate(getattr(msg, field.name)):
                    walk(element, f"{here}[{index}]", f"{shape}[]", unset_left)
            elif msg.HasField(field.name):
                walk(getattr(msg, field.name), here, shape, unset_left)
            elif unset_left > 0:
                walk(getattr(msg, field.name), here, shape, unset_left - 1)

    walk(message, "", "", unset_depth)
    return found


def _copy(message: Message) -> Message:
    twin = type(message)()
    twin.CopyFrom(message)
    return twin


def mutate_repeated(draw: Draw, site: Site, pool: Sequence[str]) -> str:
    field, container = site.field, getattr(site.parent, site.field.name)
    is_message = field.type == FieldDescriptor.TYPE_MESSAGE
    size = len(container)
    ops = ["append", "clear"] + (
        ["delete", "duplicate", "duplicate_many", "swap", "keep_one"] if size else []
    )
    if size and not is_message:
        ops.append("set")
    op = draw(st.sampled_from(ops))
    index = draw(st.integers(0, size - 1)) if size else 0
    if op == "append":
        if is_message:
            container.add().CopyFrom(random_message(draw, field.message_type, pool, 1))
        else:
            container.append(draw(scalar_value(field, pool)))
    elif op == "clear":
        del container[:]
    elif op == "delete":
        del container[index]
    elif op in ("duplicate", "duplicate_many"):
        times = 1 if op == "duplicate" else draw(st.integers(2, 40))
        for _ in range(times):
            if is_message:
                container.add().CopyFrom(container[index])
            else:
                container.append(container[index])
    elif op == "swap":
        other = draw(st.integers(0, size - 1))
        if is_message:
            first = _copy(container[index])
            container[index].CopyFrom(container[other])
            container[other].CopyFrom(first)
        else:
            container[index], container[other] = container[other], container[index]
    elif op == "keep_one":
        kept = _copy(container[index]) if is_message else container[index]
        del container[:]
        if is_message:
            container.add().CopyFrom(kept)
        else:
            container.append(kept)
    else:  # set one scalar element
        container[index] = draw(scalar_value(field, pool))
    return f"{site.path}: {op}"


def mutate_site(draw: Draw, site: Site, pool: Sequence[str]) -> str:
    """Apply one mutation at `site`; return a line saying what was done."""
    parent, field, name = site.parent, site.field, site.field.name
    if is_map(field):
        entries = getattr(parent, name)
        if entries and draw(st.booleans()):
            entries.clear()
            return f"{site.path}: clear"
        fill_field(draw, parent, field, pool, 2)
        return f"{site.path}: add entries"
    if field.is_repeated:
        return mutate_repeated(draw, site, pool)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        op = draw(st.sampled_from(["clear", "empty", "random"]))
        if op == "clear":
            parent.ClearField(name)
        elif op == "empty":
            getattr(parent, name).Clear()
            getattr(parent, name).SetInParent()
        else:
            getattr(parent, name).CopyFrom(random_message(draw, field.message_type, pool, 1))
            getattr(parent, name).SetInParent()
        return f"{site.path}: {op}"
    if field.has_presence and draw(st.integers(0, 4)) == 0:
        parent.ClearField(name)  # an optional field or oneof member left unset
        return f"{site.path}: clear"
    value = draw(scalar_value(field, pool))
    setattr(parent, name, value)
    return f"{site.path} = {value!r}"[:200]


def reconfigure(draw: Draw, message: Message) -> None:
    """Valid but different settings: each enum and bool field of the request's settings (not of
    its listed items) may take another known value, so the mutations run against other
    engines and modes (fair matching, soft quotas, calibrated scoring, ranked allocation...)."""
    for sites in sites_by_pattern(message).values():
        for site in sites:
            field = site.field
            if field.is_repeated or "[" in site.path or not draw(st.booleans()):
                continue
            if field.type == FieldDescriptor.TYPE_ENUM:
                known = [v.number for v in field.enum_type.values]
                setattr(site.parent, field.name, draw(st.sampled_from(known)))
            elif field.type == FieldDescriptor.TYPE_BOOL and field.name != "validate_only":
                setattr(site.parent, field.name, draw(st.booleans()))


def mutate(draw: Draw, message: Message, count: int) -> list[str]:
    """`count` mutations at fields picked by their schema path, then by their instance."""
    pool = string_pool(message)
    done: list[str] = []
    for _ in range(count):
        sites = sites_by_pattern(message)
        patterns = sorted(sites)
        pattern = draw(st.sampled_from(patterns))
        candidates = sites[pattern]
        site = candidates[draw(st.integers(0, len(candidates) - 1))]
        done.append(mutate_site(draw, site, pool))
    return done


# ---------------------------------------------------------------------------------------------
# Options: the time cap, and odd options on purpose.


def duration(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def odd_options(draw: Draw, options: common_pb2.RequestOptions) -> None:
    """Options at their edges: odd time limits, seeds, top_k, validate_only, exclude_timings."""
    which = draw(st.sampled_from(["time_limit", "seed", "top_k", "validate_only", "all"]))
    if which in ("time_limit", "all"):
        options.time_limit.seconds = draw(st.sampled_from(DURATION_SECONDS))
        options.time_limit.nanos = draw(st.sampled_from(DURATION_NANOS))
    if which in ("seed", "all"):
        options.seed = draw(INT_STRATEGIES[FieldDescriptor.TYPE_UINT64])
    if which in ("top_k", "all"):
        options.top_k = draw(INT_STRATEGIES[FieldDescriptor.TYPE_INT32])
    if which in ("validate_only", "all"):
        options.validate_only = draw(st.booleans())
        options.exclude_timings = draw(st.booleans())


def cap_time(draw: Draw, options: Iterable[common_pb2.RequestOptions]) -> None:
    """Most cases get a small time limit; the others keep what they have (odd or none)."""
    if draw(st.integers(0, 9)) >= 8:
        return
    for o in options:
        o.time_limit.CopyFrom(duration(draw(st.sampled_from(CAPPED_TIME_LIMITS_S))))


def finish(
    draw: Draw,
    request: M,
    options: Callable[[M], Iterable[common_pb2.RequestOptions]],
) -> M:
    """Mutate (a few times, sometimes not at all), then cap the time limit. What was done is
    noted, so that a failing case says which mutations made it."""
    if draw(st.booleans()):
        reconfigure(draw, request)
        note("settings reconfigured")
    count = draw(st.sampled_from([1, 2, 3, 1, 2, 0, 4, 6]))
    for done in mutate(draw, request, count):
        note(f"mutation: {done}")
    if draw(st.integers(0, 5)) == 5:
        holders = list(options(request))
        odd_options(draw, holders[draw(st.integers(0, len(holders) - 1))])
        note("odd options")
    cap_time(draw, options(request))
    return request


def only_options(request: Any) -> list[common_pb2.RequestOptions]:
    return [request.options]


# ---------------------------------------------------------------------------------------------
# Examples, and shrinking them to a few items with consistent cross-references.


@functools.cache
def _example(name: str, cls: type[Message]) -> Message:
    return json_format.Parse((EXAMPLES / name).read_text(encoding="utf-8"), cls())


def example(name: str, cls: type[M]) -> M:
    """A fresh copy of examples/`name` (the parsed file is cached)."""
    message = cls()
    message.CopyFrom(_example(name, cls))
    return message


def _window(items: Sequence[M], start: int, count: int) -> list[M]:
    """`count` items from `start` (wrapping around), in their original order."""
    if not items:
        return []
    count = min(count, len(items))
    picked = {(start + k) % len(items) for k in range(count)}
    return [items[k] for k in sorted(picked)]


def _spread(items: Sequence[M], start: int, count: int) -> list[M]:
    """`count` items spread evenly over the list from `start` (the examples list proposals by
    domain, so a window would keep one domain), in their original order."""
    if not items:
        return []
    count = min(count, len(items))
    step = len(items) / count
    picked = {(start + int(k * step)) % len(items) for k in range(count)}
    return [items[k] for k in sorted(picked)]


def _replace(container: Any, items: Iterable[Message]) -> None:
    kept = [_copy(item) for item in items]
    del container[:]
    for item in kept:
        container.add().CopyFrom(item)


def _keep_strings(container: Any, allowed: set[str]) -> None:
    kept = [s for s in container if s in allowed]
    del container[:]
    container.extend(kept)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much of an example to keep, and from where."""

    start: int
    proposals: int
    judges: int
    needs: int
    organizations: int
    mentors: int
    samples: int


sizes = st.builds(
    Sizes,
    start=st.integers(0, 400),
    proposals=st.integers(2, 7),
    judges=st.integers(2, 5),
    needs=st.integers(1, 6),
    organizations=st.integers(1, 6),
    mentors=st.integers(1, 5),
    samples=st.sampled_from(SAMPLES),
)


def _valid_sheets(request: Any) -> Counter[str]:
    """Sheets per proposal that count: the judge is not recused and (when the judge has
    assignments) was assigned the proposal."""
    organization = {p.proposal_id: p.organization_id for p in request.proposals}
    judges = {j.judge_id: j for j in request.judges}
    counts: Counter[str] = Counter({p: 0 for p in organization})
    for sheet in request.sheets:
        judge = judges[sheet.judge_id]
        assigned = judge.assigned_proposal_ids
        recused = organization[sheet.proposal_id] in judge.conflict_organization_ids
        if not recused and (not assigned or sheet.proposal_id in assigned):
            counts[sheet.proposal_id] += 1
    return counts


def shrink_scoring_part(target: Any, source: Any, policy: tuple[str, str], size: Sizes) -> set[str]:
    """Criteria, judges, proposals and sheets of `source` cut down into `target` (the fields
    of ScoreProposalsRequest and OptimizeRoundRequest share names), and the scoring policy
    (named `policy[0]` in the target, `policy[1]` in the source); the kept proposal ids."""
    proposals = _spread(source.proposals, size.start, size.proposals)
    proposal_ids = {p.proposal_id for p in proposals}
    organizations = {p.organization_id for p in proposals}
    sheets_by_judge = Counter(s.judge_id for s in source.sheets if s.proposal_id in proposal_ids)
    busiest = sorted(source.judges, key=lambda j: -sheets_by_judge[j.judge_id])
    judge_ids = {j.judge_id for j in busiest[: size.judges]}
    _replace(target.proposals, proposals)
    _replace(target.judges, (j for j in source.judges if j.judge_id in judge_ids))
    for judge in target.judges:
        _keep_strings(judge.assigned_proposal_ids, proposal_ids)
        _keep_strings(judge.conflict_organization_ids, organizations)
    _replace(
        target.sheets,
        (s for s in source.sheets if s.proposal_id in proposal_ids and s.judge_id in judge_ids),
    )
    fewest_sheets = min(_valid_sheets(target).values(), default=0)
    _replace(target.criteria, source.criteria)
    scoring = getattr(target, policy[0])
    scoring.CopyFrom(getattr(source, policy[1]))
    if size.samples:
        scoring.rank_stability.samples = size.samples
    else:
        scoring.rank_stability.ClearField("samples")
    if scoring.trim_count and 2 * scoring.trim_count >= fewest_sheets:
        scoring.trim_count = max((fewest_sheets - 1) // 2, 0)
    if scoring.aggregation == scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN and fewest_sheets < 3:
        # Trimming drops at least one sheet each side (trim_count 0 means 1).
        scoring.aggregation = scoring_pb2.AGGREGATION_METHOD_MEAN
        scoring.trim_count = 0
    return proposal_ids


QUOTA_ATTRIBUTE = {
    allocation_pb2.DIMENSION_DOMAIN: "domain",
    allocation_pb2.DIMENSION_REGION: "region",
    allocation_pb2.DIMENSION_TIER: "tier",
}


def shrink_allocation_rules(
    rules: allocation_pb2.AllocationRules, proposals: Sequence[Any]
) -> None:
    """Locked decisions of kept proposals; quotas on a domain, region or tier some kept proposal
    has (a minimum for one nobody has is refused, rightly). In a round only the proposals that
    scoring qualifies are allocated, so pass the empty list there: only quotas by pool stay."""
    proposal_ids = {p.proposal_id for p in proposals}
    _replace(
        rules.locked_decisions, (d for d in rules.locked_decisions if d.proposal_id in proposal_ids)
    )

    def kept(quota: allocation_pb2.Quota) -> bool:
        attribute = QUOTA_ATTRIBUTE.get(quota.dimension)
        return attribute is None or any(getattr(p, attribute) == quota.key for p in proposals)

    _replace(rules.quotas, [q for q in rules.quotas if kept(q)])


def shrink_needs_part(
    target: Any, source: Any, policy: tuple[str, str], size: Sizes, organizations: list[Any]
) -> None:
    """Needs (a window), the given organizations and the needs policy (named `policy[0]` in the
    target, `policy[1]` in the source), its pairs kept consistent."""
    needs = _window(source.needs, size.start, size.needs)
    need_ids = {n.need_id for n in needs}
    organization_ids = {o.organization_id for o in organizations}
    _replace(target.needs, needs)
    _replace(target.organizations, organizations)
    matching = getattr(target, policy[0])
    matching.CopyFrom(getattr(source, policy[1]))
    for pairs in (matching.forbidden_pairs, matching.fixed_pairs):
        _replace(
            pairs,
            (p for p in pairs if p.need_id in need_ids and p.organization_id in organization_ids),
        )


def shrink_mentors_part(target: Any, source: Any, size: Sizes) -> None:
    """Mentors (a window), conflicts only with organizations already in `target`."""
    organization_ids = {o.organization_id for o in target.organizations}
    _replace(target.mentors, _window(source.mentors, size.start, size.mentors))
    for mentor in target.mentors:
        _keep_strings(mentor.conflict_organization_ids, organization_ids)


def shrunk_score(source_name: str, size: Sizes) -> scoring_pb2.ScoreProposalsRequest:
    is_round = source_name.startswith("round_")
    cls = round_pb2.OptimizeRoundRequest if is_round else scoring_pb2.ScoreProposalsRequest
    source: Any = example(source_name, cls)
    request = scoring_pb2.ScoreProposalsRequest(labels=source.labels, options=source.options)
    policy = ("policy", "scoring_policy" if is_round else "policy")
    shrink_scoring_part(request, source, policy, size)
    return request


def shrunk_allocation(size: Sizes) -> allocation_pb2.AllocateFundingRequest:
    source = example("allocate_county.json", allocation_pb2.AllocateFundingRequest)
    request = allocation_pb2.AllocateFundingRequest(labels=source.labels, options=source.options)
    proposals = _spread(source.proposals, size.start, size.proposals + 3)
    _replace(request.proposals, proposals)
    request.rules.CopyFrom(source.rules)
    shrink_allocation_rules(request.rules, proposals)
    return request


def shrunk_needs(source_name: str, size: Sizes) -> matching_pb2.MatchNeedsRequest:
    is_round = source_name.startswith("round_")
    cls = round_pb2.OptimizeRoundRequest if is_round else matching_pb2.MatchNeedsRequest
    source: Any = example(source_name, cls)
    request = matching_pb2.MatchNeedsRequest(labels=source.labels, options=source.options)
    organizations = _window(source.organizations, size.start * 7, size.organizations + 1)
    policy = ("policy", "need_matching_policy" if is_round else "policy")
    shrink_needs_part(request, source, policy, size, organizations)
    return request


def shrunk_mentors(source_name: str, size: Sizes) -> matching_pb2.MatchMentorsRequest:
    is_round = source_name.startswith("round_")
    cls = round_pb2.OptimizeRoundRequest if is_round else matching_pb2.MatchMentorsRequest
    source: Any = example(source_name, cls)
    request = matching_pb2.MatchMentorsRequest(labels=source.labels, options=source.options)
    _replace(
        request.organizations, _window(source.organizations, size.start * 5, size.organizations)
    )
    shrink_mentors_part(request, source, size)
    request.policy.CopyFrom(source.mentor_matching_policy if is_round else source.policy)
    return request


def shrunk_round(source_name: str, size: Sizes) -> round_pb2.OptimizeRoundRequest:
    source = example(source_name, round_pb2.OptimizeRoundRequest)
    request = round_pb2.OptimizeRoundRequest(
        labels=source.labels,
        options=source.options,
        round_id=source.round_id,
        display_name=source.display_name,
    )
    shrink_scoring_part(request, source, ("scoring_policy", "scoring_policy"), size)
    request.allocation_rules.CopyFrom(source.allocation_rules)
    shrink_allocation_rules(request.allocation_rules, [])
    funded_by = {p.organization_id for p in request.proposals}
    organizations = [o for o in source.organizations if o.organization_id in funded_by]
    organizations += _window(source.organizations, size.start * 3, 2)
    organizations = list({o.organization_id: o for o in organizations}.values())
    shrink_needs_part(
        request, source, ("need_matching_policy", "need_matching_policy"), size, organizations
    )
    shrink_mentors_part(request, source, size)
    request.mentor_matching_policy.CopyFrom(source.mentor_matching_policy)
    return request


# ---------------------------------------------------------------------------------------------
# One strategy per RPC.

SCORE_SOURCES = ("score_county.json", *ROUND_EXAMPLES)
NEEDS_SOURCES = ("match_needs_county.json", *ROUND_EXAMPLES)
MENTORS_SOURCES = ("match_mentors_county.json", *ROUND_EXAMPLES)


@st.composite
def score_seeds(draw: Draw) -> scoring_pb2.ScoreProposalsRequest:
    """A shrunk example ScoreProposalsRequest, not mutated (valid)."""
    return shrunk_score(draw(st.sampled_from(SCORE_SOURCES)), draw(sizes))


@st.composite
def allocation_seeds(draw: Draw) -> allocation_pb2.AllocateFundingRequest:
    return shrunk_allocation(draw(sizes))


@st.composite
def needs_seeds(draw: Draw) -> matching_pb2.MatchNeedsRequest:
    return shrunk_needs(draw(st.sampled_from(NEEDS_SOURCES)), draw(sizes))


@st.composite
def mentors_seeds(draw: Draw) -> matching_pb2.MatchMentorsRequest:
    return shrunk_mentors(draw(st.sampled_from(MENTORS_SOURCES)), draw(sizes))


@st.composite
def round_seeds(draw: Draw) -> round_pb2.OptimizeRoundRequest:
    return shrunk_round(draw(st.sampled_from(ROUND_EXAMPLES)), draw(sizes))


@st.composite
def batch_seeds(draw: Draw) -> round_pb2.BatchOptimizeRoundsRequest:
    request = round_pb2.BatchOptimizeRoundsRequest()
    request.labels["batch"] = "fuzz"
    for _ in range(draw(st.integers(1, 3))):
        one = draw(round_seeds())
        if draw(st.booleans()):
            one.ClearField("options")  # the round takes the batch's options
        request.rounds.add().CopyFrom(one)
    return request


def batch_options(request: round_pb2.BatchOptimizeRoundsRequest) -> list[common_pb2.RequestOptions]:
    return [request.options] + [r.options for r in request.rounds if r.HasField("options")]


def fuzzed(
    seeds: st.SearchStrategy[M],
    options: Callable[[M], Iterable[common_pb2.RequestOptions]] = only_options,
) -> st.SearchStrategy[M]:
    """Mutated seeds, and a share of random messages of the same type (from the descriptor)."""

    @st.composite
    def build(draw: Draw) -> M:
        seed = draw(seeds)
        if draw(st.integers(0, 7)) == 7:
            pool = string_pool(seed)
            request = random_message(draw, seed.DESCRIPTOR, pool)
            assert isinstance(request, type(seed))
            note("a random message, built from the descriptor")
        else:
            request = seed
        return finish(draw, request, options)

    return build()


score_requests = fuzzed(score_seeds())
allocation_requests = fuzzed(allocation_seeds())
needs_requests = fuzzed(needs_seeds())
mentors_requests = fuzzed(mentors_seeds())
round_requests = fuzzed(round_seeds())
batch_requests = fuzzed(batch_seeds(), batch_options)
