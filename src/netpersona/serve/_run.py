"""Running the app under uvicorn, as ``netpersona serve`` does."""

from __future__ import annotations

import logging
import signal

from netpersona.serve._app import create_app
from netpersona.serve._settings import ServeSettings

#: seconds SIGTERM waits for requests in flight before the writer is flushed and closed
GRACEFUL_SECONDS = 30


def run(settings: ServeSettings, *, log_level: str = "info") -> None:
    """Serve until SIGTERM / SIGINT: requests in flight finish, queued reports are written and
    fsynced, then the process exits 0. uvicorn's access log is off: it would print raw paths,
    and a path may hold a subscriber id (``/v1/devices/{user}/tier``); the service logs routes
    and masked ids itself."""
    import uvicorn

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    # uvicorn handles SIGTERM/SIGINT itself (graceful stop) and then re-raises the signal to
    # the handler that was there before; a no-op handler there makes a clean stop exit 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        server_header=False,
    )


def _stopped(signum: int, _frame) -> None:
    logging.getLogger("netpersona.serve").info("stopped by signal %d", signum)
