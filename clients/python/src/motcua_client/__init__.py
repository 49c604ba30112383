"""Client library for motcua clerk apps: typed commands for ``intake.commands``, the
clerk HTTP calls of intake and queue, and thin transports for both."""

from motcua_client.builders import Commands
from motcua_client.bus import CommandPublisher, Rejection, RejectionWatcher
from motcua_client.commands import Command
from motcua_client.credentials import ClerkCredentials, CredentialsError
from motcua_client.http import ApiError, ClerkClient

__all__ = [
    "ApiError",
    "ClerkClient",
    "ClerkCredentials",
    "Command",
    "CommandPublisher",
    "Commands",
    "CredentialsError",
    "Rejection",
    "RejectionWatcher",
]
