"""ServerConfig: defaults on loopback, environment and flags, loud failures."""

import argparse

import pytest

from service import config


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_run_on_loopback_without_configuration() -> None:
    loaded = config.load(_args(), env={})
    assert loaded == config.ServerConfig()
    assert loaded.address == "127.0.0.1:50051"


def test_environment_then_flags_take_precedence() -> None:
    env = {"VENTURE_PORT": "6000", "VENTURE_MAX_PROPOSALS": "10", "VENTURE_REFLECTION": "false"}
    from_env = config.load(_args(), env=env)
    assert (from_env.port, from_env.limits.max_proposals, from_env.reflection) == (6000, 10, False)
    from_flags = config.load(_args("--port", "7000", "--reflection"), env=env)
    assert (from_flags.port, from_flags.limits.max_proposals, from_flags.reflection) == (
        7000,
        10,
        True,
    )


def test_allocation_limits_are_settings_like_the_others() -> None:
    env = {"VENTURE_MAX_POOLS": "3", "VENTURE_MAX_QUOTAS": "40"}
    loaded = config.load(_args("--max-locked-decisions", "7", "--max-score-bands", "5"), env=env)
    limits = loaded.limits
    assert (limits.max_pools, limits.max_quotas) == (3, 40)
    assert (limits.max_locked_decisions, limits.max_score_bands, limits.max_tiers) == (
        7,
        5,
        config.Limits().max_tiers,
    )


def test_inline_scoring_limit_from_environment_and_flags() -> None:
    assert config.load(_args(), env={}).inline_max_cells == 100_000
    env = {"VENTURE_INLINE_MAX_CELLS": "0"}  # the fast path off
    assert config.load(_args(), env=env).inline_max_cells == 0
    assert config.load(_args("--inline-max-cells", "25000"), env=env).inline_max_cells == 25_000


def test_ipv6_host_is_bracketed() -> None:
    assert config.ServerConfig(host="::1", port=1).address == "[::1]:1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VENTURE_PORT": "http"}, "VENTURE_PORT: 'http' is not a valid int"),
        ({"VENTURE_PORT": "70000"}, "port: 70000 is outside 0..65535"),
        ({"VENTURE_WORKERS": "0"}, "workers: 0 must be at least 1"),
        ({"VENTURE_INLINE_MAX_CELLS": "-1"}, "inline_max_cells: -1 must not be negative"),
        ({"VENTURE_INLINE_MAX_CELLS": "1e5"}, "VENTURE_INLINE_MAX_CELLS: '1e5' is not a valid int"),
        ({"VENTURE_GRACE_PERIOD_S": "-1"}, "grace_period_s: -1.0 must not be negative"),
        ({"VENTURE_REFLECTION": "maybe"}, "VENTURE_REFLECTION: 'maybe' is not a valid bool"),
        ({"VENTURE_LOG_LEVEL": "LOUD"}, "log_level: 'LOUD' is not one of"),
        ({"VENTURE_MAX_SHEETS": "0"}, "max_sheets: 0 must be at least 1"),
        ({"VENTURE_MAX_POOLS": "0"}, "max_pools: 0 must be at least 1"),
        ({"VENTURE_MAX_QUOTAS": "many"}, "VENTURE_MAX_QUOTAS: 'many' is not a valid int"),
        ({"VENTURE_LOG_FORMAT": "xml"}, "log_format: 'xml' is not json or text"),
        (
            {"VENTURE_MAX_CONCURRENT_CALLS": "10"},
            "max_concurrent_calls: 10 must be at least workers",
        ),
        ({"VENTURE_METRICS_PORT": "70000"}, "metrics_port: 70000 is outside 0..65535"),
        ({"VENTURE_METRICS_PORT": "-2"}, "metrics_port: -2 is outside 0..65535 (or -1"),
        ({"VENTURE_METRICS_PORT": "x"}, "VENTURE_METRICS_PORT: 'x' is not a valid int"),
        (
            {"VENTURE_PORT": "6000", "VENTURE_METRICS_PORT": "6000"},
            "metrics_port: 6000 is the gRPC port too",
        ),
    ],
)
def test_bad_values_fail_loudly_naming_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        config.load(_args(), env=env)


def test_metrics_and_log_format_settings() -> None:
    defaults = config.load(_args(), env={})
    assert (defaults.metrics_port, defaults.metrics_host, defaults.log_format) == (-1, "", "json")
    assert defaults.metrics_bind_host == "127.0.0.1"
    env = {"VENTURE_METRICS_PORT": "9464", "VENTURE_LOG_FORMAT": "text"}
    from_env = config.load(_args(), env=env)
    assert (from_env.metrics_port, from_env.log_format) == (9464, "text")
    from_flags = config.load(
        _args("--metrics-port", "0", "--metrics-host", "10.0.0.5", "--log-format", "JSON"), env=env
    )
    assert (from_flags.metrics_port, from_flags.metrics_host) == (0, "10.0.0.5")
    assert from_flags.metrics_bind_host == "10.0.0.5" and from_flags.log_format == "JSON"
    assert config.load(_args("--metrics-port", "-1"), env=env).metrics_port == -1
    # The same port number on another interface is allowed.
    other = {"VENTURE_PORT": "6000", "VENTURE_METRICS_PORT": "6000", "VENTURE_METRICS_HOST": "::1"}
    assert config.load(_args(), env=other).metrics_port == 6000
