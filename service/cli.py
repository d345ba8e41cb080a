"""The `venture` command: run the server, score or allocate a request file, check health."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from scoring.errors import InvalidProblem, Unsatisfiable
from service import config as config_module
from service import handlers, serve_command, table
from service.client import DEFAULT_ADDRESS, TlsFiles, VentureClient, VentureError
from service.round.files_batch import progress_line, report_progress, round_sources, run_folder
from service.round.optimize import optimize_round
from service.round.report import write_outputs
from service.round.workbook import RoundFileError, read_round, write_template
from service.serve_command import EXIT_BAD_INPUT, EXIT_UNAVAILABLE
from service.tokens import CLIENT_TOKEN_ENV
from venture.v1 import allocation_pb2, common_pb2, matching_pb2, round_pb2, scoring_pb2

EXIT_NO_ALLOCATION = 1
NO_ALLOCATION = (common_pb2.SOLVE_STATUS_INFEASIBLE, common_pb2.SOLVE_STATUS_NO_SOLUTION_FOUND)
"""Solve statuses of an answer without awards: `venture allocate` exits EXIT_NO_ALLOCATION."""
M = TypeVar("M", bound=Message)
R = TypeVar("R")

DESCRIPTION = """\
venture: decisions for venture-philanthropy rounds (公益创投) over gRPC.

commands:
  serve    run the gRPC server (VentureService, health, reflection) until SIGTERM
  score    rank the proposals in a ScoreProposalsRequest JSON file, via a running
           server or in-process with --local, and print the shortlist
  allocate fund proposals from an AllocateFundingRequest JSON file within the budget
           and rules, via a running server or with --local, and print the awards
  match-needs
           match organizations to community needs from a MatchNeedsRequest JSON file,
           via a running server or with --local, and print the matches and unmet needs
  match-mentors
           match mentors to organizations' weak areas from a MatchMentorsRequest JSON
           file, via a running server or with --local, and print the teams
  optimize a whole round (a JSON file, an Excel workbook or a folder of CSV files):
           score, allocate, match; writes result.json, result.xlsx and report.html
  optimize-batch
           every round in a folder, each into its own output folder; an interrupted
           run re-run skips the rounds already done
  template write an empty round workbook to fill in (one sheet per table)
  health   ask a server for its gRPC health status (exit 0 when SERVING)

Run `venture COMMAND --help` for a command's options.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="venture",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_command.add_parser(commands)

    score_p = commands.add_parser(
        "score",
        help="rank proposals from a request file",
        description="Read FILE (a ScoreProposalsRequest in proto3 JSON form), score it and "
        "print the ranked shortlist and the judges' analytics.",
    )
    _add_call_arguments(score_p, "ScoreProposalsRequest", "score")

    allocate_p = commands.add_parser(
        "allocate",
        help="allocate the budget from a request file",
        description="Read FILE (an AllocateFundingRequest in proto3 JSON form), allocate the "
        "budget and print the awards, every unfunded proposal with its reason, and the spend. "
        f"Exit {EXIT_NO_ALLOCATION} when the rules admit no allocation (the conflicting rules "
        f"are printed), {EXIT_BAD_INPUT} on bad input.",
    )
    _add_call_arguments(allocate_p, "AllocateFundingRequest", "allocate")

    needs_p = commands.add_parser(
        "match-needs",
        help="match organizations to needs from a request file",
        description="Read FILE (a MatchNeedsRequest in proto3 JSON form), match organizations "
        "to the needs and print the matches, each with its affinity, and every need left "
        f"short with the reason. Exit {EXIT_NO_ALLOCATION} when the rules admit no matching "
        f"(the needs and counts are printed), {EXIT_BAD_INPUT} on bad input.",
    )
    _add_call_arguments(needs_p, "MatchNeedsRequest", "match")

    mentors_p = commands.add_parser(
        "match-mentors",
        help="match mentors to organizations from a request file",
        description="Read FILE (a MatchMentorsRequest in proto3 JSON form), build mentor teams "
        "that cover the organizations' weak areas and print them, every weak area left "
        f"uncovered with the reason, and the stability check. Exit {EXIT_BAD_INPUT} on bad "
        "input.",
    )
    _add_call_arguments(mentors_p, "MatchMentorsRequest", "match")

    optimize_p = commands.add_parser(
        "optimize",
        help="optimize a whole round and write its result and report",
        description="Read ROUND (an OptimizeRoundRequest as JSON, an Excel workbook made from "
        "`venture template`, or a folder of CSV files), score, allocate and match it, print "
        "the shortlist and awards, and write result.json, result.xlsx and report.html into "
        f"--out. Exit {EXIT_BAD_INPUT} on bad input (every bad cell or field is printed).",
    )
    optimize_p.add_argument("round", type=Path, metavar="ROUND", help="round file or folder")
    optimize_p.add_argument("--out", type=Path, required=True, help="output folder")
    where = optimize_p.add_mutually_exclusive_group()
    where.add_argument(
        "--address", default=DEFAULT_ADDRESS, help=f"server address (default {DEFAULT_ADDRESS})"
    )
    where.add_argument("--local", action="store_true", help="optimize in-process, no server")
    optimize_p.add_argument("--timeout", type=float, default=300.0, help="call deadline, s")

    batch_p = commands.add_parser(
        "optimize-batch",
        help="optimize every round in a folder",
        description="Optimize every round in DIR (JSON files, workbooks, folders of CSV files) "
        "in-process, each into OUT/NAME/ (result.json, result.xlsx, report.html), with a "
        "progress bar. Results are written atomically; a re-run skips rounds whose result "
        "was made from the same input (by its hash). Exit 1 when any round failed.",
    )
    batch_p.add_argument("folder", type=Path, metavar="DIR", help="folder of rounds")
    batch_p.add_argument("--out", type=Path, required=True, help="output folder")
    batch_p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="rounds solved at once, in worker processes (default: one per core)",
    )

    template_p = commands.add_parser(
        "template",
        help="write an empty round workbook",
        description="Write an empty round workbook: an instructions sheet (说明) and one sheet "
        "per table, with Chinese and English headers.",
    )
    template_p.add_argument("path", type=Path, metavar="round.xlsx", help="where to write it")

    health_p = commands.add_parser(
        "health",
        help="check a server's health",
        description="Ask the gRPC health service; exit 0 when SERVING, 1 otherwise, "
        f"{EXIT_UNAVAILABLE} when unreachable. Used by the Docker HEALTHCHECK.",
    )
    health_p.add_argument(
        "--address", default=DEFAULT_ADDRESS, help=f"server address (default {DEFAULT_ADDRESS})"
    )
    health_p.add_argument("--service", default="", help="service name; empty for the whole server")
    health_p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait")
    return parser


def _add_call_arguments(parser: argparse.ArgumentParser, request_type: str, verb: str) -> None:
    """FILE, where to call (a server or in-process), and how to print: shared by every RPC."""
    parser.add_argument("file", type=Path, metavar="FILE.json", help=f"{request_type} as JSON")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--address", default=DEFAULT_ADDRESS, help=f"server address (default {DEFAULT_ADDRESS})"
    )
    where.add_argument("--local", action="store_true", help=f"{verb} in-process, without a server")
    parser.add_argument("--json", action="store_true", help="print the whole response as JSON")
    parser.add_argument("--timeout", type=float, default=120.0, help="call deadline in seconds")


class CommandFailed(Exception):
    """Stops a command with `exit_code`; what went wrong has already been printed."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve_command.run(args, argv[argv.index("serve") + 1 :])
        if args.command == "score":
            return _score(args)
        if args.command == "allocate":
            return _allocate(args)
        if args.command == "match-needs":
            return _match_needs(args)
        if args.command == "match-mentors":
            return _match_mentors(args)
        if args.command == "optimize":
            return _optimize(args)
        if args.command == "optimize-batch":
            return _optimize_batch(args)
        if args.command == "template":
            write_template(args.path)
            print(f"wrote {args.path}")
            return 0
        return _health(args)
    except CommandFailed as failed:
        return failed.exit_code
    except BrokenPipeError:
        # The reader went away (`venture score ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def read_json(path: Path, request_type: type[M]) -> M:
    """Parse a request from its proto3 JSON form; errors name the file and the message."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None
    try:
        return json_format.Parse(text, request_type())
    except json_format.ParseError as error:
        name = request_type.DESCRIPTOR.name
        article = "an" if name[0] in "AEIOU" else "a"
        raise ValueError(f"{path}: not {article} {name}: {error}") from None


def read_request(path: Path) -> scoring_pb2.ScoreProposalsRequest:
    """Parse a ScoreProposalsRequest from proto3 JSON; errors name the file."""
    return read_json(path, scoring_pb2.ScoreProposalsRequest)


def _read(args: argparse.Namespace, request_type: type[M]) -> M:
    try:
        return read_json(args.file, request_type)
    except ValueError as error:
        print(f"venture {args.command}: {error}", file=sys.stderr)
        raise CommandFailed(EXIT_BAD_INPUT) from None


def _client(args: argparse.Namespace) -> VentureClient:
    """A client for --address: the bearer token in VENTURE_TOKEN, and TLS when VENTURE_TLS_CA
    (the CA that signed the server's certificate) or, for mutual TLS, VENTURE_TLS_CERT and
    VENTURE_TLS_KEY name PEM files."""
    env = os.environ
    files = {name: env.get(f"VENTURE_TLS_{name.upper()}") for name in ("ca", "cert", "key")}
    tls = None
    if any(files.values()):
        tls = TlsFiles(**{name: Path(value) if value else None for name, value in files.items()})
    return VentureClient(
        args.address, timeout_s=args.timeout, token=env.get(CLIENT_TOKEN_ENV), tls=tls
    )


def _call(
    args: argparse.Namespace, local: Callable[[], R], remote: Callable[[VentureClient], R]
) -> R:
    """Run the handler in-process (--local) or call the server; print any failure with every
    field violation and stop with its exit code."""
    try:
        if args.local:
            return local()
        with _client(args) as client:
            return remote(client)
    except InvalidProblem as error:
        if isinstance(error, Unsatisfiable):
            print(f"venture {args.command}: FAILED_PRECONDITION: {error}", file=sys.stderr)
        _print_violations([(v.field, f"{v.description} (got {v.value})") for v in error.violations])
        unsatisfiable = isinstance(error, Unsatisfiable)
        raise CommandFailed(EXIT_NO_ALLOCATION if unsatisfiable else EXIT_BAD_INPUT) from None
    except VentureError as error:
        print(f"venture {args.command}: {error.code.name}: {error.message}", file=sys.stderr)
        _print_violations([(v.field, v.description) for v in error.violations])
        if error.code == grpc.StatusCode.FAILED_PRECONDITION:
            raise CommandFailed(EXIT_NO_ALLOCATION) from None
        raise CommandFailed(EXIT_BAD_INPUT if error.violations else EXIT_UNAVAILABLE) from None


def _print_json(response: Message) -> None:
    print(json.dumps(json_format.MessageToDict(response), ensure_ascii=False, indent=2))


class _Answer(Protocol):
    """What every RPC's response has: validation errors for validate_only requests."""

    @property
    def validation_errors(self) -> Sequence[common_pb2.FieldViolation]: ...


A = TypeVar("A", bound=_Answer)


def _rpc_command(
    args: argparse.Namespace,
    request_type: type[M],
    local: Callable[[M, float], A],
    remote: Callable[[VentureClient, M], A],
    show: Callable[[M, A], None],
    no_answer: Callable[[A], bool] = lambda _: False,
) -> int:
    """Read FILE, call in-process (--local, which honours --timeout as the server honours the
    call's deadline) or the server, print the answer (--json: whole), and exit
    EXIT_NO_ALLOCATION when the rules admit no answer."""
    request = _read(args, request_type)
    deadline = time.monotonic() + args.timeout
    response = _call(args, lambda: local(request, deadline), lambda c: remote(c, request))
    validate_only = bool(cast(Any, request).options.validate_only)  # every request has options
    if args.json:
        _print_json(cast(Message, response))
    elif validate_only:
        _print_validation(response.validation_errors)
    else:
        show(request, response)
    return EXIT_NO_ALLOCATION if not validate_only and no_answer(response) else 0


def _score(args: argparse.Namespace) -> int:
    return _rpc_command(
        args,
        scoring_pb2.ScoreProposalsRequest,
        lambda r, _: handlers.score_proposals(r, config_module.Limits()),
        lambda client, r: client.score_proposals(r),
        _print_result,
    )


def _allocate(args: argparse.Namespace) -> int:
    return _rpc_command(
        args,
        allocation_pb2.AllocateFundingRequest,
        lambda r, deadline: handlers.allocate_funding(r, config_module.Limits(), deadline),
        lambda client, r: client.allocate_funding(r),
        lambda r, response: _print_allocation(r, response.result),
        lambda response: response.result.summary.status in NO_ALLOCATION,
    )


def _match_needs(args: argparse.Namespace) -> int:
    return _rpc_command(
        args,
        matching_pb2.MatchNeedsRequest,
        lambda r, deadline: handlers.match_needs(r, config_module.Limits(), deadline),
        lambda client, r: client.match_needs(r),
        _print_needs,
        lambda response: response.result.summary.status in NO_ALLOCATION,
    )


def _match_mentors(args: argparse.Namespace) -> int:
    return _rpc_command(
        args,
        matching_pb2.MatchMentorsRequest,
        lambda r, deadline: handlers.match_mentors(r, config_module.Limits(), deadline),
        lambda client, r: client.match_mentors(r),
        _print_mentors,
    )


def _print_needs(
    request: matching_pb2.MatchNeedsRequest, response: matching_pb2.MatchNeedsResponse
) -> None:
    result = response.result
    print(table.need_summary(result))
    if result.assignments:
        print()
        print(f"Matches ({len(result.assignments)})")
        print(table.need_assignments(request, result))
    if result.unmet_needs:
        print()
        print(f"Needs left short ({len(result.unmet_needs)})")
        print(table.unmet_needs(result))
    for notice in result.notices:
        print(f"note [{notice.code}]: {notice.message}")


def _print_mentors(
    request: matching_pb2.MatchMentorsRequest, response: matching_pb2.MatchMentorsResponse
) -> None:
    result = response.result
    print(table.mentor_summary(result))
    if result.assignments:
        print()
        print(f"Teams ({len(result.assignments)} assignments)")
        print(table.mentor_assignments(request, result))
    if result.uncovered:
        print()
        print(f"Uncovered weak areas ({len(result.uncovered)})")
        print(table.uncovered_areas(result))
    for notice in result.notices:
        print(f"note [{notice.code}]: {notice.message}")


def _optimize(args: argparse.Namespace) -> int:
    try:
        request = read_round(args.round)
    except RoundFileError as error:
        print(f"venture optimize: {args.round}: {error}", file=sys.stderr)
        raise CommandFailed(EXIT_BAD_INPUT) from None
    deadline = time.monotonic() + args.timeout
    response = _call(
        args,
        lambda: optimize_round(request, config_module.Limits(), deadline),
        lambda client: client.optimize_round(request, timeout_s=args.timeout),
    )
    written = write_outputs(request, response, args.out)
    _print_round(request, response)
    print()
    for path in written:
        print(f"wrote {path}")
    report = next((p for p in written if p.name == "report.html"), None)
    if report is not None:
        print(f"the report: {report.resolve().as_uri()}")
    return 0


def _print_round(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> None:
    """The round as a committee reads it: shortlist, awards, matches."""
    print(f"Round {response.round_id or '(no id)'}: {request.display_name}")
    print()
    print(f"Ranked shortlist ({len(response.scoring.proposals)} proposals)")
    print(
        table.shortlist(
            scoring_pb2.ScoreProposalsRequest(proposals=request.proposals), response.scoring
        )
    )
    print()
    print(table.allocation_summary(response.allocation))
    if response.allocation.awards:
        print()
        print(f"Awards ({len(response.allocation.awards)})")
        scored = allocation_pb2.AllocateFundingRequest(proposals=request.proposals)
        print(table.awards(scored, response.allocation))
    if response.HasField("needs"):
        needs = matching_pb2.MatchNeedsRequest(
            needs=request.needs, organizations=request.organizations
        )
        print()
        print(table.need_summary(response.needs))
        print(table.need_assignments(needs, response.needs))
    if response.HasField("mentors"):
        mentors = matching_pb2.MatchMentorsRequest(
            mentors=request.mentors, organizations=request.organizations
        )
        print()
        print(table.mentor_summary(response.mentors))
        print(table.mentor_assignments(mentors, response.mentors))
    for notice in response.notices:
        print(f"note [{notice.code}]: {notice.message}")


def _optimize_batch(args: argparse.Namespace) -> int:
    sources = round_sources(args.folder)
    failed = 0
    for done, outcome in enumerate(run_folder(args.folder, args.out, args.jobs), start=1):
        failed += outcome.status == "failed"
        report_progress(progress_line(done, len(sources), outcome))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(f"{len(sources)} round(s), {failed} failed; results in {args.out}")
    return 1 if failed else 0


def _print_violations(violations: list[tuple[str, str]]) -> None:
    for field, description in violations:
        print(f"  {field}: {description}", file=sys.stderr)


def _print_validation(errors: Sequence[common_pb2.FieldViolation]) -> None:
    print("valid" if not errors else f"{len(errors)} problem(s):")
    for e in errors:
        print(f"  {e.field}: {e.description} (got {e.value})")


def _print_allocation(
    request: allocation_pb2.AllocateFundingRequest, result: allocation_pb2.AllocationResult
) -> None:
    print(table.allocation_summary(result))
    for conflict in result.conflicts:
        print(f"conflict: {', '.join(conflict.rules)}: {conflict.message}")
    if result.awards:
        print()
        print(f"Awards ({len(result.awards)})")
        print(table.awards(request, result))
    if result.unfunded:
        print()
        print(f"Not funded ({len(result.unfunded)})")
        print(table.unfunded(request, result))
    if result.spend:
        print()
        print("Spend")
        print(table.spend(result))
    for missed in result.quota_violations:
        print(
            f"quota missed: {missed.rule}: by {missed.count_violation} grant(s) and "
            f"{table.yuan(missed.amount_violation_fen)} yuan"
        )
    for notice in result.notices:
        print(f"note [{notice.code}]: {notice.message}")


def _print_result(
    request: scoring_pb2.ScoreProposalsRequest, response: scoring_pb2.ScoreProposalsResponse
) -> None:
    result = response.result
    method = scoring_pb2.AggregationMethod.Name(result.aggregation).removeprefix(
        "AGGREGATION_METHOD_"
    )
    print(f"Ranked shortlist ({len(result.proposals)} proposals, aggregation {method.lower()})")
    print(table.shortlist(request, result))
    print()
    print("Judges")
    print(table.judges(result))
    for group in result.tied_groups:
        rule = (
            scoring_pb2.TieBreakKind.Name(group.resolved_by).removeprefix("TIE_BREAK_KIND_").lower()
        )
        print(f"tie at {group.score:.2f}: {' > '.join(group.proposal_ids)} (settled by {rule})")
    if result.recusals:
        print(
            f"recusals (回避): {len(result.recusals)}; missing sheets: {len(result.missing_sheets)}"
        )
    for notice in result.notices:
        print(f"note [{notice.code}]: {notice.message}")


def _health(args: argparse.Namespace) -> int:
    with _client(args) as client:
        try:
            status = client.health(args.service)
        except VentureError as error:
            print(f"{args.address}: {error.code.name}: {error.message}", file=sys.stderr)
            return EXIT_UNAVAILABLE
    print(status)
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
