"""`venture serve`: its flags and what it runs, kept apart from the other commands so that
starting the supervisor of `--processes N` does not load the solvers.

The supervisor only starts and watches the server processes; with every engine imported (as
`service.cli` does for the other commands) it held about 220 MiB of memory it never used, next
to each server process's 230 MiB. `service.entry` sends `venture serve` here before anything
heavy is imported, and the server itself (service.server and the engines) is imported only by
a process that serves.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from typing import Any

from service import config as config_module
from service import logs
from service.processes import Supervisor, process_index

EXIT_BAD_INPUT = 2
"""A bad flag or environment value (shared with the other commands: bad input)."""
EXIT_UNAVAILABLE = 3
"""The port cannot be bound (the other commands: the server cannot be reached)."""
HELP = "run the gRPC server"
DESCRIPTION = (
    "Run the gRPC server on loopback by default. Every flag can also be set by its environment "
    "variable; flags win."
)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The `serve` subcommand in `venture`'s parser (`commands`: its subparsers)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve", help=HELP, description=DESCRIPTION
    )
    config_module.add_arguments(parser)
    return parser


def main(flags: list[str]) -> int:
    """`venture serve FLAGS`, parsed on its own (the same flags and help as in `venture`)."""
    parser = argparse.ArgumentParser(prog="venture serve", description=DESCRIPTION)
    config_module.add_arguments(parser)
    return run(parser.parse_args(flags), flags)


def run(args: argparse.Namespace, flags: list[str]) -> int:
    """One server, or with --processes N a supervisor of N (service.processes), which starts
    each with the same `flags`."""
    try:
        config = config_module.load(args)
    except config_module.ConfigError as error:
        print(f"venture serve: bad configuration: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    index = process_index()
    logs.configure(config.log_level, config.log_format, process=index)
    try:
        if index is None and config.process_count > 1:
            return Supervisor(config, flags, config.process_count).run()
        if index is not None and config.metrics_port > 0:
            config = replace(config, metrics_port=config.metrics_port + index)
        # Here, not at the top: only a process that serves loads the server and its engines.
        from service.server import serve  # noqa: PLC0415

        asyncio.run(serve(config, reuse_port=index is not None))
    except OSError as error:  # the port (or the metrics port) cannot be bound
        print(f"venture serve: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return 0
