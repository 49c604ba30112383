"""``python -m motcua.services.queue``: run the queue service under uvicorn."""

from __future__ import annotations

import uvicorn

from motcua.services.queue.app import create_app
from motcua.services.queue.settings import QueueSettings


def main() -> None:
    settings = QueueSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
