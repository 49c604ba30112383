"""``python -m motcua.services.intake``: run the intake service under uvicorn."""

from __future__ import annotations

import uvicorn

from motcua.services.intake.app import create_app
from motcua.services.intake.settings import IntakeSettings


def main() -> None:
    settings = IntakeSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
