"""Server configuration: one typed object, read once at start-up from flags and environment.

Precedence: command-line flag > environment variable (VENTURE_*) > default. The defaults
run on loopback with no configuration at all. A bad value fails loudly before anything starts.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from service.tokens import TOKENS_ENV, TokenError, parse_tokens, read_tokens

MIB = 1024 * 1024


class ConfigError(ValueError):
    """A configuration value is malformed or out of range; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Request size limits, checked before any work; exceeding one is INVALID_ARGUMENT."""

    max_message_bytes: int = 64 * MIB
    max_criteria: int = 100
    max_judges: int = 5_000
    max_proposals: int = 50_000
    max_sheets: int = 1_000_000
    max_bootstrap_samples: int = 10_000
    max_bootstrap_cells: int = 50_000_000
    """proposals x samples: the bootstrap keeps every sample's rank (2 bytes each) for exact
    quantiles, so this bounds its memory at about 100 MB."""
    max_pools: int = 100
    """Every pool is a choice for every proposal, so pools multiply the allocation model."""
    max_tiers: int = 100
    max_score_bands: int = 100
    max_quotas: int = 1_000
    """Each quota is a constraint over every proposal it counts."""
    max_locked_decisions: int = 50_000
    """At most one per proposal is valid; the default matches max_proposals."""
    max_needs: int = 50_000
    max_organizations: int = 20_000
    max_mentors: int = 5_000
    max_candidate_pairs: int = 10_000_000
    """needs × (organizations, or candidates_per_need when set): each candidate pair costs about
    20 bytes in the matching's arrays, so this bounds them at about 200 MB."""
    max_listed_pairs: int = 5_000_000
    """Forbidden plus fixed pairs in one needs-matching request."""
    max_batch_rounds: int = 1_000
    """Rounds in one BatchOptimizeRounds call (each round also meets every limit above)."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the server needs to start."""

    host: str = "127.0.0.1"
    port: int = 50051
    grace_period_s: float = 10.0
    processes: int = 1
    """Server processes sharing the port (service.processes); 0: one per CPU core this process
    may run on. Each has the workers, limits and queue below of its own."""
    workers: int = 2
    """Threads that run CPU-bound solves, so the event loop keeps answering health checks."""
    max_waiting: int = 8
    """Calls that may wait for a free solver; one more is refused with RESOURCE_EXHAUSTED."""
    max_concurrent_calls: int = 64
    """Calls the server holds at once, waiting and running; gRPC refuses one more with
    RESOURCE_EXHAUSTED before reading it, which bounds memory under a flood of large requests
    (each held call holds its request: at most max_message_bytes)."""
    inline_max_cells: int = 100_000
    """A ScoreProposals call of at most this much estimated work (service.servicer.scoring_cells:
    the county example is about 56,000, 3 ms) runs on the event loop rather than a solver
    thread, saving the hop; 0: every call on a thread. It still takes a solver slot."""
    reflection: bool = True
    log_level: str = "INFO"
    log_format: str = "json"
    """"json": one JSON object per log line (service.logs); "text": plain lines."""
    metrics_host: str = ""
    """Interface of the Prometheus metrics endpoint (plain HTTP); empty: the same as host."""
    metrics_port: int = -1
    """Port of the metrics endpoint: -1 serves no metrics, 0 picks a free port."""
    limits: Limits = Limits()
    tls_cert_file: str = ""
    """PEM certificate chain the server presents; with tls_key_file, TLS is on."""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    """PEM CA certificates; when set, clients must present a certificate it signed (mTLS)."""
    token_file: str = ""
    """Bearer tokens, one per line (see service.auth); empty: VENTURE_TOKENS, else no auth."""
    tokens: tuple[str, ...] = field(default=(), repr=False)
    """The tokens in force (from token_file or VENTURE_TOKENS); never shown or logged."""

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def process_count(self) -> int:
        """How many server processes to run: processes, or for 0 one per core this process may
        run on (its CPU affinity, which a container's cpuset narrows; not a CPU quota)."""
        return self.processes or len(os.sched_getaffinity(0)) or 1

    @property
    def metrics_bind_host(self) -> str:
        """The interface the metrics endpoint binds: metrics_host, else host."""
        return self.metrics_host or self.host


# (setting, environment variable, type, help). Limits are settings too, flattened by name.
_SETTINGS: tuple[tuple[str, type, str], ...] = (
    ("host", str, "interface to bind; 0.0.0.0 to serve beyond this machine"),
    ("port", int, "port to bind; 0 picks a free port (printed at start-up)"),
    ("grace_period_s", float, "seconds in-flight calls get to finish after SIGTERM"),
    (
        "processes",
        int,
        "server processes sharing the port, one core each (SO_REUSEPORT; connections are "
        "spread among them); 0: one per CPU core this process may run on",
    ),
    ("workers", int, "threads running solves concurrently (per process)"),
    (
        "max_waiting",
        int,
        "calls that may wait for a free solver before calls are refused (per process)",
    ),
    (
        "max_concurrent_calls",
        int,
        "calls held at once (bounds memory; per process); more are refused",
    ),
    (
        "inline_max_cells",
        int,
        "ScoreProposals calls of at most this estimated work (cells: proposals x samples plus "
        "each proposal's, judge's, sheet's and score's own) run on the event loop, saving the "
        "hop to a solver thread; 0: always on a thread",
    ),
    ("reflection", bool, "serve gRPC server reflection"),
    ("log_level", str, "DEBUG, INFO, WARNING or ERROR"),
    ("log_format", str, "json (one JSON object per line) or text"),
    (
        "metrics_host",
        str,
        "interface of the Prometheus metrics endpoint (plain HTTP: bind it to an internal "
        "interface); empty: the same as --host",
    ),
    (
        "metrics_port",
        int,
        "port of the Prometheus metrics endpoint (HTTP /metrics); -1: no metrics; 0 picks a "
        "free port (printed at start-up)",
    ),
    ("tls_cert_file", str, "PEM certificate chain for TLS (with --tls-key-file)"),
    ("tls_key_file", str, "PEM private key for TLS"),
    ("tls_client_ca_file", str, "PEM CA that must sign client certificates (mutual TLS)"),
    ("token_file", str, "file of bearer tokens, one per line; calls must carry one"),
    ("max_message_bytes", int, "largest request or response message, in bytes"),
    ("max_criteria", int, "most criteria per request"),
    ("max_judges", int, "most judges per request"),
    ("max_proposals", int, "most proposals per request"),
    ("max_sheets", int, "most score sheets per request"),
    ("max_bootstrap_samples", int, "most bootstrap samples per request"),
    ("max_bootstrap_cells", int, "most proposals x bootstrap samples per request"),
    ("max_pools", int, "most funding pools per allocation request"),
    ("max_tiers", int, "most tier rules per allocation request"),
    ("max_score_bands", int, "most score bands per allocation request"),
    ("max_quotas", int, "most quotas per allocation request"),
    ("max_locked_decisions", int, "most locked decisions per allocation request"),
    ("max_needs", int, "most needs per matching request"),
    ("max_organizations", int, "most organizations per matching request"),
    ("max_mentors", int, "most mentors per mentor-matching request"),
    ("max_candidate_pairs", int, "most candidate (need, organization) pairs per request"),
    ("max_listed_pairs", int, "most forbidden plus fixed pairs per needs-matching request"),
    ("max_batch_rounds", int, "most rounds per BatchOptimizeRounds call"),
)
_LIMIT_NAMES = {f.name for f in fields(Limits)}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LOG_FORMATS = ("json", "text")


def env_name(setting: str) -> str:
    return "VENTURE_" + setting.upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; defaults are None so the environment can fill them."""
    for name, kind, help_text in _SETTINGS:
        flag = "--" + name.replace("_", "-")
        default = _default(name)
        full_help = f"{help_text} (env {env_name(name)}, default {default})"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=full_help)
        else:
            parser.add_argument(flag, type=str, metavar=kind.__name__.upper(), help=full_help)


def _default(name: str) -> object:
    if name in _LIMIT_NAMES:
        return getattr(Limits(), name)
    return getattr(ServerConfig(), name)


def _parse(name: str, kind: type, raw: object, source: str) -> object:
    if kind is bool and isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(text)
            return lowered in ("1", "true", "yes", "on")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"{source}: {text!r} is not a valid {kind.__name__}") from None
    return text


def load(
    args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None
) -> ServerConfig:
    """Build the config from parsed flags and the environment, checking every value."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for name, kind, _ in _SETTINGS:
        flag_value = getattr(args, name, None) if args is not None else None
        if flag_value is not None:
            values[name] = _parse(name, kind, flag_value, "--" + name.replace("_", "-"))
        elif env_name(name) in env:
            values[name] = _parse(name, kind, env[env_name(name)], env_name(name))
    limits = Limits(**{k: v for k, v in values.items() if k in _LIMIT_NAMES})  # type: ignore[arg-type]
    config = ServerConfig(
        **{k: v for k, v in values.items() if k not in _LIMIT_NAMES},  # type: ignore[arg-type]
        limits=limits,
    )
    config = replace(config, tokens=_tokens(config.token_file, env))
    check(config)
    return config


def _tokens(token_file: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """The bearer tokens: the token file's, else VENTURE_TOKENS' (comma-separated), else none
    (authentication off)."""
    try:
        if token_file:
            return read_tokens(Path(token_file))
        return parse_tokens(env.get(TOKENS_ENV, ""))
    except TokenError as error:
        raise ConfigError(f"token_file: {error}") from None


def check(config: ServerConfig) -> None:
    """Fail loudly on a value that cannot work."""
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port: {config.port} is outside 0..65535")
    if not config.host:
        raise ConfigError("host: must not be empty")
    if config.grace_period_s < 0:
        raise ConfigError(f"grace_period_s: {config.grace_period_s} must not be negative")
    if config.processes < 0:
        raise ConfigError(f"processes: {config.processes} must not be negative")
    if config.workers < 1:
        raise ConfigError(f"workers: {config.workers} must be at least 1")
    if config.max_waiting < 0:
        raise ConfigError(f"max_waiting: {config.max_waiting} must not be negative")
    if config.inline_max_cells < 0:
        raise ConfigError(f"inline_max_cells: {config.inline_max_cells} must not be negative")
    least = config.workers + config.max_waiting + 1
    if config.max_concurrent_calls < least:
        raise ConfigError(
            f"max_concurrent_calls: {config.max_concurrent_calls} must be at least workers + "
            f"max_waiting + 1 ({least}), leaving room for a health check"
        )
    if bool(config.tls_cert_file) != bool(config.tls_key_file):
        raise ConfigError("tls_cert_file and tls_key_file: give both for TLS, or neither")
    if config.tls_client_ca_file and not config.tls_cert_file:
        raise ConfigError("tls_client_ca_file: mutual TLS needs tls_cert_file and tls_key_file")
    for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
        path = getattr(config, name)
        if path and not Path(path).is_file():
            raise ConfigError(f"{name}: {path} is not a readable file")
    if config.log_level.upper() not in _LOG_LEVELS:
        raise ConfigError(f"log_level: {config.log_level!r} is not one of {', '.join(_LOG_LEVELS)}")
    if config.log_format.lower() not in _LOG_FORMATS:
        formats = " or ".join(_LOG_FORMATS)
        raise ConfigError(f"log_format: {config.log_format!r} is not {formats}")
    if not -1 <= config.metrics_port <= 65535:
        raise ConfigError(
            f"metrics_port: {config.metrics_port} is outside 0..65535 (or -1 for no metrics)"
        )
    if (
        config.metrics_port > 0
        and config.metrics_port == config.port
        and config.metrics_bind_host == config.host
    ):
        raise ConfigError(f"metrics_port: {config.metrics_port} is the gRPC port too")
    processes = config.process_count
    if (
        processes > 1
        and config.metrics_port > 0
        and config.metrics_port < config.port < config.metrics_port + processes
        and config.metrics_bind_host == config.host
    ):
        raise ConfigError(
            f"metrics_port: the {processes} processes serve metrics on {config.metrics_port}.."
            f"{config.metrics_port + processes - 1}, which holds the gRPC port {config.port}"
        )
    for limit in fields(Limits):
        value = getattr(config.limits, limit.name)
        if value < 1:
            raise ConfigError(f"{limit.name}: {value} must be at least 1")
