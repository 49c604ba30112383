"""``python -m motcua.services.notify``: run the notify service under uvicorn."""

from __future__ import annotations

import uvicorn

from motcua.services.notify.app import create_app
from motcua.services.notify.settings import NotifySettings


def main() -> None:
    settings = NotifySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
