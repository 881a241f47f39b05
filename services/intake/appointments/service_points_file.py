"""Loads the service points that take visits from JSON, so the office sets capacity without a
code change.

The file is checked in full when intake starts, against the catalogue too: a broken file stops
the service with a message that names the file and every problem in it, rather than refusing a
citizen's booking later.
"""

from __future__ import annotations

import itertools
from datetime import time
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from services.intake.appointments.domain.places import ServicePoint, ServicePoints, TimeSlot
from services.intake.domain.catalogue import ServiceCatalogue, UnknownService

DEFAULT_SERVICE_POINTS = Path(__file__).resolve().parent.parent / "service_points.json"

Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class InvalidServicePoints(ValueError):
    """The service points file cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Slot(_Strict):
    start: ClockTime
    end: ClockTime
    capacity: int = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"slot {self.start}-{self.end} ends before it starts")
        return self


class _Point(_Strict):
    code: Code
    name: Text
    address: Text
    services: list[Code] = Field(min_length=1)
    slots: list[_Slot] = Field(min_length=1, max_length=48)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.services)) != len(self.services):
            raise ValueError("a service is listed twice")
        ordered = sorted(self.slots, key=lambda slot: slot.start)
        for before, after in itertools.pairwise(ordered):
            if after.start < before.end:
                raise ValueError(
                    f"slots {before.start}-{before.end} and {after.start}-{after.end} overlap"
                )
        return self


class _File(_Strict):
    service_points: list[_Point] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> Self:
        codes = [point.code for point in self.service_points]
        if len(set(codes)) != len(codes):
            raise ValueError("service point codes must be unique")
        return self


def load_service_points(
    catalogue: ServiceCatalogue, path: Path = DEFAULT_SERVICE_POINTS
) -> ServicePoints:
    """Reads and checks the file: each point offers in-person services of the catalogue only,
    and every in-person service is offered somewhere. Raises InvalidServicePoints naming the
    file and its faults."""
    try:
        raw = _File.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidServicePoints(f"cannot read the service points {path}: {exc}") from None
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        ]
        raise _broken(path, problems) from None
    problems = _catalogue_problems(raw, catalogue)
    if problems:
        raise _broken(path, problems)
    return ServicePoints(_point(item) for item in raw.service_points)


def _broken(path: Path, problems: list[str]) -> InvalidServicePoints:
    return InvalidServicePoints(f"the service points {path} are broken: {'; '.join(problems)}")


def _catalogue_problems(raw: _File, catalogue: ServiceCatalogue) -> list[str]:
    problems = []
    for index, point in enumerate(raw.service_points):
        for code in point.services:
            try:
                in_person = catalogue.get(code).in_person_only
            except UnknownService:
                problems.append(f"service_points.{index}.services: {code} is not in the catalogue")
                continue
            if not in_person:
                problems.append(
                    f"service_points.{index}.services: {code} is not an in-person service"
                )
    offered = {code for point in raw.service_points for code in point.services}
    problems += [
        f"file: in-person service {service.code} is offered at no service point"
        for service in catalogue.all()
        if service.in_person_only and service.code not in offered
    ]
    return problems


def _point(item: _Point) -> ServicePoint:
    return ServicePoint(
        code=item.code,
        name=item.name,
        address=item.address,
        services=frozenset(item.services),
        slots=tuple(
            TimeSlot(
                start=time.fromisoformat(slot.start),
                end=time.fromisoformat(slot.end),
                capacity=slot.capacity,
            )
            for slot in sorted(item.slots, key=lambda slot: slot.start)
        ),
    )
