"""One way to refuse: a domain or use-case `Refusal` says its kind, and every app answers each
kind with one status, in the one error body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from shared.access import AccessTable, public
from shared.config import ServiceSettings
from shared.errors import Conflict, Kind, Refusal
from shared.http.app import ReadinessCheck, build_app
from shared.http.error_bodies import RETRY_AFTER_S

router = APIRouter()
ACCESS: AccessTable = {
    ("GET", "/refuses/{kind}"): public(),
    ("GET", "/field"): public(),
    ("GET", "/changed"): public(),
    ("GET", "/locked"): public(),
    ("GET", "/busy"): public(),
}


class Closed(Refusal, ValueError):
    """A refusal that is also a ValueError, as those raised in pydantic validators are."""

    def __init__(self) -> None:
        super().__init__("closed", "Sudah ditutup.", Kind.CONFLICT)


@router.get("/refuses/{kind}")
async def refuses(kind: Kind) -> None:
    raise Refusal(f"refused_{kind}", "Ditolak.", kind)


@router.get("/field")
async def field() -> None:
    raise Refusal("invalid_form", "NIK salah.", Kind.INVALID, details={"nik": "NIK salah."})


@router.get("/changed")
async def changed() -> None:
    raise Conflict("changed_meanwhile", "Baru saja diubah orang lain.")


@router.get("/locked")
async def locked() -> None:
    raise Refusal("locked", "Terkunci.", Kind.LIMITED, retry_after_s=120)


@router.get("/busy")
async def busy() -> None:
    raise Refusal("try_again", "Coba lagi.", Kind.UNAVAILABLE, retry_after_s=1)


@asynccontextmanager
async def no_wiring(app: FastAPI) -> AsyncIterator[dict[str, ReadinessCheck]]:
    yield {}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    application = build_app(
        title="test", settings=ServiceSettings(), wiring=no_wiring, access=ACCESS, routers=[router]
    )
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://service.test"
        ) as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (Kind.NOT_FOUND, 404),
        (Kind.FORBIDDEN, 403),
        (Kind.CONFLICT, 409),
        (Kind.INVALID, 422),
        (Kind.UNAVAILABLE, 503),
        (Kind.LIMITED, 429),
    ],
)
async def test_each_kind_of_refusal_answers_its_one_status_with_its_code_and_message(
    client: httpx.AsyncClient, kind: Kind, status: int
) -> None:
    response = await client.get(f"/refuses/{kind}")

    assert response.status_code == status
    assert response.json() == {"error": f"refused_{kind}", "message": "Ditolak."}


async def test_a_refusal_about_fields_names_each_in_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/field")

    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_form",
        "message": "NIK salah.",
        "details": [{"field": "nik", "reason": "NIK salah."}],
    }


async def test_changed_meanwhile_is_a_409_with_the_features_own_code(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/changed")

    assert response.status_code == 409
    assert response.json() == {
        "error": "changed_meanwhile",
        "message": "Baru saja diubah orang lain.",
    }


async def test_a_refusal_that_passes_says_when_to_try_again(client: httpx.AsyncClient) -> None:
    locked = await client.get("/locked")
    busy = await client.get("/busy")
    unwired = await client.get(f"/refuses/{Kind.UNAVAILABLE}")
    conflict = await client.get(f"/refuses/{Kind.CONFLICT}")

    assert (locked.status_code, locked.headers["Retry-After"]) == (429, "120")
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "1")
    assert unwired.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert "Retry-After" not in conflict.headers


def test_a_refusal_carries_its_message_as_its_text_whatever_else_it_is() -> None:
    refusal = Closed()

    assert isinstance(refusal, ValueError)
    assert (refusal.code, refusal.message, refusal.kind) == ("closed", "Sudah ditutup.", "conflict")
    assert str(refusal) == "Sudah ditutup."
