from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.intake.adapters.catalogue_file import (
    DEFAULT_CATALOGUE,
    InvalidCatalogue,
    load_catalogue,
)
from services.intake.domain.catalogue import (
    DocumentRequirement,
    FieldType,
    IntakeChannel,
    Regency,
    ServiceCatalogue,
    ServiceDefinition,
    UnknownService,
)
from services.intake.domain.forms import InvalidForm, check_field, check_fields
from shared.files import MediaType
from tests.builders import FORM_FIELDS

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
TODAY = date(2025, 3, 3)


def default_file() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    return raw


def write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_the_default_catalogue_offers_every_service_sorted_by_code() -> None:
    catalogue = load_catalogue()

    codes = [service.code for service in catalogue.all()]
    assert set(codes) == EVERY_CODE
    assert codes == sorted(codes)
    assert catalogue.regency == Regency(code="3516", name="Kabupaten Mojokerto")
    assert all(service.name and service.help and service.description for service in catalogue.all())


def test_only_biometric_recording_and_digital_id_activation_are_in_person() -> None:
    catalogue = load_catalogue()

    in_person = {service.code for service in catalogue.all() if service.in_person_only}
    assert in_person == {"KTP_REKAM", "IKD_AKTIVASI"}
    assert catalogue.get("KTP_REKAM").online is False
    assert catalogue.get("KK_BARU").online is True


def test_every_online_service_asks_for_documents_and_takes_every_channel() -> None:
    for service in load_catalogue().all():
        if service.in_person_only:
            assert IntakeChannel.VILLAGE_OPERATOR not in service.channels
            continue
        assert service.mandatory_documents, service.code
        assert service.channels == frozenset(IntakeChannel), service.code


def test_the_sample_answers_fill_every_online_form() -> None:
    catalogue = load_catalogue()
    online = {service.code for service in catalogue.all() if service.online}

    assert set(FORM_FIELDS) == online
    for code, answers in FORM_FIELDS.items():
        assert check_fields(catalogue.get(code), answers, today=TODAY) == answers


def test_a_document_with_alternatives_reads_as_either() -> None:
    akta = load_catalogue().get("AKTA_LAHIR")

    assert akta.document("BUKU_NIKAH") == DocumentRequirement(
        code="BUKU_NIKAH",
        name="Buku nikah orang tua",
        mandatory=True,
        media_types=(MediaType.PDF, MediaType.JPEG, MediaType.PNG),
        max_bytes=5 * 1024 * 1024,
        alternatives=("SPTJM kebenaran data kelahiran",),
    )
    assert "Buku nikah orang tua atau SPTJM kebenaran data kelahiran" in akta.requirements
    assert akta.mandatory_documents == {"SURAT_KELAHIRAN", "BUKU_NIKAH", "KK"}


def test_an_optional_document_is_not_mandatory() -> None:
    kia = load_catalogue().get("KIA")

    photo = kia.document("PAS_FOTO")
    assert photo is not None
    assert photo.mandatory is False
    assert "PAS_FOTO" not in kia.mandatory_documents


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda raw: raw["services"].append(raw["services"][0]), "service codes must be unique"),
        (lambda raw: raw["regency"].update(code="35"), "regency.code"),
        (
            lambda raw: raw["services"][0].update(deadline_working_days=None),
            "an in-person service has no deadline",
        ),
        (lambda raw: raw["services"][0].update(channels=["fax"]), "channels.0"),
        (
            lambda raw: raw["services"][0]["fields"][0].update(choices=[]),
            "a choice field needs choices",
        ),
        (
            lambda raw: raw["services"][0]["fields"][1].update(name="nik"),
            "is asked by every form already",
        ),
        (
            lambda raw: raw["services"][0]["documents"][0].update(media_types=["text/html"]),
            "media_types.0",
        ),
        (lambda raw: raw["services"][0].update(price=10000), "price"),
        (lambda raw: raw["services"][0].pop("help"), "help"),
    ],
    ids=[
        "duplicate-code",
        "short-regency-code",
        "online-without-deadline",
        "unknown-channel",
        "choice-without-choices",
        "reserved-field-name",
        "unknown-media-type",
        "unknown-key",
        "missing-help",
    ],
)
def test_a_broken_catalogue_is_refused_naming_the_file_and_the_fault(
    tmp_path: Path, change: Any, problem: str
) -> None:
    raw = copy.deepcopy(default_file())
    assert raw["services"][0]["code"] == "KK_BARU"
    change(raw)
    path = write(tmp_path, raw)

    with pytest.raises(InvalidCatalogue) as refused:
        load_catalogue(path)

    assert str(path) in str(refused.value)
    assert problem in str(refused.value)


def test_a_catalogue_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text('{"services": [', encoding="utf-8")

    with pytest.raises(InvalidCatalogue, match="is broken"):
        load_catalogue(path)


def test_a_missing_catalogue_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidCatalogue, match="cannot read"):
        load_catalogue(tmp_path / "nothing.json")


def test_duplicate_codes_are_refused_in_code_too() -> None:
    service = load_catalogue().get("KIA")

    with pytest.raises(ValueError, match="unique"):
        ServiceCatalogue([service, service], regency=Regency(code="3516", name="Mojokerto"))


def test_an_unknown_code_raises_unknown_service_naming_it() -> None:
    with pytest.raises(UnknownService) as unknown:
        load_catalogue().get("SIM_BARU")

    assert unknown.value.service_code == "SIM_BARU"


def service_with_every_field_type() -> ServiceDefinition:
    return load_catalogue().get("AKTA_MATI")


@pytest.mark.parametrize(
    ("name", "given", "stored"),
    [
        ("family_card_number", "3516 0901 0108 0001", "3516090101080001"),
        ("deceased_nik", "3516.0950.0550.0002", "3516095005500002"),
        ("deceased_name", "  Sumarni  binti  Karto ", "Sumarni binti Karto"),
        ("date_of_death", "2025-03-03", "2025-03-03"),
    ],
)
def test_an_answer_is_normalised(name: str, given: str, stored: str) -> None:
    field = service_with_every_field_type().field(name)
    assert field is not None

    assert check_field(field, given, today=TODAY) == stored


@pytest.mark.parametrize(
    ("name", "given", "reason"),
    [
        ("family_card_number", "35160901010800", "16 angka"),
        ("deceased_nik", "3516093204800001", "NIK tidak valid"),
        ("deceased_name", "Su\u202emarni", "Nama almarhum"),
        ("date_of_death", "2025-03-04", "masa depan"),
        ("date_of_death", "03/03/2025", "TTTT-BB-HH"),
        ("date_of_death", "1850-01-01", "1900"),
        ("deceased_name", "x" * 121, "paling panjang 120"),
    ],
)
def test_a_wrong_answer_is_refused_with_a_reason(name: str, given: str, reason: str) -> None:
    field = service_with_every_field_type().field(name)
    assert field is not None

    with pytest.raises(InvalidForm) as refused:
        check_field(field, given, today=TODAY)

    assert refused.value.field == f"fields.{name}"
    assert reason in str(refused.value)


def test_a_choice_is_taken_in_any_case_and_stored_as_its_key() -> None:
    field = load_catalogue().get("KTP_CETAK").field("reason")
    assert field is not None
    assert field.type is FieldType.CHOICE

    assert check_field(field, " hilang ", today=TODAY) == "HILANG"
    with pytest.raises(InvalidForm, match="HILANG, RUSAK, PERUBAHAN_DATA"):
        check_field(field, "dicuri", today=TODAY)


def test_a_missing_required_field_and_an_unknown_one_are_refused_by_name() -> None:
    service = load_catalogue().get("KK_BARU")

    with pytest.raises(InvalidForm) as missing:
        check_fields(service, {"reason": "MENIKAH"}, today=TODAY)
    with pytest.raises(InvalidForm) as unknown:
        check_fields(service, {**FORM_FIELDS["KK_BARU"], "religion": "x"}, today=TODAY)
    with pytest.raises(InvalidForm) as blank:
        check_fields(service, {**FORM_FIELDS["KK_BARU"], "address": "   "}, today=TODAY)

    assert missing.value.field == "fields.address"
    assert unknown.value.field == "fields.religion"
    assert blank.value.field == "fields.address"
