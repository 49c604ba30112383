"""``python -m motcua.services.registry``: run the registry service under uvicorn."""

from motcua.services.registry.app import create_app
from motcua.services.registry.settings import RegistrySettings
from motcua.shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, RegistrySettings)
