"""The `venture` command: run the server, score or allocate a request file, check health."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from scoring.errors import InvalidProblem, Unsatisfiable
from service import config as config_module
from service import handlers, table
from service.client import DEFAULT_ADDRESS, VentureClient, VentureError
from service.server import serve
from venture.v1 import allocation_pb2, common_pb2, matching_pb2, scoring_pb2

EXIT_NO_ALLOCATION = 1
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3
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

    serve_p = commands.add_parser(
        "serve",
        help="run the gRPC server",
        description="Run the gRPC server on loopback by default. Every flag can also be set "
        "by its environment variable; flags win.",
    )
    config_module.add_arguments(serve_p)

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
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "score":
            return _score(args)
        if args.command == "allocate":
            return _allocate(args)
        if args.command == "match-needs":
            return _match_needs(args)
        if args.command == "match-mentors":
            return _match_mentors(args)
        return _health(args)
    except CommandFailed as failed:
        return failed.exit_code
    except BrokenPipeError:
        # The reader went away (`venture score ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _serve(args: argparse.Namespace) -> int:
    try:
        config = config_module.load(args)
    except config_module.ConfigError as error:
        print(f"venture serve: bad configuration: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    asyncio.run(serve(config))
    return 0


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


def _call(
    args: argparse.Namespace, local: Callable[[], R], remote: Callable[[VentureClient], R]
) -> R:
    """Run the handler in-process (--local) or call the server; print any failure with every
    field violation and stop with its exit code."""
    try:
        if args.local:
            return local()
        with VentureClient(args.address, timeout_s=args.timeout) as client:
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


def _score(args: argparse.Namespace) -> int:
    request = _read(args, scoring_pb2.ScoreProposalsRequest)
    response = _call(
        args,
        lambda: handlers.score_proposals(request, config_module.Limits()),
        lambda client: client.score_proposals(request),
    )
    if args.json:
        _print_json(response)
    elif request.options.validate_only:
        _print_validation(response.validation_errors)
    else:
        _print_result(request, response)
    return 0


def _allocate(args: argparse.Namespace) -> int:
    request = _read(args, allocation_pb2.AllocateFundingRequest)
    # --local honours --timeout as the server honours the call's deadline.
    deadline = time.monotonic() + args.timeout
    response = _call(
        args,
        lambda: handlers.allocate_funding(request, config_module.Limits(), deadline),
        lambda client: client.allocate_funding(request),
    )
    if args.json:
        _print_json(response)
    elif request.options.validate_only:
        _print_validation(response.validation_errors)
    else:
        _print_allocation(request, response.result)
    solved = not request.options.validate_only
    if solved and response.result.summary.status in NO_ALLOCATION:
        return EXIT_NO_ALLOCATION
    return 0


def _match_needs(args: argparse.Namespace) -> int:
    request = _read(args, matching_pb2.MatchNeedsRequest)
    deadline = time.monotonic() + args.timeout
    response = _call(
        args,
        lambda: handlers.match_needs(request, config_module.Limits(), deadline),
        lambda client: client.match_needs(request),
    )
    if args.json:
        _print_json(response)
    elif request.options.validate_only:
        _print_validation(response.validation_errors)
    else:
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
    solved = not request.options.validate_only
    if solved and response.result.summary.status in NO_ALLOCATION:
        return EXIT_NO_ALLOCATION
    return 0


def _match_mentors(args: argparse.Namespace) -> int:
    request = _read(args, matching_pb2.MatchMentorsRequest)
    deadline = time.monotonic() + args.timeout
    response = _call(
        args,
        lambda: handlers.match_mentors(request, config_module.Limits(), deadline),
        lambda client: client.match_mentors(request),
    )
    if args.json:
        _print_json(response)
    elif request.options.validate_only:
        _print_validation(response.validation_errors)
    else:
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
    return 0


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
    with VentureClient(args.address, timeout_s=args.timeout) as client:
        try:
            status = client.health(args.service)
        except VentureError as error:
            print(f"{args.address}: {error.code.name}: {error.message}", file=sys.stderr)
            return EXIT_UNAVAILABLE
    print(status)
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
