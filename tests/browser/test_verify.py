"""The verification page's file check in a real browser: its script streams the copy to
the API and opens the verdict for the hash it answered (the genuine case is held in
tests/integration/intake/test_documents.py; here, what only the script does)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from tests.browser.conftest import Stack, browsing, page_errors

PHONE = {"width": 360, "height": 740}


async def test_a_copy_not_issued_by_us_says_so_and_an_empty_one_is_named(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    copy = tmp_path / "ket-qua.pdf"
    copy.write_bytes(b"%PDF-1.7\n" + os.urandom(20_000))
    empty = tmp_path / "rong.pdf"
    empty.write_bytes(b"")
    errors: list[str] = []
    async with browsing(browser, viewport=PHONE, is_mobile=True) as citizen:
        page = await citizen.new_page()
        page_errors(page, errors)
        await page.goto(f"{stack.intake}/verify")
        # Hidden without the script: the script shows it.
        await page.get_by_test_id("verify-file-form").wait_for(state="visible")

        await page.get_by_test_id("verify-file").set_input_files(str(empty))
        await page.get_by_test_id("verify-file-submit").click()
        problem = page.get_by_test_id("verify-file-error")
        await problem.wait_for(state="visible")
        assert "rỗng" in (await problem.text_content() or "")

        await page.get_by_test_id("verify-file").set_input_files(str(copy))
        await page.get_by_test_id("verify-file-submit").click()
        await page.get_by_test_id("verify-not-ours").wait_for(state="visible")
        assert hashlib.sha256(copy.read_bytes()).hexdigest() in await page.content()
    # "Not issued by us" is a 404 page, which the browser logs as a failed load; any
    # other error (a script error, a CSP violation) fails.
    verdict = "status of 404 (Not Found) at " + stack.intake + "/verify?sha256="
    assert [e for e in errors if verdict not in e] == []
