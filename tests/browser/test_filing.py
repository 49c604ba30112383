"""Filing from home, end to end in a real browser: a citizen files a dossier with two
attachments on a phone, a clerk sees it on the acceptance screen, opens a file and
accepts it, and the citizen's lookup then shows the new status and the appointment."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import CENTER, Stack, browsing, page_errors, shot

PHONE = {"width": 360, "height": 740}
PROCEDURE = "HT-XNTTHN"  # three components, the third "(if any)"


def files(tmp_path: Path) -> tuple[Path, Path]:
    form = tmp_path / "to-khai.pdf"
    form.write_bytes(b"%PDF-1.7\n" + os.urandom(30_000) + b"\n%%EOF\n")
    card = tmp_path / "cccd.png"
    card.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(8_000))
    return form, card


async def test_file_on_a_phone_accept_at_the_console_then_look_it_up(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    form, card = files(tmp_path)
    sent = {form.read_bytes(), card.read_bytes()}
    errors: list[str] = []

    # ---------------------------------------------------------------- the citizen
    async with browsing(browser, viewport=PHONE, is_mobile=True, has_touch=True) as citizen:
        page = await citizen.new_page()
        page_errors(page, errors)
        await page.goto(f"{stack.intake}/file?center={CENTER}&procedure={PROCEDURE}")
        assert await page.get_by_test_id("filing-component").count() == 3

        # Nothing attached: each required component is named, nothing is sent.
        await page.get_by_test_id("filing-contact").fill("0912 345 678")
        await page.get_by_test_id("filing-submit").click()
        missing = page.locator("#component-1-error")
        await missing.wait_for(state="visible")
        assert "đính kèm" in (await missing.text_content() or "")

        await page.get_by_test_id("filing-file-1").set_input_files(str(form))
        await page.get_by_test_id("filing-file-2").set_input_files(str(card))
        await page.get_by_test_id("filing-consent").check()
        await page.get_by_test_id("filing-submit").click()
        done = page.get_by_test_id("filing-done")
        await done.wait_for(state="visible")
        code = (await page.get_by_test_id("filing-code").text_content() or "").strip()
        secret = (await page.get_by_test_id("filing-secret").text_content() or "").strip()
        assert code
        assert secret
        # Fits the phone: nothing wider than the screen.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        await shot(page, "filing-phone-done")

    async with httpx.AsyncClient(base_url=stack.intake) as http:
        waiting = await http.get("/v1/dossiers", params={"status": 1}, headers=stack.auth())
        [dossier_id] = [d["id"] for d in waiting.json() if d["code"] == code]

    # ---------------------------------------------------------------- the clerk
    async with browsing(browser, viewport={"width": 1024, "height": 800}) as clerk:
        page = await clerk.new_page()
        page_errors(page, errors)
        await page.goto(f"{stack.intake}/console/submissions")
        await page.get_by_test_id("submissions-token").fill(stack.token())
        await page.get_by_test_id("submissions-signin-submit").click()
        await page.locator(f"[data-testid=submission-open][data-code='{code}']").click()
        await page.get_by_test_id("submission-code").filter(has_text=code).wait_for()
        assert await page.get_by_test_id("submission-file").count() == 2
        async with page.expect_download() as download:
            await page.get_by_test_id("submission-file-open").first.click()
        got = await (await download.value).path()
        assert await asyncio.to_thread(Path(got).read_bytes) in sent
        await page.get_by_test_id("submission-accept").click()
        await page.get_by_test_id("submissions-message").filter(has_text="tiếp nhận").wait_for()
        assert await page.locator(f"[data-code='{code}']").count() == 0

    # ---------------------------------------------------------------- the lookup
    async with browsing(browser, viewport=PHONE, is_mobile=True) as citizen:
        page = await citizen.new_page()
        page_errors(page, errors)
        await page.goto(f"{stack.intake}/lookup?code={code}")
        await page.get_by_test_id("lookup-secret").fill(secret)
        await page.get_by_test_id("lookup-submit").click()
        step = page.get_by_test_id("current-step")
        await step.wait_for()
        assert await step.get_attribute("data-status") == "2"  # received: the clock runs
        appointment = page.get_by_test_id("appointment")
        assert (await appointment.text_content() or "").strip()
        assert await page.get_by_test_id("appointment-provisional").count() == 0
        await shot(page, "filing-lookup-accepted")

    async with httpx.AsyncClient(base_url=stack.intake) as http:
        files_kept = await http.get(f"/v1/dossiers/{dossier_id}/documents", headers=stack.auth())
        assert sorted(d["component"] for d in files_kept.json()) == [1, 2]
    assert errors == []


async def test_a_second_filing_reuses_the_identity_card_instead_of_sending_it_again(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    form, card = files(tmp_path)
    errors: list[str] = []
    async with browsing(browser, viewport=PHONE, is_mobile=True, has_touch=True) as citizen:
        page = await citizen.new_page()
        page_errors(page, errors)
        url = f"{stack.intake}/file?center={CENTER}&procedure={PROCEDURE}&lang=en"
        first = await file_once(page, url, form, card)

        await page.goto(url)
        await page.get_by_test_id("filing-reuse").locator("summary").click()
        await page.get_by_test_id("filing-reuse-code").fill(first[0])
        await page.get_by_test_id("filing-reuse-secret").fill(first[1])
        await page.get_by_test_id("filing-reuse-find").click()
        consent_error = page.locator("#reuse_code-error")
        await consent_error.filter(has_text="consent").wait_for()  # no consent: nothing found
        await page.get_by_test_id("filing-reuse-consent").check()
        await page.get_by_test_id("filing-reuse-find").click()
        choice = page.get_by_test_id("filing-reuse-2")
        await choice.wait_for(state="visible")
        await choice.select_option(label=f"{card.name} (8 KiB)")
        await page.get_by_test_id("filing-file-1").set_input_files(str(form))
        await page.get_by_test_id("filing-contact").fill("0912 345 678")
        await page.get_by_test_id("filing-submit").click()
        await page.get_by_test_id("filing-done").wait_for(state="visible")
        code = (await page.get_by_test_id("filing-code").text_content() or "").strip()

    async with httpx.AsyncClient(base_url=stack.intake) as http:
        waiting = await http.get("/v1/dossiers", params={"status": 1}, headers=stack.auth())
        [dossier_id] = [d["id"] for d in waiting.json() if d["code"] == code]
        docs = await http.get(f"/v1/dossiers/{dossier_id}/documents", headers=stack.auth())
        by_component = {d["component"]: d["sha256"] for d in docs.json()}
        assert by_component[2] == hashlib.sha256(card.read_bytes()).hexdigest()
        assert sorted(by_component) == [1, 2]
    assert errors == []


async def file_once(page: Any, url: str, form: Path, card: Path) -> tuple[str, str]:
    """File the procedure's first two components; the code and secret shown."""
    await page.goto(url)
    await page.get_by_test_id("filing-file-1").set_input_files(str(form))
    await page.get_by_test_id("filing-file-2").set_input_files(str(card))
    await page.get_by_test_id("filing-contact").fill("0912 345 678")
    await page.get_by_test_id("filing-submit").click()
    await page.get_by_test_id("filing-done").wait_for(state="visible")
    code = (await page.get_by_test_id("filing-code").text_content() or "").strip()
    secret = (await page.get_by_test_id("filing-secret").text_content() or "").strip()
    return code, secret
