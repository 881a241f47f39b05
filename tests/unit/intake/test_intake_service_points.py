"""The service points file: read in full at start, a broken one refused with every fault named."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.appointments.service_points_file import (
    InvalidServicePoints,
    load_service_points,
)
from services.intake.bootstrap import create_app
from services.intake.config import IntakeSettings
from tests.auth import STAFF_KEYS

CATALOGUE = load_catalogue()


def point(**changes: Any) -> dict[str, Any]:
    return {
        "code": "KANTOR_DINAS",
        "name": "Kantor Dinas",
        "address": "Mojokerto",
        "services": ["KTP_REKAM", "IKD_AKTIVASI"],
        "slots": [
            {"start": "09:00", "end": "10:00", "capacity": 4},
            {"start": "08:00", "end": "09:00", "capacity": 2},
        ],
    } | changes


def written(tmp_path: Path, *points: dict[str, Any]) -> Path:
    path = tmp_path / "service_points.json"
    path.write_text(json.dumps({"service_points": list(points)}))
    return path


def test_the_default_file_offers_every_in_person_service() -> None:
    points = load_service_points(CATALOGUE)

    assert [p.code for p in points.all()] == ["KANTOR_DINAS", "KEC_MOJOSARI", "MPP_MOJOKERTO"]
    assert {p.code for p in points.offering("KTP_REKAM")} >= {"KANTOR_DINAS"}
    assert all(slot.capacity >= 1 for p in points.all() for slot in p.slots)


def test_slots_are_kept_in_clock_order(tmp_path: Path) -> None:
    [loaded] = load_service_points(CATALOGUE, written(tmp_path, point())).all()

    assert [(slot.start, slot.capacity) for slot in loaded.slots] == [(time(8), 2), (time(9), 4)]
    assert loaded.slot("09:00-10:00").capacity == 4


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"slots": [{"start": "09:00", "end": "08:00", "capacity": 1}]}, "ends before it starts"),
        (
            {
                "slots": [
                    {"start": "08:00", "end": "09:30", "capacity": 1},
                    {"start": "09:00", "end": "10:00", "capacity": 1},
                ]
            },
            "overlap",
        ),
        ({"slots": [{"start": "8:00", "end": "09:00", "capacity": 1}]}, "slots.0.start"),
        ({"slots": [{"start": "08:00", "end": "09:00", "capacity": 0}]}, "slots.0.capacity"),
        ({"services": ["KTP_REKAM", "KTP_REKAM", "IKD_AKTIVASI"]}, "listed twice"),
        ({"services": ["KTP_REKAM", "IKD_AKTIVASI", "KK_BARU"]}, "KK_BARU is not an in-person"),
        ({"services": ["KTP_REKAM", "IKD_AKTIVASI", "SIM_BARU"]}, "SIM_BARU is not in the cat"),
        ({"services": ["KTP_REKAM"]}, "IKD_AKTIVASI is offered at no service point"),
        ({"code": "kantor"}, "service_points.0.code"),
        ({"capacity": 3}, "Extra inputs"),
    ],
)
def test_a_broken_file_stops_the_service_naming_the_file_and_fault(
    tmp_path: Path, changes: dict[str, Any], fault: str
) -> None:
    path = written(tmp_path, point(**changes))

    with pytest.raises(InvalidServicePoints) as refused:
        load_service_points(CATALOGUE, path)

    assert str(path) in str(refused.value)
    assert fault in str(refused.value)


def test_duplicate_codes_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidServicePoints, match="codes must be unique"):
        load_service_points(CATALOGUE, written(tmp_path, point(), point()))
    with pytest.raises(InvalidServicePoints, match="cannot read"):
        load_service_points(CATALOGUE, tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InvalidServicePoints, match="broken"):
        load_service_points(CATALOGUE, tmp_path / "broken.json")


def test_intake_does_not_start_with_a_broken_file(tmp_path: Path) -> None:
    settings = IntakeSettings(
        service_points_file=written(tmp_path, point(services=["KK_BARU"])),
        local_secrets_dir=tmp_path / "secrets",
    )

    with pytest.raises(InvalidServicePoints, match="KK_BARU is not an in-person service"):
        create_app(settings, staff_keys=STAFF_KEYS)
