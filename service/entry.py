"""The `venture` console script: `venture serve` goes straight to service.serve_command, which
imports no engine (see there); every other command goes through service.cli."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from service import serve_command  # noqa: PLC0415  (light: no engines)

        return serve_command.main(argv[1:])
    from service import cli  # noqa: PLC0415  (every command's imports)

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
