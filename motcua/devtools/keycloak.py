"""Keycloak, a real OpenID Connect provider, for the sign-in tests and the dev stack.

Keycloak's server distribution (``org.keycloak:keycloak-quarkus-dist``, the version
``deploy/keycloak/pom.xml`` pins) is copied from the configured Maven repositories
with Maven, as Kafka's jars are, unpacked into a cache outside the repository, and
started in dev mode on loopback: an in-memory database, the realm of
``deploy/keycloak/motcua-realm.json`` imported at start (users ``dev-clerk`` and
``dev-leader``, the ``motcua`` client with PKCE, the mappers that put the center and
the role into the token), and an admin account for the admin REST API (key rotation).

Keycloak 26 needs Java 21 or newer: ``JAVA_HOME`` when it is one, else a JDK of
``JDK_CANDIDATES``, else a clear error. It starts in 30-120 s on a small machine; the
start waits on its readiness endpoint with a deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from motcua.devtools.embedded import (
    _REPO,
    EmbeddedError,
    _Child,
    cache_root,
    free_port,
    java_major,
    maven_available,
    maven_copy,
    pom_version,
)

KEYCLOAK_POM = _REPO / "deploy" / "keycloak" / "pom.xml"
REALM_FILE = _REPO / "deploy" / "keycloak" / "motcua-realm.json"
REALM = "motcua"
MIN_JAVA = 21
# Where Debian and Ubuntu put JDKs that are not the default ``java``.
JDK_CANDIDATES = (
    Path("/usr/lib/jvm/temurin-25-jdk-amd64"),
    Path("/usr/lib/jvm/temurin-21-jdk-amd64"),
    Path("/usr/lib/jvm/java-25-openjdk-amd64"),
    Path("/usr/lib/jvm/java-21-openjdk-amd64"),
)
ADMIN_USER = "admin"
# The dev-mode admin of a Keycloak that listens on loopback and keeps nothing on disk.
ADMIN_PASSWORD = "dev-only-keycloak-admin"


def keycloak_version() -> str:
    """The Keycloak version the repository pins (deploy/keycloak/pom.xml)."""
    return pom_version(KEYCLOAK_POM, "keycloak.version")


def keycloak_home() -> Path:
    """The unpacked distribution, one folder a version."""
    return cache_root() / f"keycloak-{keycloak_version()}"


def java_home() -> Path:
    """A JDK of Java 21 or newer: ``JAVA_HOME`` first, then the usual places."""
    tried: list[str] = []
    env = os.environ.get("JAVA_HOME")
    for home in ([Path(env)] if env else []) + list(JDK_CANDIDATES):
        java = home / "bin" / "java"
        if java.exists():
            major = java_major(str(java))
            if major >= MIN_JAVA:
                return home
            tried.append(f"{home} (Java {major or '?'})")
    raise EmbeddedError(
        f"Keycloak {keycloak_version()} needs Java {MIN_JAVA} or newer and none was found"
        + (f" (found only {', '.join(tried)})" if tried else "")
        + ": install one (Debian: apt-get install openjdk-21-jdk-headless) or point "
        "JAVA_HOME at one"
    )


def fetch(*, say: Any = None) -> Path:
    """The unpacked distribution, fetched with Maven and unpacked on first use. A marker
    written last makes a half-finished copy count as absent."""
    home = keycloak_home()
    done = home / ".complete"
    if done.exists():
        return home
    what = f"Keycloak {keycloak_version()}"
    maven_available(f"{what} is not in {home}, and fetching it", "keycloak")
    if say is not None:
        say(f"fetching {what} into {home} (Maven, about 160 MB)…")
    shutil.rmtree(home, ignore_errors=True)
    download = home.parent / f"{home.name}.download"
    maven_copy(KEYCLOAK_POM, download, what, "keycloak", "-DincludeTypes=zip",
               "-DexcludeTransitive=true")  # fmt: skip
    archive = download / f"keycloak-quarkus-dist-{keycloak_version()}.zip"
    if not archive.exists():
        raise EmbeddedError(f"Maven copied no {archive.name} into {download}")
    unpacked = home.parent / f"{home.name}.unpack"
    shutil.rmtree(unpacked, ignore_errors=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(unpacked)
    # The archive holds one folder, keycloak-<version>; zipfile drops the exec bits.
    (inner,) = unpacked.iterdir()
    inner.rename(home)
    unpacked.rmdir()
    for script in (home / "bin").glob("*.sh"):
        script.chmod(0o755)
    shutil.rmtree(download, ignore_errors=True)
    done.write_text(keycloak_version())
    return home


class Keycloak(_Child):
    """One Keycloak in dev mode on loopback with the motcua realm imported, its
    database in memory: every start begins from the realm file."""

    def __init__(self, port: int | None = None, *, log_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.management_port = free_port()
        self.log_dir = (log_dir or Path(".motcua")).resolve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{REALM}"

    def start(self, timeout: float = 180, *, wait: bool = True) -> Keycloak:
        jdk = java_home()
        home = fetch(say=lambda line: print(line, flush=True))
        imports = home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REALM_FILE, imports / REALM_FILE.name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = os.environ | {
            "JAVA_HOME": str(jdk),
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # Enough for one realm and a few users; the default takes a quarter of RAM.
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m",
        }
        self._spawn(
            [str(home / "bin" / "kc.sh"), "start-dev", "--http-host=127.0.0.1",
             f"--http-port={self.port}", f"--http-management-port={self.management_port}",
             "--health-enabled=true", "--db=dev-mem", "--import-realm"],
            self.log_dir / f"keycloak-{self.port}.log",
            env=env,
        )  # fmt: skip
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 180) -> None:
        """Wait for the readiness endpoint, then for the realm's discovery document (the
        realm is imported before Keycloak reports ready, but a check costs nothing)."""
        deadline = time.monotonic() + timeout
        checks = [
            f"http://127.0.0.1:{self.management_port}/health/ready",
            f"{self.issuer}/.well-known/openid-configuration",
        ]
        while checks:
            if self.proc is not None and self.proc.poll() is not None:
                raise EmbeddedError(
                    f"Keycloak exited with {self.proc.returncode} while starting; see "
                    f"{self.log_dir / f'keycloak-{self.port}.log'}"
                )
            try:
                if httpx.get(checks[0], timeout=2).status_code == 200:
                    checks.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise EmbeddedError(f"Keycloak was not ready after {timeout:.0f}s ({checks[0]})")
            time.sleep(0.5)

    # ----------------------------------------------------------------- admin REST API

    def admin_token(self) -> str:
        response = httpx.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def rotate_keys(self) -> None:
        """Rotate the realm's signing key the way an operator does: a new RSA key with a
        higher priority signs from now on; the old one stays published (tokens it signed
        still verify until they expire)."""
        headers = {"authorization": f"Bearer {self.admin_token()}"}
        realm = httpx.get(f"{self.url}/admin/realms/{REALM}", headers=headers, timeout=10)
        realm.raise_for_status()
        response = httpx.post(
            f"{self.url}/admin/realms/{REALM}/components",
            headers=headers,
            json={
                "name": f"rsa-rotated-{int(time.time() * 1000)}",
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm.json()["id"],
                "config": {"priority": [str(int(time.time()))], "algorithm": ["RS256"]},
            },
            timeout=10,
        )
        response.raise_for_status()

    def password_token(
        self, username: str, password: str | None = None, *, client_id: str = "motcua-tests"
    ) -> str:
        """An access token by the password grant of the realm's test client (never
        enabled at a real provider): the quickest way for a test to hold one."""
        response = httpx.post(
            f"{self.issuer}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": username,
                "password": password or username,
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def keycloak_command(action: str, *, port: int = 8080) -> int:
    """``motcua keycloak fetch|check|run``: fetch the distribution, say whether Java 21+
    is here (CI runs it before the tier, to say plainly what is missing), or run
    Keycloak in the foreground until Ctrl-C, for trying single sign-on locally."""
    import sys

    try:
        if action == "check":
            print(f"Keycloak {keycloak_version()} will run on {java_home()}")
        elif action == "fetch":
            java_home()  # say now, not at the first start, that Java is missing
            print(f"Keycloak {keycloak_version()} is in {fetch(say=print)}")
        else:
            return _run(port)
    except EmbeddedError as exc:
        print(f"motcua keycloak: {exc}", file=sys.stderr)
        return 1
    return 0


def _stop_running(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(port: int) -> int:
    # Ctrl-C, and a TERM from a supervisor, both stop Keycloak with us (a shell that
    # started us in the background would otherwise leave SIGINT ignored).
    signal.signal(signal.SIGINT, _stop_running)
    signal.signal(signal.SIGTERM, _stop_running)
    server = Keycloak(port, log_dir=Path(".motcua"))
    print(f"starting Keycloak on {server.url} (30-120 s)…", flush=True)
    try:
        server.start()
        print(
            f"Keycloak is ready. Point the services at it:\n"
            f"  MOTCUA_OIDC_ISSUER={server.issuer} MOTCUA_OIDC_PROVIDER_NAME=Keycloak motcua dev\n"
            f"Users dev-clerk and dev-leader (password = user name); admin console "
            f"{server.url}/admin ({ADMIN_USER} / {ADMIN_PASSWORD}). Ctrl-C stops it.",
            flush=True,
        )
        while server.proc is not None and server.proc.poll() is None:
            time.sleep(1)
        return 1  # it ended on its own
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
