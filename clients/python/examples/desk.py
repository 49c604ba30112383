"""A desk app: receive a dossier over the bus, then print its receipt.

    export MOTCUA_TOKEN=$(MOTCUA_DEV_MODE=true motcua token --center nam-cuong --subject clerk-1)
    python desk.py CT-BANSAO

Settings (environment): MOTCUA_TOKEN (the clerk's token), MOTCUA_KAFKA_BOOTSTRAP_SERVERS,
MOTCUA_KAFKA_TOPIC_PREFIX, MOTCUA_INTAKE_URL; the defaults fit `motcua dev`.
"""

import asyncio
import os
import sys

from motcua_client import ClerkClient, ClerkCredentials, CommandPublisher, Commands


async def main(procedure_code: str) -> None:
    clerk = ClerkCredentials.from_token(os.environ["MOTCUA_TOKEN"])
    command = Commands(clerk).receive(
        procedure_code=procedure_code,
        applicant_name="Nguyễn Văn An",
        documents_received=["Bản chính bằng tốt nghiệp", "Bản sao cần chứng thực"],
    )
    bootstrap = os.environ.get("MOTCUA_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    prefix = os.environ.get("MOTCUA_KAFKA_TOPIC_PREFIX", "")
    async with CommandPublisher(bootstrap, topic_prefix=prefix) as bus:
        await bus.send(command)  # to retry, send the same command again: same id
    intake_url = os.environ.get("MOTCUA_INTAKE_URL", "http://127.0.0.1:8002")
    async with ClerkClient(clerk, intake_url=intake_url) as api:
        dossier = await api.wait_for_dossier(command.dossier_id)
        receipt = await api.receipt_html(command.dossier_id)
    print("PHIẾU TIẾP NHẬN VÀ HẸN TRẢ KẾT QUẢ")
    print(f"Mã hồ sơ / dossier code:    {dossier['code']}")
    print(f"Thủ tục / procedure:        {dossier['procedure']['name_vi']}")
    print(f"Người nộp / applicant:      {dossier['applicant_name']}")
    print(f"Trạng thái / status:        {dossier['status']['name_vi']}")
    print(f"Ngày hẹn trả / appointment: {dossier['appointment_local']}")
    print(f"Phiếu in / printable:       {intake_url}/v1/dossiers/{dossier['id']}/receipt")
    print(f"({len(receipt)} bytes of printable receipt fetched)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "CT-BANSAO"))
