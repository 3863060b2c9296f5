"""Run the daemon's application under uvicorn.

uvicorn is an asynchronous server, so that long polls can hold their
connections open for as long as they need without holding a thread each.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn

from akita_daemon.app import build_app
from akita_daemon.daemon import Daemon
from akita_daemon.settings import Settings

logger = logging.getLogger(__name__)


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
    uvicorn.Server(config).run()
