"""``python -m motcua.services.notify``: run the notify service under uvicorn."""

from motcua.services.notify.app import create_app
from motcua.services.notify.settings import NotifySettings
from motcua.shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, NotifySettings)
