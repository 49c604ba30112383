"""``python -m motcua.services.intake``: run the intake service under uvicorn."""

from motcua.services.intake.app import create_app
from motcua.services.intake.settings import IntakeSettings
from motcua.shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, IntakeSettings)
