"""A request's documents on the running services: sent to intake, known to processing, audited;
replaced until an officer begins to verify; wrong, broken or oversized files refused with
nothing kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.requests import DocumentAttached, DocumentViewed, RequestCompleted
from shared.mongo import new_mongo_client
from tests.builders import FORM_FIELDS
from tests.documents import noise_png
from tests.e2e.conftest import (
    SUBMISSION,
    TINY_PDF,
    audit_entries,
    sign_in,
    upload_documents,
)
from tests.polling import eventually

Tokens = Callable[..., dict[str, str]]
MEBIBYTE = 1024 * 1024


async def submit(
    http: httpx.AsyncClient, stack: Stack, phone: str, service_code: str = "KK_BARU"
) -> dict[str, Any]:
    body = SUBMISSION | {
        "phone": phone,
        "service_code": service_code,
        "fields": FORM_FIELDS[service_code],
    }
    response = await http.post(f"{stack.service_url('intake')}/v1/requests", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def send(
    http: httpx.AsyncClient,
    stack: Stack,
    request_id: str,
    requirement: str,
    content: bytes | AsyncIterator[bytes],
    headers: dict[str, str],
    content_type: str = "application/pdf",
) -> httpx.Response:
    return await http.post(
        f"{stack.service_url('intake')}/v1/requests/{request_id}/documents",
        params={"requirement": requirement},
        content=content,
        headers={**headers, "Content-Type": content_type},
    )


async def stored_documents(stack: Stack, request_id: str) -> tuple[int, int]:
    """How many document descriptions the request has in intake's database, and how many chunks
    the whole database holds."""
    client = new_mongo_client(stack.mongo_url)
    try:
        db = client["adminduk_intake"]
        described = await db["documents"].count_documents({"request_id": request_id})
        return described, await db["document_chunks"].count_documents({})
    finally:
        await client.close()


async def test_a_request_with_its_documents_is_complete_for_intake_processing_and_audit(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    submitted = await submit(http, backend, "085700000501")
    request_id = submitted["request_id"]
    citizen = await sign_in(http, backend, "+6285700000501")
    assert submitted["missing_documents"]

    sent = await upload_documents(http, backend, request_id, citizen)

    intake = backend.service_url("intake")
    assert set(sent) == set(submitted["missing_documents"])
    request = await http.get(f"{intake}/v1/requests/{request_id}", headers=citizen)
    assert request.json()["missing_documents"] == []
    verifier = tokens("verifier", service_point="KANTOR_DINAS")

    async def complete_case() -> dict[str, Any] | None:
        response = await http.get(
            f"{backend.service_url('processing')}/v1/cases/{request_id}", headers=verifier
        )
        body = response.json() if response.status_code == 200 else {}
        return body if body.get("documents_complete") else None

    case = await eventually(complete_case, what="processing's case to have every document")
    assert {item["requirement"]: item["document_id"] for item in case["documents"]} == sent
    assert case["missing_documents"] == []

    async def completed() -> list[dict[str, Any]]:
        return [
            entry
            for entry in await audit_entries(http, backend, subject=request_id)
            if entry["event_type"] == RequestCompleted.event_type
        ]

    [entry] = await eventually(completed, what="RequestCompleted in the audit log")
    assert entry["data"]["documents"] == sent
    attached = [
        item
        for item in await audit_entries(http, backend, subject=request_id)
        if item["event_type"] == DocumentAttached.event_type
    ]
    assert sorted(item["data"]["document_id"] for item in attached) == sorted(sent.values())

    document_url = f"{intake}/v1/requests/{request_id}/documents/{next(iter(sent.values()))}"
    downloaded = await http.get(document_url, headers=verifier)
    assert downloaded.status_code == 200
    assert downloaded.content == TINY_PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    elsewhere = await http.get(document_url, headers=tokens("verifier", service_point="MPP_X"))
    assert elsewhere.status_code == 404

    async def viewed() -> list[dict[str, Any]]:
        return [
            item
            for item in await audit_entries(http, backend, subject=request_id)
            if item["event_type"] == DocumentViewed.event_type
        ]

    [read] = await eventually(viewed, what="the verifier's read in the audit log")
    assert read["data"]["actor"]["role"] == "verifier"
    assert read["data"]["document_id"] == next(iter(sent.values()))


async def test_a_file_that_is_not_what_its_document_accepts_is_refused_and_nothing_kept(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    card = await submit(http, backend, "085700000502")
    child = await submit(http, backend, "085700000502", service_code="KIA")
    citizen = await sign_in(http, backend, "+6285700000502")
    [requirement, *_] = card["missing_documents"]
    _, chunks_before = await stored_documents(backend, card["request_id"])

    text = await send(
        http, backend, card["request_id"], requirement, b"ini hanya teks, bukan PDF\n", citizen
    )
    pdf_as_photo = await send(
        http, backend, child["request_id"], "PAS_FOTO", TINY_PDF, citizen, "image/png"
    )

    assert text.status_code == pdf_as_photo.status_code == 415
    assert text.json()["error"] == "unsupported_media_type"
    assert "tidak dikenali sebagai PDF, JPEG atau PNG" in text.json()["message"]
    assert "harus berupa JPEG atau PNG" in pdf_as_photo.json()["message"]
    assert await stored_documents(backend, card["request_id"]) == (0, chunks_before)
    assert await stored_documents(backend, child["request_id"]) == (0, chunks_before)
    request = await http.get(
        f"{backend.service_url('intake')}/v1/requests/{card['request_id']}", headers=citizen
    )
    assert request.json()["missing_documents"] == card["missing_documents"]


async def test_an_oversized_file_is_refused_while_it_arrives_and_nothing_kept(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    submitted = await submit(http, backend, "085700000503")
    citizen = await sign_in(http, backend, "+6285700000503")
    [requirement, *_] = submitted["missing_documents"]
    _, chunks_before = await stored_documents(backend, submitted["request_id"])

    async def six_mebibytes() -> AsyncIterator[bytes]:
        yield TINY_PDF
        for _ in range(6 * 4):
            yield b"\x00" * (MEBIBYTE // 4)

    streamed = await send(
        http, backend, submitted["request_id"], requirement, six_mebibytes(), citizen
    )
    declared = await send(
        http, backend, submitted["request_id"], requirement, TINY_PDF + bytes(6 * MEBIBYTE), citizen
    )

    assert streamed.status_code == declared.status_code == 413
    assert streamed.json()["error"] == declared.json()["error"] == "document_too_large"
    assert "paling besar 5 MB" in streamed.json()["message"]
    assert await stored_documents(backend, submitted["request_id"]) == (0, chunks_before)


async def test_another_citizen_cannot_send_documents_for_a_request(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    submitted = await submit(http, backend, "085700000504")
    stranger = await sign_in(http, backend, "+6285700000505")
    [requirement, *_] = submitted["missing_documents"]

    response = await send(http, backend, submitted["request_id"], requirement, TINY_PDF, stranger)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    described, _ = await stored_documents(backend, submitted["request_id"])
    assert described == 0


async def test_a_document_is_replaced_until_an_officer_begins_to_verify_the_request(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    submitted = await submit(http, backend, "085700000506")
    request_id = submitted["request_id"]
    citizen = await sign_in(http, backend, "+6285700000506")
    [requirement] = submitted["missing_documents"]
    intake = backend.service_url("intake")
    verifier = tokens("verifier", service_point="KANTOR_DINAS", subject="verifier-replace")
    _, chunks_before = await stored_documents(backend, request_id)
    photo = noise_png(320)
    assert len(photo) > 255 * 1024, "a file of more than one chunk"

    first = await send(http, backend, request_id, requirement, photo, citizen, "image/png")
    assert first.status_code == 201, first.text
    assert await stored_documents(backend, request_id) == (1, chunks_before + 1)
    broken = await send(http, backend, request_id, requirement, TINY_PDF[:-80], citizen)
    second = await send(http, backend, request_id, requirement, TINY_PDF, citizen)

    assert broken.status_code == 422
    assert broken.json()["error"] == "document_unreadable"
    assert second.status_code == 201, second.text
    old_id, new_id = first.json()["document_id"], second.json()["document_id"]
    assert second.json()["replaces"] == old_id
    assert second.json()["missing_documents"] == []
    assert await stored_documents(backend, request_id) == (1, chunks_before)
    documents = f"{intake}/v1/requests/{request_id}/documents"
    assert (await http.get(f"{documents}/{old_id}", headers=citizen)).status_code == 404
    assert (await http.get(f"{documents}/{new_id}", headers=citizen)).content == TINY_PDF

    async def replacement_audited() -> list[dict[str, Any]]:
        return [
            entry
            for entry in await audit_entries(http, backend, subject=request_id)
            if entry["event_type"] == DocumentAttached.event_type
            and entry["data"].get("replaces") == old_id
        ]

    [audited] = await eventually(replacement_audited, what="the replacement in the audit log")
    assert audited["data"]["document_id"] == new_id
    case_url = f"{backend.service_url('processing')}/v1/cases/{request_id}"

    async def case_holds_the_new_one() -> dict[str, Any] | None:
        response = await http.get(case_url, headers=verifier)
        body = response.json() if response.status_code == 200 else {}
        held = {item["requirement"]: item["document_id"] for item in body.get("documents", [])}
        return body if held == {requirement: new_id} else None

    await eventually(case_holds_the_new_one, what="processing's case to hold the new document")
    claimed = await http.post(
        f"{case_url}/claim", json={"reason_code": "FUNERAL"}, headers=verifier
    )
    assert claimed.status_code == 200, claimed.text

    async def in_verification() -> bool:
        response = await http.get(f"{intake}/v1/requests/{request_id}", headers=citizen)
        return bool(response.json()["status"] == "IN_VERIFICATION")

    await eventually(in_verification, what="intake to learn that verification began")
    too_late = await send(http, backend, request_id, requirement, TINY_PDF, citizen)

    assert too_late.status_code == 409
    assert too_late.json()["error"] == "not_accepting_documents"
    assert "petugas sudah mulai memeriksanya" in too_late.json()["message"]
    assert await stored_documents(backend, request_id) == (1, chunks_before)
