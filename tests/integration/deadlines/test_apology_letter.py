"""The apology letter on the running service: drafted when a dossier goes overdue, then
completed by the officer with the reason and the new date, naming the procedure and the
center in full, and printable as a page and as a document to sign."""

from __future__ import annotations

import json
import uuid
from typing import Any

from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import DossierReceived, ProcedureName, TimeLimitSnapshot
from tests.integration.deadlines.conftest import Service
from tests.support.clock import vn
from tests.support.waiting import eventually

CENTER_NAME = "Trung tâm Phục vụ hành chính công phường Nam Cường"
PROCEDURE = "Đăng ký khai sinh"


NAME = ProcedureName(vi=PROCEDURE, en="Birth registration")


def received(
    center: str,
    dossier_id: uuid.UUID,
    code: str,
    *,
    procedure: str = "HT-KS",
    name: ProcedureName | None = NAME,
    line: str = "justice",
) -> Envelope[Any]:
    monday = vn(2026, 3, 2, 9)  # 3 working days: due Thursday 5 March 17:00
    payload = DossierReceived(
        dossier_id=dossier_id,
        dossier_code=code,
        procedure_code=procedure,
        procedure_name=name,
        status=2,
        line_code=line,
        received_at=monday,
        channel="counter",
        time_limit=TimeLimitSnapshot(amount=3, unit="working_days"),
        appointment_at=vn(2026, 3, 5, 17),
    )
    return new_event(payload, center_id=center, producer="intake", occurred_at=monday)


async def test_the_officer_completes_the_letter_the_leader_prints_and_signs(
    service: Service,
) -> None:
    center, dossier_id = f"apo-{uuid.uuid4().hex[:6]}", uuid.uuid4()
    code = f"{center}-0001"
    service.settings.center_names[center] = CENTER_NAME
    await service.produce(received(center, dossier_id, code))
    service.clock.set(vn(2026, 3, 6, 12))  # Friday noon: overdue since Thursday 17:00
    await eventually(
        lambda: service.count(
            "SELECT count(*) FROM apology_letters WHERE dossier_id = $1", dossier_id
        ),
        what="the letter drafted",
    )
    url = f"/v1/dossiers/{dossier_id}/apology-letter"
    officer, clerk = service.token(center, role="officer"), service.token(center, role="clerk")
    async with service.client() as http:
        draft = (await http.get(url, headers=officer)).json()
        assert draft["reason"] is None
        assert draft["procedure_name"] == PROCEDURE
        assert draft["new_appointment_at"] == draft["computed_appointment_at"]
        assert f"Thủ tục hành chính: {PROCEDURE}" in draft["text"]
        assert "HT-KS" not in draft["text"]
        assert CENTER_NAME.upper() in draft["text"]

        body = {"reason": "Cần xác minh thêm tại cơ quan khác"}
        assert (await http.put(url, json=body, headers=clerk)).status_code == 403
        early = await http.put(
            url, json=body | {"new_appointment_at": "2026-03-05T08:00:00+07:00"}, headers=officer
        )
        assert early.status_code == 422
        assert "new_appointment_at" in early.text
        blank = await http.put(url, json={"reason": "   "}, headers=officer)
        assert blank.status_code == 422
        assert "reason" in blank.text
        other = service.token("another-center", role="officer")
        assert (await http.put(url, json=body, headers=other)).status_code == 403

        # The computed date stands when the officer sets none.
        kept = await http.put(url, json=body, headers=officer)
        assert kept.status_code == 200, kept.text
        assert kept.json()["new_appointment_at"] == draft["computed_appointment_at"]

        done = await http.put(
            url, json=body | {"new_appointment_at": "2026-03-12T16:30:00+07:00"}, headers=officer
        )
        assert done.status_code == 200, done.text
        letter = done.json()
        assert letter["reason"] == body["reason"]
        assert letter["completed_by"] == "tester"
        assert letter["new_appointment_at"] == "2026-03-12T09:30:00Z"
        assert "Lý do: Cần xác minh thêm tại cơ quan khác" in letter["text"]
        assert "vào 16 giờ 30 phút, ngày 12 tháng 03 năm 2026." in letter["text"]

        # The citizen held the computed date: the officer's is announced once, however
        # often the same request comes.
        again = await http.put(
            url, json=body | {"new_appointment_at": "2026-03-12T16:30:00+07:00"}, headers=officer
        )
        assert again.status_code == 200

        async def announced() -> list[dict[str, Any]]:
            return [
                json.loads(m.value)
                for m in await service.deadline_messages()
                if b'"deadline.appointment_set"' in m.value and str(dossier_id).encode() in m.value
            ]

        [told] = await eventually(announced, what="the new date announced")
        assert told["data"]["new_appointment_at"] == "2026-03-12T09:30:00Z"
        assert told["data"]["previous_appointment_at"] == draft["computed_appointment_at"]

        document = await http.get(url, params={"format": "html"}, headers=officer)
        assert document.status_code == 200
        assert document.headers["content-type"].startswith("text/html")
        assert "THỦ TRƯỞNG CƠ QUAN" in document.text
        assert "Cần xác minh thêm tại cơ quan khác" in document.text
        assert PROCEDURE in document.text

        page = await http.get(f"/dashboard/dossiers/{dossier_id}/apology-letter", headers=officer)
        assert page.status_code == 200, page.text
        assert 'data-testid="letter-text"' in page.text
        assert "Lý do: Cần xác minh thêm" in page.text
        printable = await http.get(
            f"/dashboard/dossiers/{dossier_id}/apology-letter.html", headers=officer
        )
        assert printable.status_code == 200
        assert "16 giờ 30 phút, ngày 12 tháng 03 năm 2026" in printable.text
        elsewhere = await http.get(
            f"/dashboard/dossiers/{dossier_id}/apology-letter", headers=other
        )
        assert elsewhere.status_code == 403
        none = await http.get(f"/dashboard/dossiers/{uuid.uuid4()}/apology-letter", headers=officer)
        assert none.status_code == 404
