"""Loads the service catalogue from JSON, so the office can change it without a code change."""

from __future__ import annotations

import json
from pathlib import Path

from services.intake.domain.catalogue import ServiceCatalogue, ServiceDefinition

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue.json"


def load_catalogue(path: Path = DEFAULT_CATALOGUE) -> ServiceCatalogue:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return ServiceCatalogue(
        [
            ServiceDefinition(
                code=item["code"],
                name=item["name"],
                requirements=tuple(item["requirements"]),
                deadline_working_days=item["deadline_working_days"],
                in_person_only=item["in_person_only"],
            )
            for item in raw["services"]
        ]
    )
