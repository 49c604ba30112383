"""The pure rules of stored documents: types told by content, file names, limits, the
signed verification record and the lookup page's download tokens."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from motcua.services.intake.app import create_app
from motcua.services.intake.catalog import load_catalog
from motcua.services.intake.documents import (
    ALLOWED_TYPES,
    Limits,
    Refused,
    TooLarge,
    Unsupported,
    VerificationRecord,
    component_of,
    download_token,
    is_optional,
    open_download_token,
    safe_file_name,
    sniff,
)
from motcua.services.intake.signing import NoSigningKey, SigningKeys, verify_with

LIMITS = Limits(max_file_bytes=1000, max_dossier_bytes=3000)


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),  # a Windows executable
        (b"\x7fELF\x02\x01\x01\x00", None),
        (b"<html><script>", None),
    ],
)
def test_the_content_tells_the_type(head: bytes, media_type: str | None) -> None:
    assert sniff(head) == media_type


def test_a_declared_type_the_content_contradicts_is_refused() -> None:
    assert LIMITS.check_type("application/pdf; charset=binary", b"%PDF-1.4") == "application/pdf"
    with pytest.raises(Unsupported) as refused:
        LIMITS.check_type("application/pdf", b"MZ\x90\x00")
    assert refused.value.field == "body"
    with pytest.raises(Unsupported) as refused:
        LIMITS.check_type("application/x-msdownload", b"MZ\x90\x00")
    assert refused.value.field == "Content-Type"


def test_lengths_are_refused_before_reading() -> None:
    for declared, kind in ((None, Refused), (0, Refused), (1001, TooLarge), (2**31, TooLarge)):
        with pytest.raises(kind):
            LIMITS.check_declared(declared)
    LIMITS.check_declared(1000)
    with pytest.raises(TooLarge, match="2500 already"):
        LIMITS.check_dossier(2500, 600)


@pytest.mark.parametrize(
    "raw",
    ["../../etc/passwd", "..\\..\\boot.ini", "a\x00b.pdf", "x\r\nSet-Cookie: y.pdf", "...", ""],
)
def test_file_names_cannot_climb_or_break_a_header(raw: str) -> None:
    name = safe_file_name(raw, "application/pdf")
    assert name
    assert not name.startswith(".")
    assert not set(name) & set("/\\\x00\r\n\"'")


def test_a_plain_vietnamese_name_is_kept() -> None:
    assert safe_file_name("Giấy khai sinh (bản sao).pdf", "application/pdf") == (
        "Giấy khai sinh (bản sao).pdf"
    )


def test_only_the_procedures_components_are_accepted() -> None:
    required = [{"vi": "Tờ khai", "en": "Form"}, {"vi": "Giấy chứng sinh", "en": "Birth note"}]
    assert component_of(required, 2) == "Giấy chứng sinh"
    for wrong in (0, 3, -1):
        with pytest.raises(Refused) as refused:
            component_of(required, wrong)
        assert refused.value.field == "component"


def test_a_record_signed_by_a_center_verifies_with_its_published_key(tmp_path: Path) -> None:
    (tmp_path / "nam-cuong").mkdir()
    for kid in ("2025-06", "2026-01"):
        (tmp_path / "nam-cuong" / f"{kid}.pem").write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    keys = SigningKeys.load(tmp_path, dev_mode=False)
    record = VerificationRecord("NC-20260105-0001", "nam-cuong", date(2026, 1, 5), "ab" * 32)
    key_id, signature = keys.sign("nam-cuong", record.canonical())
    assert key_id == "2026-01"  # the newest key signs; both stay published
    published = keys.public_keys("nam-cuong")
    assert set(published) == {"2025-06", "2026-01"}
    assert verify_with(published[key_id], record.canonical(), signature)
    assert not verify_with(published["2025-06"], record.canonical(), signature)
    edited = VerificationRecord("NC-20260105-0002", "nam-cuong", date(2026, 1, 5), "ab" * 32)
    assert not verify_with(published[key_id], edited.canonical(), signature)
    assert VerificationRecord.parse(record.canonical()) == record
    with pytest.raises(NoSigningKey):
        keys.sign("another-center", record.canonical())


def test_dev_mode_makes_up_a_key_and_nothing_else_does() -> None:
    assert SigningKeys.load(None, dev_mode=True).sign("x", b"data")[0] == "dev"
    with pytest.raises(NoSigningKey):
        SigningKeys.load(None, dev_mode=False).sign("x", b"data")
    with pytest.raises(NoSigningKey) as refused:
        SigningKeys.load(None, dev_mode=False).require("x")  # before an upload is read
    assert refused.value.field == "center_id"


def test_a_download_token_names_one_file_until_it_expires() -> None:
    key, dossier, sha = b"k" * 32, uuid.uuid4(), b"\x07" * 32
    token = download_token(key, dossier, sha, expires=1000)
    assert open_download_token(key, token, now=999) == (dossier, sha)
    assert open_download_token(key, token, now=1001) is None
    assert open_download_token(b"other" * 8, token, now=999) is None
    assert (
        open_download_token(key, token[:-1] + ("B" if token[-1] == "A" else "A"), now=999) is None
    )
    assert open_download_token(key, "%%%", now=999) is None


def test_every_procedure_of_the_catalog_names_its_components() -> None:
    from motcua.services.intake.catalog import load_catalog

    for procedure in load_catalog().procedures:
        assert procedure.required_documents, f"{procedure.code} names no components"


def test_only_components_asked_for_if_any_may_be_left_out_of_a_filing() -> None:
    assert is_optional({"vi": "Giấy chứng tử (nếu có)", "en": "Death certificate (if any)"})
    assert not is_optional({"vi": "Tờ khai (theo mẫu)", "en": "Request form"})
    # Every procedure asks for at least one component a filing cannot leave out.
    for p in load_catalog().procedures:
        required = [d for d in p.required_documents if not is_optional(d.model_dump())]
        assert required, p.code


def test_the_upload_routes_document_the_file_they_stream() -> None:
    """They read the raw body themselves, so FastAPI alone would document none: a client
    generated from the document must still send the file, with a type the store takes."""
    paths = create_app().openapi()["paths"]
    uploads = [
        paths["/v1/dossiers/{dossier_id}/components/{component}"]["put"],
        paths["/v1/dossiers/{dossier_id}/result"]["put"],
        paths["/v1/public/dossiers/{code}/documents/{component}"]["put"],
        paths["/v1/public/verify"]["post"],
    ]
    for op in uploads:
        body = op["requestBody"]
        assert body["required"] is True
        assert "20 MiB" in body["description"]
        assert set(ALLOWED_TYPES) <= set(body["content"])
        assert all(
            c["schema"] == {"type": "string", "format": "binary"} for c in body["content"].values()
        )
        assert {"413", "422"} <= set(op["responses"])
    for op in uploads[:3]:
        assert {"409", "415"} <= set(op["responses"])
