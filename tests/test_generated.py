"""The generated API package imports cleanly and is up to date with protos/."""

import filecmp
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import venture.v1

ROOT = Path(__file__).resolve().parent.parent


def _generated_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(venture.v1.__path__, "venture.v1."))


def test_every_generated_module_imports() -> None:
    modules = _generated_modules()
    # One *_pb2 per .proto file, plus the gRPC stubs of the service file.
    protos = sorted(p.stem for p in (ROOT / "protos/venture/v1").glob("*.proto"))
    assert [m for m in modules if m.endswith("_pb2")] == [f"venture.v1.{p}_pb2" for p in protos]
    assert "venture.v1.venture_service_pb2_grpc" in modules
    for name in modules:
        importlib.import_module(name)


def test_service_descriptor_has_every_rpc() -> None:
    from venture.v1 import venture_service_pb2

    service = venture_service_pb2.DESCRIPTOR.services_by_name["VentureService"]
    assert [m.name for m in service.methods] == [
        "ScoreProposals",
        "AllocateFunding",
        "MatchNeeds",
        "MatchMentors",
        "OptimizeRound",
        "BatchOptimizeRounds",
    ]
    assert service.methods_by_name["BatchOptimizeRounds"].server_streaming


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_protos.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh, committed = tmp_path / "venture", ROOT / "venture"
    fresh_files = sorted(
        p.relative_to(fresh)
        for p in fresh.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    committed_files = sorted(
        p.relative_to(committed)
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert fresh_files == committed_files, (
        "run scripts/gen_protos.py: the set of generated files changed"
    )
    _, mismatch, errors = filecmp.cmpfiles(
        fresh, committed, [str(p) for p in fresh_files], shallow=False
    )
    assert not mismatch and not errors, (
        f"stale generated code, run scripts/gen_protos.py: {mismatch + errors}"
    )
