"""The loopback providers: they check what they are sent as the real ones do, keep it in order,
dedupe SMS by idempotency key, and misbehave on demand."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devstack import message_sink
from devstack.message_sink import create_app
from services.intake.conversations.ports import MediaTooLarge, MediaUnavailable
from services.intake.conversations.whatsapp_media import WhatsAppMedia

PATH = "/v21.0/106540352242922/messages"
TOKEN = {"Authorization": "Bearer local-token"}
RECEIPT_PARAMETERS = ["Siti Aminah", "KK baru", "K7M2Q9XP", "Selasa, 1 Desember 2026"]


def template_message(parameters: list[str], name: str = "adminduk_permohonan_diterima") -> Any:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6281234567890",
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "id"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
            ],
        },
        "biz_opaque_callback_data": "evt-1:citizen:WHATSAPP",
    }


TEXT_MESSAGE = {
    "messaging_product": "whatsapp",
    "to": "6281234567890",
    "type": "text",
    "text": {"body": "Ketik MENU untuk mulai.", "preview_url": False},
}


@pytest.fixture
async def sink() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sink.test") as client:
        yield client


async def received(sink: httpx.AsyncClient, channel: str | None = None) -> list[dict[str, Any]]:
    params = {"channel": channel} if channel else {}
    response = await sink.get("/v1/received", params=params)
    assert response.status_code == 200
    listing: list[dict[str, Any]] = response.json()
    return listing


def sms(to: str = "+6281234567890", text: str = "Kode masuk Adminduk Anda: 123456") -> Any:
    return {"to": to, "text": text, "reference": "evt-1:citizen:SMS"}


async def test_a_template_message_is_answered_like_meta_and_listed_as_the_citizen_reads_it(
    sink: httpx.AsyncClient,
) -> None:
    response = await sink.post(PATH, json=template_message(RECEIPT_PARAMETERS), headers=TOKEN)

    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "6281234567890", "wa_id": "6281234567890"}]
    [message] = answer["messages"]
    assert message["id"].startswith("wamid.")
    [listed] = await received(sink)
    assert listed["channel"] == "WHATSAPP"
    assert listed["to"] == "+6281234567890"
    assert listed["template"] == {
        "name": "adminduk_permohonan_diterima",
        "language": "id",
        "parameters": RECEIPT_PARAMETERS,
    }
    assert listed["reference"] == "evt-1:citizen:WHATSAPP"
    assert listed["message_id"] == message["id"]
    assert listed["text"].startswith("Yth. Siti Aminah,\npermohonan KK baru Anda")
    assert "Nomor lacak: K7M2Q9XP" in listed["text"]


async def test_the_cloud_api_takes_no_idempotency_key(sink: httpx.AsyncClient) -> None:
    for _ in range(2):
        answered = await sink.post(
            PATH, json=TEXT_MESSAGE, headers=TOKEN | {"Idempotency-Key": "k"}
        )
        assert answered.status_code == 200

    assert [m["text"] for m in await received(sink)] == ["Ketik MENU untuk mulai."] * 2


@pytest.mark.parametrize(
    "body",
    [
        {key: value for key, value in TEXT_MESSAGE.items() if key != "messaging_product"},
        TEXT_MESSAGE | {"messaging_product": "sms"},
        TEXT_MESSAGE | {"to": "+6281234567890"},
        TEXT_MESSAGE | {"type": "template"},
        TEXT_MESSAGE | {"text": {"body": ""}},
        TEXT_MESSAGE | {"recipient": "6281234567890"},
        template_message(RECEIPT_PARAMETERS) | {"text": {"body": "both"}},
        "not json",
    ],
    ids=["no-product", "other-product", "plus", "no-template", "empty", "unknown", "both", "text"],
)
async def test_a_malformed_cloud_api_body_gets_a_graph_error_and_is_not_taken(
    sink: httpx.AsyncClient, body: Any
) -> None:
    if isinstance(body, str):
        response = await sink.post(PATH, content=body, headers=TOKEN)
    else:
        response = await sink.post(PATH, json=body, headers=TOKEN)

    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "error_subcode", "fbtrace_id"}
    assert error["code"] == 100
    assert await received(sink) == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (template_message(RECEIPT_PARAMETERS, name="adminduk_tidak_ada"), 404, 132001),
        (template_message(RECEIPT_PARAMETERS[:3]), 400, 132000),
        (template_message([*RECEIPT_PARAMETERS[:3], "Selasa,\n1 Desember"]), 400, 132018),
    ],
    ids=["unknown-template", "parameter-count", "line-break"],
)
async def test_a_template_meta_would_refuse_is_refused_with_its_code(
    sink: httpx.AsyncClient, body: Any, status: int, code: int
) -> None:
    response = await sink.post(PATH, json=body, headers=TOKEN)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert await received(sink) == []


async def test_without_a_token_the_cloud_api_and_the_gateway_answer_401(
    sink: httpx.AsyncClient,
) -> None:
    whatsapp = await sink.post(PATH, json=TEXT_MESSAGE)
    gateway = await sink.post("/v1/sms", json=sms(), headers={"Authorization": "Basic x"})

    assert (whatsapp.status_code, whatsapp.json()["error"]["code"]) == (401, 190)
    assert (gateway.status_code, gateway.json()["error"]["code"]) == (401, "unauthorized")
    assert await received(sink) == []


async def test_the_sms_gateway_takes_one_message_per_idempotency_key(
    sink: httpx.AsyncClient,
) -> None:
    first = await sink.post("/v1/sms", json=sms(), headers=TOKEN | {"Idempotency-Key": "a"})
    again = await sink.post("/v1/sms", json=sms(), headers=TOKEN | {"Idempotency-Key": "a"})
    other = await sink.post("/v1/sms", json=sms(), headers=TOKEN | {"Idempotency-Key": "b"})

    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json() == again.json() != other.json()
    assert [m["reference"] for m in await received(sink, "SMS")] == ["a", "b"]


async def test_the_received_list_narrows_to_one_recipient(sink: httpx.AsyncClient) -> None:
    for to, key in (("+6281234567890", "a"), ("+6281299990001", "b"), ("+6281234567890", "c")):
        sent = await sink.post("/v1/sms", json=sms(to=to), headers=TOKEN | {"Idempotency-Key": key})
        assert sent.status_code == 202

    response = await sink.get("/v1/received", params={"to": "+6281234567890"})

    assert [m["reference"] for m in response.json()] == ["a", "c"]


async def test_an_sms_that_is_no_message_gets_422_naming_fields_not_values(
    sink: httpx.AsyncClient,
) -> None:
    response = await sink.post("/v1/sms", json=sms(to="081234567890", text=""), headers=TOKEN)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "081234567890" not in response.text
    assert await received(sink) == []


async def test_fail_faults_refuse_the_next_messages_to_their_recipient_with_retry_after(
    sink: httpx.AsyncClient,
) -> None:
    fault = {"channel": "SMS", "count": 2, "to": "+6281299990001", "retry_after": "7"}
    assert (await sink.post("/v1/faults", json=fault)).status_code == 204

    other = await sink.post("/v1/sms", json=sms(), headers=TOKEN)
    statuses = []
    for _ in range(3):
        answer = await sink.post("/v1/sms", json=sms(to="+6281299990001"), headers=TOKEN)
        statuses.append((answer.status_code, answer.headers.get("Retry-After")))

    assert other.status_code == 202
    assert statuses == [(503, "7"), (503, "7"), (202, None)]
    assert [m["to"] for m in await received(sink)] == ["+6281234567890", "+6281299990001"]
    assert (await sink.get("/v1/faults")).json() == []


async def test_a_graph_error_fault_answers_with_that_code(sink: httpx.AsyncClient) -> None:
    fault = {"channel": "WHATSAPP", "graph_code": 131047}
    await sink.post("/v1/faults", json=fault)
    await sink.post("/v1/faults", json={"channel": "WHATSAPP", "status": 429})

    window = await sink.post(PATH, json=TEXT_MESSAGE, headers=TOKEN)
    throttled = await sink.post(PATH, json=TEXT_MESSAGE, headers=TOKEN)

    assert (window.status_code, window.json()["error"]["code"]) == (400, 131047)
    assert (throttled.status_code, throttled.json()["error"]["code"]) == (429, 130429)
    assert await received(sink) == []


async def test_faults_are_listed_until_used_and_can_be_dropped(sink: httpx.AsyncClient) -> None:
    await sink.post("/v1/faults", json={"channel": "EMAIL", "count": 3, "status": 550})
    listed = (await sink.get("/v1/faults")).json()
    dropped = await sink.delete("/v1/faults")

    assert [(f["channel"], f["count"], f["status"]) for f in listed] == [("EMAIL", 3, 550)]
    assert dropped.status_code == 204
    assert (await sink.get("/v1/faults")).json() == []


@pytest.mark.parametrize(
    "fault",
    [
        {"channel": "SMS", "graph_code": 131047},
        {"channel": "EMAIL", "retry_after": "5"},
        {"channel": "SMS", "kind": "delay"},
        {"channel": "FAX"},
        {"channel": "SMS", "status": 200},
    ],
)
async def test_a_fault_that_makes_no_sense_is_refused(
    sink: httpx.AsyncClient, fault: dict[str, Any]
) -> None:
    assert (await sink.post("/v1/faults", json=fault)).status_code == 422


async def test_a_delay_fault_answers_late_and_then_takes_the_message(
    sink: httpx.AsyncClient,
) -> None:
    await sink.post("/v1/faults", json={"channel": "SMS", "kind": "delay", "delay_s": 0.3})

    started = time.monotonic()
    answer = await sink.post("/v1/sms", json=sms(), headers=TOKEN)

    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 202
    assert len(await received(sink)) == 1


async def test_a_hung_sms_was_taken_and_its_retry_gets_the_same_id_at_once(
    sink: httpx.AsyncClient,
) -> None:
    await sink.post("/v1/faults", json={"channel": "SMS", "kind": "hang"})
    headers = TOKEN | {"Idempotency-Key": "evt-9:citizen:SMS"}

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sink.post("/v1/sms", json=sms(), headers=headers), 0.3)
    retry = await sink.post("/v1/sms", json=sms(), headers=headers)

    [taken] = await received(sink)
    assert retry.status_code == 202
    assert retry.json()["message_id"] == taken["message_id"]


async def test_a_retry_while_a_delayed_sms_is_still_being_taken_is_taken_once(
    sink: httpx.AsyncClient,
) -> None:
    """A sender that timed out on a slow gateway sends again under the same key; the gateway
    takes the message once, as it would had the first already been recorded."""
    await sink.post("/v1/faults", json={"channel": "SMS", "kind": "delay", "delay_s": 0.3})
    headers = TOKEN | {"Idempotency-Key": "evt-7:citizen:SMS"}

    slow = asyncio.create_task(sink.post("/v1/sms", json=sms(), headers=headers))
    await asyncio.sleep(0.1)
    retry = await sink.post("/v1/sms", json=sms(), headers=headers)
    first = await slow

    [taken] = await received(sink)
    assert first.status_code == retry.status_code == 202
    assert first.json()["message_id"] == retry.json()["message_id"] == taken["message_id"]


async def test_it_logs_arrivals_without_recipients_or_texts(
    sink: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await sink.post("/v1/faults", json={"channel": "SMS"})
    with caplog.at_level(logging.INFO, logger="message_sink"):
        await sink.post("/v1/sms", json=sms(), headers=TOKEN)
        await sink.post("/v1/sms", json=sms(), headers=TOKEN)
        await sink.post(PATH, json=template_message(RECEIPT_PARAMETERS), headers=TOKEN)

    logged = caplog.text
    assert "SMS message sms-" in logged
    assert "refused by a fault" in logged
    for personal in ("6281234567890", "123456", "Siti", "K7M2Q9XP"):
        assert personal not in logged


# --- Graph API media ---------------------------------------------------------------------------

GRAPH_TOKEN = "intake-graph-token"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


@pytest.fixture
async def graph() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(graph_access_token=GRAPH_TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sink.test") as client:
        yield client


async def put_photo(graph: httpx.AsyncClient, content: bytes = PHOTO) -> str:
    response = await graph.post(
        "/v1/media", content=content, headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    media_id: str = response.json()["id"]
    return media_id


async def test_intakes_media_adapter_fetches_a_photo_put_into_the_sink(
    graph: httpx.AsyncClient,
) -> None:
    media_id = await put_photo(graph)
    media = WhatsAppMedia(
        graph, graph_url="http://sink.test/v21.0", access_token=GRAPH_TOKEN, total_timeout_s=5
    )
    stranger = WhatsAppMedia(
        graph, graph_url="http://sink.test/v21.0", access_token="guess", total_timeout_s=5
    )

    assert await media.fetch(media_id, max_bytes=len(PHOTO)) == PHOTO
    with pytest.raises(MediaTooLarge):
        await media.fetch(media_id, max_bytes=len(PHOTO) - 1)
    with pytest.raises(MediaUnavailable):
        await stranger.fetch(media_id, max_bytes=len(PHOTO))


async def test_the_media_lookup_answers_metas_shape_with_a_download_on_its_own_origin(
    graph: httpx.AsyncClient,
) -> None:
    media_id = await put_photo(graph)
    bearer = {"Authorization": f"Bearer {GRAPH_TOKEN}"}

    location = await graph.get(f"/v21.0/{media_id}", headers=bearer)

    assert location.status_code == 200
    described = location.json()
    assert described == {
        "messaging_product": "whatsapp",
        "url": f"http://sink.test/whatsapp_business/attachments/?mid={media_id}",
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(PHOTO).hexdigest(),
        "file_size": len(PHOTO),
        "id": media_id,
    }
    download = await graph.get(described["url"], headers=bearer)
    refused = await graph.get(described["url"])
    assert (download.status_code, download.content) == (200, PHOTO)
    assert download.headers["Content-Type"] == "image/jpeg"
    assert refused.status_code == 401


@pytest.mark.parametrize("authorization", [None, "Bearer guess", f"Basic {GRAPH_TOKEN}", "Bearer "])
async def test_the_media_lookup_wants_intakes_token(
    graph: httpx.AsyncClient, authorization: str | None
) -> None:
    media_id = await put_photo(graph)
    headers = {"Authorization": authorization} if authorization else {}

    response = await graph.get(f"/v21.0/{media_id}", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190


async def test_without_a_configured_token_the_media_lookup_refuses_every_token(
    sink: httpx.AsyncClient,
) -> None:
    media_id = await put_photo(sink)

    response = await sink.get(f"/v21.0/{media_id}", headers=TOKEN)

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/v21.0/1481960382637145", "/latest/{media_id}"])
async def test_an_unknown_media_id_or_version_gets_metas_unsupported_get_request(
    graph: httpx.AsyncClient, path: str
) -> None:
    media_id = await put_photo(graph)
    bearer = {"Authorization": f"Bearer {GRAPH_TOKEN}"}

    response = await graph.get(path.format(media_id=media_id), headers=bearer)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({}, PHOTO, 415),
        ({"Content-Type": "jpeg"}, PHOTO, 415),
        ({"Content-Type": "image/jpeg"}, b"", 400),
        ({"Content-Type": "image/jpeg"}, b"x" * 1025, 413),
    ],
    ids=["no-type", "bad-type", "empty", "too-large"],
)
async def test_an_upload_the_sink_cannot_serve_is_refused_with_a_reason(
    graph: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    content: bytes,
    status: int,
) -> None:
    monkeypatch.setattr(message_sink, "MAX_MEDIA_BYTES", 1024)

    response = await graph.post("/v1/media", content=content, headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == "invalid_media"
