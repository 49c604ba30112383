"""``python -m motcua.services.queue``: run the queue service under uvicorn."""

from motcua.services.queue.app import create_app
from motcua.services.queue.settings import QueueSettings
from motcua.shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, QueueSettings)
