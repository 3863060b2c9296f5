"""AkitaMiddleware: send the application's traffic to the Akita daemon.

Add ``"akita_django.middleware.AkitaMiddleware"`` first in ``MIDDLEWARE``
and set ``AKITA_SERVICE_NAME``. While the daemon has no trace active for
the service, a request costs one attribute check. While a trace is active,
each sampled request becomes a witness on a bounded queue that background
threads send to the daemon. The middleware's own failures are logged and
swallowed: the request goes on untouched.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from akita_django.conf import read_middleware_settings
from akita_django.sender import ActiveTrace, link_for
from akita_django.witness import capture_exchange

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], Any]


class AkitaMiddleware:
    """Capture requests and responses for the traces the daemon activates."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.settings = read_middleware_settings()
        self.link = link_for(self.settings)
        self._use_forwarded_host = bool(
            getattr(settings, "USE_X_FORWARDED_HOST", False)
        )
        self._has_proxy_ssl_header = bool(
            getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        )
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self.__acall__(request)
        if self.link.idle:
            return self.get_response(request)

        started, clock = self._start()
        response = self.get_response(request)
        self._capture(request, response, started, clock)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        get_response: Callable[[HttpRequest], Awaitable[Any]] = self.get_response
        if self.link.idle:
            return await get_response(request)

        started, clock = self._start()
        response = await get_response(request)
        self._capture(request, response, started, clock)
        return response

    def _start(self) -> tuple[float, float]:
        try:
            self.link.ensure_started()
        except Exception:
            logger.error("akita_middleware: cannot start", exc_info=True)
        return time.time(), time.perf_counter()

    def _capture(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        started: float,
        clock: float,
    ) -> None:
        elapsed_ms = (time.perf_counter() - clock) * 1000
        try:
            chosen = [trace for trace in self.link.traces if _is_sampled(trace)]
            if not chosen:
                return
            # Only what the witness needs is taken here; the sender thread
            # builds the witnesses, many at a time.
            exchange = capture_exchange(
                request,
                response,
                started=started,
                elapsed_ms=elapsed_ms,
                max_body_bytes=self.settings.max_body_bytes,
                use_forwarded_host=self._use_forwarded_host,
                has_proxy_ssl_header=self._has_proxy_ssl_header,
            )
            for trace in chosen:
                self.link.offer(trace, exchange)
        except Exception:
            logger.error(
                "akita_middleware: cannot capture %s %s",
                request.method,
                request.path,
                exc_info=True,
            )


def _is_sampled(trace: ActiveTrace) -> bool:
    rate = trace.sampling_rate
    return rate >= 1.0 or (rate > 0.0 and random.random() < rate)
