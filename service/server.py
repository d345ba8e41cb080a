"""Build the grpc.aio server (bindable to port 0 for tests) apart from running it until SIGTERM.

`create_server` wires the servicer, the interceptor, health and reflection and binds the port
(and, with a metrics port, starts the Prometheus endpoint on it); `serve` runs it: SIGTERM or
SIGINT -> health NOT_SERVING -> in-flight calls get the grace period to finish -> exit.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from scoring.engine import warm_up
from service.admission import Admission
from service.auth import BearerAuthInterceptor
from service.config import ServerConfig
from service.interceptor import InFlight, ServiceInterceptor
from service.metrics import Metrics, start_exporter
from service.servicer import SERVICE_NAME, VentureServicer
from venture.v1 import venture_service_pb2, venture_service_pb2_grpc

log = logging.getLogger("venture.server")
RESPONSE_FLUSH_S = 0.5
"""How long a draining server lingers after its last call so clients read the responses."""


@dataclass(slots=True)
class RunningServer:
    """A bound (not yet started) server and the parts its owner needs to stop it cleanly."""

    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer
    executor: ThreadPoolExecutor
    in_flight: InFlight
    metrics: Metrics | None = None
    metrics_http: WSGIServer | None = None
    """The Prometheus endpoint's HTTP server (None: no metrics port configured)."""
    metrics_thread: threading.Thread | None = None

    @property
    def metrics_port(self) -> int | None:
        """The bound metrics port, or None when no metrics endpoint runs."""
        return None if self.metrics_http is None else int(self.metrics_http.server_address[1])

    async def start(self) -> None:
        """Warm the engine's caches, then start serving and report SERVING."""
        await asyncio.get_running_loop().run_in_executor(self.executor, warm_up)
        # Everything alive now (the imported libraries: several hundred thousand objects) lives
        # as long as the server. Frozen, the cyclic collector stops scanning it on every full
        # collection that a call's allocations trigger: that scan cost about a fifth of a
        # county ScoreProposals call's CPU time under load.
        gc.collect()
        gc.freeze()
        await self.server.start()
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace_s: float) -> None:
        """Report NOT_SERVING, give in-flight calls `grace_s` seconds to finish, then stop."""
        started = asyncio.get_running_loop().time()
        await self.health.enter_graceful_shutdown()
        # Wait for the calls ourselves, with the connections still open: grpc's own stop()
        # returns once the last status is handed to the transport and closes the connections
        # at once, so a client could lose a response the server had sent (a reset socket).
        # The short linger lets the last responses reach their clients.
        try:
            await asyncio.wait_for(self.in_flight.wait_idle(), timeout=grace_s)
            await asyncio.sleep(RESPONSE_FLUSH_S)
        except TimeoutError:
            pass
        left = max(grace_s - (asyncio.get_running_loop().time() - started), 0.0)
        await self.server.stop(left)
        self.executor.shutdown(wait=False, cancel_futures=True)
        await self._stop_metrics()

    async def _stop_metrics(self) -> None:
        """Stop the metrics endpoint (last, so it can be scraped while calls drain)."""
        http, thread = self.metrics_http, self.metrics_thread
        if http is None:
            return
        # shutdown() blocks until the serving loop notices (up to half a second): not on the loop.
        await asyncio.to_thread(http.shutdown)
        http.server_close()
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)


def create_server(config: ServerConfig, *, reuse_port: bool = False) -> RunningServer:
    """Build and bind the server; with port 0 the OS picks a free port (see `.port`). With
    config.metrics_port >= 0, the metrics endpoint is started too (see `.metrics_port`).

    reuse_port: bind with SO_REUSEPORT, sharing the port with the other processes of
    `venture serve --processes N` (service.processes). Off otherwise, so that a second server
    started on a port in use fails instead of silently taking half its connections."""
    message_limit = config.limits.max_message_bytes
    in_flight = InFlight()
    metrics = Metrics()
    interceptors: list[grpc.aio.ServerInterceptor] = [ServiceInterceptor(in_flight, metrics)]
    if config.tokens:
        # Inside the service interceptor, so a refused call is logged with its code.
        interceptors.append(BearerAuthInterceptor(config.tokens))
    server = grpc.aio.server(
        interceptors=interceptors,
        maximum_concurrent_rpcs=config.max_concurrent_calls,
        options=[
            ("grpc.max_receive_message_length", message_limit),
            ("grpc.max_send_message_length", message_limit),
            ("grpc.so_reuseport", int(reuse_port)),
        ],
    )
    executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="venture-solve")
    admission = Admission(config.workers, config.max_waiting)
    metrics.watch_admission(admission)
    servicer = VentureServicer(
        config.limits, executor, admission, metrics, inline_max_cells=config.inline_max_cells
    )
    venture_service_pb2_grpc.add_VentureServiceServicer_to_server(servicer, server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    if config.reflection:
        names = (
            venture_service_pb2.DESCRIPTOR.services_by_name["VentureService"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, server)
    credentials = server_credentials(config)
    try:
        if credentials is None:
            port = server.add_insecure_port(config.address)
        else:
            port = server.add_secure_port(config.address, credentials)
    except RuntimeError:  # grpc's "Failed to bind", which says no more than that
        port = 0
    if port == 0:
        raise OSError(
            f"cannot listen on {config.address}: the port is in use, or the host is not an "
            "address of this machine"
        )
    running = RunningServer(server, port, health, executor, in_flight, metrics)
    if config.metrics_port >= 0:
        http, thread = start_exporter(metrics, config.metrics_bind_host, config.metrics_port)
        running.metrics_http, running.metrics_thread = http, thread
    return running


def server_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured PEM files (mutual TLS with a client CA); None: plain
    text, for loopback or behind a TLS-terminating proxy."""
    if not config.tls_cert_file:
        return None
    chain = Path(config.tls_cert_file).read_bytes()
    key = Path(config.tls_key_file).read_bytes()
    client_ca = Path(config.tls_client_ca_file).read_bytes() if config.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


async def serve(config: ServerConfig, *, reuse_port: bool = False) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully (reuse_port: see create_server)."""
    running = create_server(config, reuse_port=reuse_port)
    await running.start()
    host = f"[{config.host}]" if ":" in config.host else config.host
    # The exact wording is read by scripts/demo and the tests to learn the port.
    print(f"venture listening on {host}:{running.port}", flush=True)
    if running.metrics_port is not None:
        metrics_host = config.metrics_bind_host
        metrics_host = f"[{metrics_host}]" if ":" in metrics_host else metrics_host
        print(f"venture metrics on {metrics_host}:{running.metrics_port}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("shutting down: health NOT_SERVING, grace period %.1fs", config.grace_period_s)
    await running.stop(config.grace_period_s)
    log.info("stopped")
