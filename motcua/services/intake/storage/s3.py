"""The S3 backend: a blob as one object in an S3-compatible store (AWS S3, MinIO,
Ceph RGW, Garage), path-style, signed with AWS Signature Version 4.

A small client on ``httpx`` rather than ``aiobotocore``: the store needs four calls
(PUT, GET, DELETE and a bucket check), each streamed, and botocore would bring a large
dependency whose async wrapper buffers what we want streamed. The body is sent as
``UNSIGNED-PAYLOAD`` with its declared ``Content-Length``: the payload cannot be hashed
before it is sent without holding it, and TLS protects it in transit; S3 writes an
object whole or not at all, so an upload cut short leaves no partial object.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote, urlsplit

import asyncpg
import httpx

from motcua.services.intake.storage import StorageUnavailable

UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(StorageUnavailable):
    """The object store could not be reached, or refused or failed a request: the
    upload or download is answered 503, and nothing is recorded."""


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # e.g. https://s3.example.vn or http://127.0.0.1:9000
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    prefix: str = "documents/"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class S3Client:
    """Signed requests to one bucket."""

    def __init__(self, config: S3Config, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        self._host = urlsplit(config.endpoint).netloc

    def _url_path(self, key: str) -> str:
        return "/" + quote(self.config.bucket) + ("/" + quote(key) if key else "")

    def signed_headers(
        self,
        method: str,
        path: str,
        payload_hash: str,
        extra: dict[str, str] | None = None,
        query: str = "",
    ) -> dict[str, str]:
        """The headers of a SigV4-signed request (no query string)."""
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        headers = {
            "host": self._host,
            "x-amz-content-sha256": payload_hash,
            "x-amz-date": stamp,
            **{k.lower(): v for k, v in (extra or {}).items()},
        }
        names = sorted(headers)
        canonical = "\n".join(
            [
                method,
                path,
                query,
                *(f"{n}:{headers[n].strip()}" for n in names),
                "",
                ";".join(names),
                payload_hash,
            ]
        )
        scope = f"{day}/{self.config.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = _hmac(("AWS4" + self.config.secret_key).encode(), day)
        for part in (self.config.region, "s3", "aws4_request"):
            key = _hmac(key, part)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.config.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        del headers["host"]  # httpx sets it from the URL
        return headers

    async def request(
        self,
        method: str,
        key: str,
        *,
        content: AsyncIterator[bytes] | bytes | None = None,
        size: int | None = None,
    ) -> httpx.Response:
        path = self._url_path(key)
        extra = {"content-length": str(size)} if size is not None else None
        if content is None or isinstance(content, bytes):
            payload = hashlib.sha256(content or b"").hexdigest()
        else:
            payload = UNSIGNED
        headers = self.signed_headers(method, path, payload, extra)
        try:
            return await self.http.request(
                method, self.config.endpoint.rstrip("/") + path, content=content, headers=headers
            )
        except httpx.TransportError as exc:
            raise S3Error(f"{method} {key or '(bucket)'}: {type(exc).__name__}") from exc

    async def ensure_bucket(self) -> None:
        r = await self.request("HEAD", "")
        if r.status_code == 404:
            r = await self.request("PUT", "")
        if r.status_code >= 300 and r.status_code != 409:
            raise S3Error(f"bucket {self.config.bucket!r}: HTTP {r.status_code}")

    async def put(self, key: str, chunks: AsyncIterator[bytes], size: int) -> None:
        r = await self.request("PUT", key, content=chunks, size=size)
        if r.status_code != 200:
            raise S3Error(f"PUT {key}: HTTP {r.status_code} {r.text[:200]}")

    async def get(self, key: str) -> AsyncIterator[bytes]:
        path = self._url_path(key)
        headers = self.signed_headers("GET", path, EMPTY_SHA256)
        try:
            async with self.http.stream(
                "GET", self.config.endpoint.rstrip("/") + path, headers=headers
            ) as r:
                if r.status_code != 200:
                    raise S3Error(f"GET {key}: HTTP {r.status_code}")
                async for chunk in r.aiter_bytes():
                    yield chunk
        except httpx.TransportError as exc:
            raise S3Error(f"GET {key}: {type(exc).__name__}") from exc

    async def delete(self, key: str) -> None:
        r = await self.request("DELETE", key)
        if r.status_code not in (200, 204, 404):
            raise S3Error(f"DELETE {key}: HTTP {r.status_code}")

    async def objects(self) -> list[tuple[str, int]]:
        """Key and size of every object under the prefix (the first 1000: for the tests
        and the benchmark, which count what the store holds)."""
        path = self._url_path("")
        query = f"list-type=2&prefix={quote(self.config.prefix, safe='')}"
        headers = self.signed_headers("GET", path, EMPTY_SHA256, query=query)
        url = f"{self.config.endpoint.rstrip('/')}{path}?{query}"
        r = await self.http.get(url, headers=headers)
        if r.status_code != 200:
            raise S3Error(f"LIST: HTTP {r.status_code}")
        found = re.findall(r"<Key>([^<]+)</Key>.*?<Size>(\d+)</Size>", r.text, re.DOTALL)
        return [(key, int(size)) for key, size in found]

    async def keys(self) -> list[str]:
        return [key for key, _ in await self.objects()]

    async def aclose(self) -> None:
        await self.http.aclose()


class S3Backend:
    name: Literal["s3"] = "s3"
    outside_transaction = True

    def __init__(self, client: S3Client) -> None:
        self.client = client

    def _key(self, location: str) -> str:
        return self.client.config.prefix + location

    async def write(
        self, conn: asyncpg.Connection, location: str, chunks: AsyncIterator[bytes], size: int
    ) -> None:
        await self.client.put(self._key(location), chunks, size)

    def read(self, location: str) -> AsyncIterator[bytes]:
        return self.client.get(self._key(location))

    async def discard(self, location: str) -> None:
        if location:
            await self.client.delete(self._key(location))

    async def delete(self, conn: asyncpg.Connection, location: str) -> None:
        await self.client.delete(self._key(location))
