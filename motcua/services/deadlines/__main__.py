"""``python -m motcua.services.deadlines``: run the deadlines service under uvicorn."""

from __future__ import annotations

import uvicorn

from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.settings import DeadlinesSettings


def main() -> None:
    settings = DeadlinesSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
