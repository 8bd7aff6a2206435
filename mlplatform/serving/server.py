"""Run the scoring server: uvicorn on a bound socket, champion polling, logging, SIGTERM.

On SIGTERM (or SIGINT) uvicorn stops accepting connections and lets in-flight requests finish;
then the champion poller stops and the inference logger commits every buffered row before
`serve` returns.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from mlplatform.catalog.tables import payload_table
from mlplatform.feature_store.online import OnlineStore
from mlplatform.serving.app import ServingOptions, create_app
from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.lookup import OnlineFeatures
from mlplatform.serving.model_holder import ModelHolder
from mlplatform.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    """How `mlplatform serve` runs."""

    host: str = "127.0.0.1"
    port: int = 8080
    poll_seconds: float = 5.0
    logging: bool = True
    flush_rows: int = 1000
    flush_seconds: float = 5.0
    max_buffer_rows: int = 10_000
    graceful_seconds: float = 30.0
    options: ServingOptions = ServingOptions()
    model: str = ""
    """The registered model served (alias champion); its payload table is
    `serving/<model>_payload`."""
    online_table: str | None = None
    """The online store table features are looked up in (None: no lookup)."""


class _Server(uvicorn.Server):
    """uvicorn's server, telling `on_ready` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]):
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free port chosen by the system)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(settings: Settings, cfg: ServerConfig, on_ready: Callable[[str], None]) -> int:
    """Serve until SIGTERM or SIGINT; return the number of log rows that could not be saved.

    Raises:
        OSError: the address cannot be bound.
    """
    holder = ModelHolder(settings, poll_seconds=cfg.poll_seconds, name=cfg.model)
    holder.refresh()
    if holder.current is None:
        log.warning(
            "no %s@%s yet: answering 503 until there is one (%s)",
            holder.name,
            holder.alias,
            holder.last_error or "no such alias",
        )
    logger = None
    if cfg.logging:
        logger = InferenceLogger(
            payload_table(cfg.model).path(settings),
            cfg.flush_rows,
            cfg.flush_seconds,
            cfg.max_buffer_rows,
        )
        logger.start()
    holder.start()
    sock = bind(cfg.host, cfg.port)
    url = url_of(sock)
    features = None
    if cfg.online_table:
        features = OnlineFeatures(OnlineStore.from_settings(settings), cfg.online_table)
    app = create_app(holder, logger, cfg.options, features)
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=cfg.graceful_seconds,
        server_header=False,
    )
    server = _Server(config, lambda: on_ready(url))
    # uvicorn re-raises the signal that stopped it once it is done; with our handler in place
    # that re-raise is recorded instead of ending the process before the log is flushed
    received: list[int] = []
    previous = {
        s: signal.signal(s, lambda n, _f: received.append(n))
        for s in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        server.run(sockets=[sock])
    finally:
        holder.stop()
        if features is not None:
            features.store.close()
        unsaved = logger.close() if logger is not None else 0
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if unsaved:
        log.error("%d inference log rows could not be committed to %s", unsaved, logger.path)
    return unsaved
