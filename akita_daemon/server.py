"""Run the daemon's application under uvicorn.

uvicorn is an asynchronous server, so that long polls can hold their
connections open for as long as they need without holding a thread each.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn

from akita_daemon.app import build_app
from akita_daemon.daemon import Daemon
from akita_daemon.settings import Settings

logger = logging.getLogger(__name__)

# Allocations between two collections of the youngest generation.
_GC_THRESHOLD = 20_000


def _console_lifespan(daemon: Daemon) -> Callable[[], Any] | None:
    if not daemon.settings.console_mode:
        return None

    from akita_daemon.console import ConsoleLink

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        link = ConsoleLink(daemon)
        await link.start()
        try:
            yield
        finally:
            await link.close()

    return lifespan


def serve(settings: Settings) -> None:
    """Serve until interrupted (SIGINT or SIGTERM)."""
    daemon = Daemon(settings)
    app = build_app(daemon, _console_lifespan(daemon))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=max(5, int(settings.long_poll_timeout) + 5),
        lifespan="on",
    )
    mode = f"console {settings.console_url}" if settings.console_mode else "local"
    logger.info(
        "Daemon %s listening on %s:%d (%s mode), data in %s",
        settings.name,
        settings.host,
        settings.port,
        mode,
        settings.data_dir,
    )
    _tune_garbage_collector()
    uvicorn.Server(config).run()


def _tune_garbage_collector() -> None:
    """Collect cycles less often than Python's default.

    Ingest makes and drops tens of thousands of containers a batch (parsed
    and obfuscated witnesses) that hold no cycles, so the default threshold
    (a collection every 700 allocations) spends time finding nothing. What
    the daemon has made by now (modules, settings) is moved out of the
    collector's sight for good.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])
