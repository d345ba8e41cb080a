"""The `venture` command: run the server, score a request file, check a server's health."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from google.protobuf import json_format

from scoring.errors import InvalidProblem
from service import config as config_module
from service import handlers, table
from service.client import DEFAULT_ADDRESS, VentureClient, VentureError
from service.server import serve
from venture.v1 import scoring_pb2

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3

DESCRIPTION = """\
venture: decisions for venture-philanthropy rounds (公益创投) over gRPC.

commands:
  serve    run the gRPC server (VentureService, health, reflection) until SIGTERM
  score    rank the proposals in a ScoreProposalsRequest JSON file, via a running
           server or in-process with --local, and print the shortlist
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
    score_p.add_argument(
        "file", type=Path, metavar="FILE.json", help="ScoreProposalsRequest as JSON"
    )
    where = score_p.add_mutually_exclusive_group()
    where.add_argument(
        "--address", default=DEFAULT_ADDRESS, help=f"server address (default {DEFAULT_ADDRESS})"
    )
    where.add_argument("--local", action="store_true", help="score in-process, without a server")
    score_p.add_argument("--json", action="store_true", help="print the whole response as JSON")
    score_p.add_argument("--timeout", type=float, default=120.0, help="call deadline in seconds")

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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "score":
            return _score(args)
        return _health(args)
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


def read_request(path: Path) -> scoring_pb2.ScoreProposalsRequest:
    """Parse a ScoreProposalsRequest from proto3 JSON; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None
    try:
        return json_format.Parse(text, scoring_pb2.ScoreProposalsRequest())
    except json_format.ParseError as error:
        raise ValueError(f"{path}: not a ScoreProposalsRequest: {error}") from None


def _score(args: argparse.Namespace) -> int:
    try:
        request = read_request(args.file)
    except ValueError as error:
        print(f"venture score: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.local:
            response = handlers.score_proposals(request, config_module.Limits())
        else:
            with VentureClient(args.address, timeout_s=args.timeout) as client:
                response = client.score_proposals(request)
    except InvalidProblem as error:
        _print_violations([(v.field, f"{v.description} (got {v.value})") for v in error.violations])
        return EXIT_BAD_INPUT
    except VentureError as error:
        print(f"venture score: {error.code.name}: {error.message}", file=sys.stderr)
        _print_violations([(v.field, v.description) for v in error.violations])
        return EXIT_BAD_INPUT if error.violations else EXIT_UNAVAILABLE
    if args.json:
        print(json.dumps(json_format.MessageToDict(response), ensure_ascii=False, indent=2))
    else:
        _print_result(request, response)
    return 0


def _print_violations(violations: list[tuple[str, str]]) -> None:
    for field, description in violations:
        print(f"  {field}: {description}", file=sys.stderr)


def _print_result(
    request: scoring_pb2.ScoreProposalsRequest, response: scoring_pb2.ScoreProposalsResponse
) -> None:
    if request.options.validate_only:
        errors = response.validation_errors
        print("valid" if not errors else f"{len(errors)} problem(s):")
        for e in errors:
            print(f"  {e.field}: {e.description} (got {e.value})")
        return
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
