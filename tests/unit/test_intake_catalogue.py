from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.domain.catalogue import ServiceCatalogue, ServiceDefinition, UnknownService

EVERY_CODE = {
    "KK_BARU",
    "KK_UBAH",
    "KK_HILANG",
    "KTP_CETAK",
    "KTP_REKAM",
    "KIA",
    "AKTA_LAHIR",
    "AKTA_MATI",
    "PINDAH_KELUAR",
    "PINDAH_DATANG",
    "UBAH_DATA",
    "IKD_AKTIVASI",
}


def definition(code: str, *, in_person_only: bool = False) -> ServiceDefinition:
    return ServiceDefinition(
        code=code,
        name=f"Layanan {code}",
        requirements=("Kartu Keluarga",),
        deadline_working_days=None if in_person_only else 1,
        in_person_only=in_person_only,
    )


def test_the_default_catalogue_offers_every_service_sorted_by_code() -> None:
    services = load_catalogue().all()

    codes = [service.code for service in services]
    assert set(codes) == EVERY_CODE
    assert codes == sorted(codes)
    assert all(service.name and service.requirements for service in services)


def test_only_biometric_recording_and_digital_id_activation_are_in_person() -> None:
    catalogue = load_catalogue()

    in_person = {service.code for service in catalogue.all() if service.in_person_only}

    assert in_person == {"KTP_REKAM", "IKD_AKTIVASI"}
    assert catalogue.get("KTP_REKAM").online is False
    assert catalogue.get("KK_BARU").online is True


def test_a_catalogue_file_is_read_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    service = {
        "code": "KIA",
        "name": "Kartu Identitas Anak",
        "requirements": ["Akta kelahiran", "Pas foto"],
        "deadline_working_days": 3,
        "in_person_only": False,
    }
    path.write_text(json.dumps({"services": [service]}), encoding="utf-8")

    assert load_catalogue(path).get("KIA") == ServiceDefinition(
        code="KIA",
        name="Kartu Identitas Anak",
        requirements=("Akta kelahiran", "Pas foto"),
        deadline_working_days=3,
        in_person_only=False,
    )


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        ServiceCatalogue([definition("KIA"), definition("KK_BARU"), definition("KIA")])


def test_a_catalogue_file_with_duplicate_codes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    service = {
        "code": "KIA",
        "name": "Kartu Identitas Anak",
        "requirements": [],
        "deadline_working_days": 1,
        "in_person_only": False,
    }
    path.write_text(json.dumps({"services": [service, service]}), encoding="utf-8")

    with pytest.raises(ValueError, match="unique"):
        load_catalogue(path)


def test_an_unknown_code_raises_unknown_service_naming_it() -> None:
    with pytest.raises(UnknownService) as unknown:
        load_catalogue().get("SIM_BARU")

    assert unknown.value.code == "SIM_BARU"
