"""A stand-in WhatsApp/SMS gateway for local runs and tests: it keeps what it is sent, and logs
that it arrived without the recipient or the text, which are personal data.

It speaks the provider contract notify uses: `POST /v1/messages` answers a `message_id`; the same
Idempotency-Key answers the same id and stores nothing new. `GET /v1/messages` lists what arrived.
`POST /v1/faults` makes it refuse the next messages, to watch notify retry.
"""

from __future__ import annotations

import argparse
import logging
import uuid
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

log = logging.getLogger("message_sink")


class OutgoingMessage(BaseModel):
    reference: str
    channel: str
    to: str
    text: str


class ReceivedMessage(OutgoingMessage):
    message_id: str


class Faults(BaseModel):
    fail_next: int = Field(ge=0)
    status: int = Field(default=503, ge=400, le=599)
    to: str | None = Field(default=None, description="Only messages to this number, if given.")


def create_app() -> FastAPI:
    app = FastAPI(title="Local message sink")
    received: dict[str, ReceivedMessage] = {}
    faults = Faults(fail_next=0)

    @app.post("/v1/faults", status_code=204)
    async def set_faults(wanted: Faults) -> None:
        nonlocal faults
        faults = wanted

    @app.post("/v1/messages", status_code=202, response_model=None)
    async def accept(
        message: OutgoingMessage,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, str] | JSONResponse:
        nonlocal faults
        if faults.fail_next and faults.to in (None, message.to):
            faults = faults.model_copy(update={"fail_next": faults.fail_next - 1})
            log.info("refusing message %s with %d", message.reference, faults.status)
            return JSONResponse({"error": "injected fault"}, status_code=faults.status)
        key = idempotency_key or str(uuid.uuid4())
        if key not in received:
            received[key] = ReceivedMessage(**message.model_dump(), message_id=str(uuid.uuid4()))
            log.info(
                "%s message %s accepted (%d characters)",
                message.channel,
                message.reference,
                len(message.text),
            )
        return {"message_id": received[key].message_id}

    @app.get("/v1/messages")
    async def listing() -> list[ReceivedMessage]:
        return list(received.values())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8009)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s message-sink %(message)s")
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
