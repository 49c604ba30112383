"""``python -m motcua.services.deadlines``: run the deadlines service under uvicorn."""

from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, DeadlinesSettings)
