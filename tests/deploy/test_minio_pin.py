"""CI builds the MinIO the S3 tests and the benchmark start, at the version the
developer tool names in its "how to get it" message: one pin, said twice."""

from __future__ import annotations

import re

from motcua.devtools.minio import HOW_TO_GET, MINIO_MODULE
from motcua.devtools.services import ROOT


def test_ci_builds_the_minio_the_tools_name() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pinned = re.search(r"^MINIO_VERSION=(\S+)$", script, re.MULTILINE)
    assert pinned is not None, ".ci/run pins no MinIO"
    assert f"github.com/minio/minio@{pinned[1]}" == MINIO_MODULE
    assert 'go install "github.com/minio/minio@${MINIO_VERSION}"' in script
    assert f"go install {MINIO_MODULE}" in HOW_TO_GET
