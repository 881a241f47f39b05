"""Supervisors and admins preview a message template as a citizen would read it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.notify.adapters.templates_file import DEFAULT_TEMPLATES, InvalidTemplates
from services.notify.bootstrap import create_app
from services.notify.config import NotifySettings
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer


@asynccontextmanager
async def nothing(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    yield {}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(NotifySettings(), nothing, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


async def preview(
    client: httpx.AsyncClient, name: str, channel: str, role: str = "supervisor"
) -> httpx.Response:
    return await client.get(
        f"/v1/templates/{name}/preview", params={"channel": channel}, headers=bearer(role)
    )


async def test_an_sms_preview_shows_the_text_with_its_sample_and_its_segments(
    client: httpx.AsyncClient,
) -> None:
    response = await preview(client, "request_received", "SMS")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == (
        "Permohonan KK baru diterima. No. lacak K7M2Q9XP. Perkiraan selesai Selasa, "
        "1 Desember 2026. GRATIS, tolak pungli. Dispendukcapil"
    )
    assert body["characters"] == len(body["text"])
    assert body["segments"] == 1
    assert body["max_segments"] == 1
    assert body["subject"] is None
    assert body["whatsapp_template"] is None


async def test_a_whatsapp_preview_names_the_approved_template_and_its_values(
    client: httpx.AsyncClient,
) -> None:
    response = await preview(client, "document_issued", "WHATSAPP", role="admin")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["whatsapp_template"] == {
        "name": "adminduk_dokumen_terbit",
        "language": "id",
        "parameters": [
            "Siti Aminah",
            "KK baru",
            "K7M2Q9XP",
            "3516-KK-2026-0001",
            "Ambil di kantor desa, bawa KTP-el",
        ],
    }
    assert body["segments"] is None
    assert "3516-KK-2026-0001" in body["text"]


async def test_an_email_preview_has_its_subject(client: httpx.AsyncClient) -> None:
    body = (await preview(client, "complaint_filed", "EMAIL")).json()

    assert body["subject"] == "Aduan ADU-K7M2Q9XP diterima"
    assert "ADU-K7M2Q9XP" in body["text"]


async def test_an_unknown_template_is_a_404_and_an_unknown_channel_a_422(
    client: httpx.AsyncClient,
) -> None:
    unknown = await preview(client, "case_opened", "SMS")
    bad_channel = await preview(client, "request_received", "FAX")
    no_channel = await client.get(
        "/v1/templates/request_received/preview", headers=bearer("supervisor")
    )

    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_template"
    assert bad_channel.status_code == 422
    assert no_channel.status_code == 422


async def test_only_supervisors_and_admins_preview(client: httpx.AsyncClient) -> None:
    verifier = await preview(client, "request_received", "SMS", role="verifier")
    nobody = await client.get("/v1/templates/request_received/preview", params={"channel": "SMS"})

    assert verifier.status_code == 403
    assert nobody.status_code == 401


def test_notify_does_not_start_with_a_broken_templates_file(tmp_path: Path) -> None:
    document = json.loads(DEFAULT_TEMPLATES.read_text())
    document["templates"]["case_approved"]["sms"]["text"] = "Disetujui: {nomor}"
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(document))

    with pytest.raises(InvalidTemplates, match="nomor"):
        create_app(NotifySettings(templates_file=path), nothing, staff_keys=STAFF_KEYS)
