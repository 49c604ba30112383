"""``motcua registry validate DIR``: check a province's center files and procedure
catalog without a database.

Prints every problem as ``file:line: field: message`` (the errors the service would
stop on) and exits 1, or one line per center (and one for the catalog) and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from motcua.services.registry.files import PROCEDURES_FILE, RegistryFilesError, load_registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua registry")
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser("validate", help="check a folder of center files")
    check.add_argument("folder", type=Path, help="the folder MOTCUA_REGISTRY_DIR would name")
    args = parser.parse_args(argv)
    try:
        files = load_registry(args.folder)
    except RegistryFilesError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    for f in files.centers:
        d = f.document
        print(
            f"{f.name}: {d.center_id} ({d.code}), {len(d.lines)} lines, {len(d.counters)} counters"
        )
    if files.procedures is not None:
        retired = sum(not p.active for p in files.procedures)
        print(f"{PROCEDURES_FILE}: {len(files.procedures)} procedures, {retired} retired")
    return 0
