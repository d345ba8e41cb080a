#!/usr/bin/env python3
"""Generate the Python API package `venture/v1` (messages, gRPC stubs, type stubs) from protos/.

Run after editing any .proto file:  .venv/bin/python scripts/gen_protos.py
tests/test_generated.py fails when the committed code is stale against protos/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIRS = ("venture", "venture/v1")
INIT_TEXT = '"""Generated from protos/ by scripts/gen_protos.py. Do not edit."""\n'


def _plugin(name: str) -> str:
    """Find a protoc plugin beside this interpreter first, so an unactivated venv works."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install the dev extras (pip install -e '.[test]')")
    return found


def generate(out_dir: Path) -> None:
    """Write the generated package under out_dir (out_dir/venture/v1/...)."""
    from grpc_tools import protoc  # dev-only dependency, imported when generating

    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    services = [p for p in protos if "\nservice " in p.read_text(encoding="utf-8")]
    include = Path(protoc.__file__).parent / "_proto"
    common = [f"-I{PROTO_ROOT}", f"-I{include}"]
    messages = [
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--python_out={out_dir}",
        f"--mypy_out=quiet:{out_dir}",
    ]
    # gRPC stubs only for files that define a service: no empty *_pb2_grpc modules.
    stubs = [
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_grpc_out=quiet:{out_dir}",
    ]
    for flags, files in ((messages, protos), (stubs, services)):
        relative = [str(p.relative_to(PROTO_ROOT)) for p in files]
        if protoc.main(["grpc_tools.protoc", *common, *flags, *relative]) != 0:
            sys.exit("protoc failed")
    for package in PACKAGE_DIRS:
        (out_dir / package / "__init__.py").write_text(INIT_TEXT)
        (out_dir / package / "py.typed").write_text("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT, help="where venture/v1 is written")
    out = parser.parse_args().out
    # Generate into a fresh folder and swap it in, so removed protos leave no stale modules.
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        target = out / "venture"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(tmp) / "venture", target)
    print(f"generated {target}")


if __name__ == "__main__":
    main()
