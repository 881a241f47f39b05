"""A FastAPI endpoint that validates a submission and does one insert_one, and nothing else.

Served by uvicorn in its own process like a service, it is the ceiling for intake's POST: what HTTP,
pydantic and one write to the engine cost on this machine.

    .venv/bin/python -m benchmarks.bare_endpoint --port 8010 --mongo-url mongodb://127.0.0.1:27017/
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI, Request, status
from pydantic import BaseModel

from shared.mongo import new_mongo_client

DATABASE = "bench_bare_endpoint"
"""A throwaway database: whoever starts the endpoint drops it afterwards."""


class Submission(BaseModel):
    service_code: str
    nik: str
    name: str
    phone: str
    preferred_channel: str
    fields: dict[str, str]


def create_app(mongo_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = new_mongo_client(mongo_url)
        app.state.items = client[DATABASE]["items"]
        try:
            yield
        finally:
            await client.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/items", status_code=status.HTTP_201_CREATED)
    async def create_item(submission: Submission, request: Request) -> dict[str, str]:
        item_id = uuid.uuid4().hex
        document = {"_id": item_id, **submission.model_dump(), "created_at": datetime.now(UTC)}
        await request.app.state.items.insert_one(document)
        return {"id": item_id}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mongo-url", required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.mongo_url), host="127.0.0.1", port=args.port, log_config=None)


if __name__ == "__main__":
    main()
