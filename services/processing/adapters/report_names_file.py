"""Loads what the monthly report calls districts and officers from the files the office keeps.

Districts: `PROCESSING_DISTRICTS_FILE` (the packaged `districts.json` by default), the regency's
kecamatan by their Kemendagri codes (`35.16.01`). Officers: `PROCESSING_STAFF_DIRECTORY`, the same
file notify sends staff notices by (`NOTIFY_STAFF_DIRECTORY`); only each subject's name is read
and kept, in memory. Both are checked in full when processing starts; a broken file stops it with
a message naming the file and every fault by place, never by value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from shared.errors import InvalidConfiguration

DEFAULT_DISTRICTS = Path(__file__).resolve().parent.parent / "districts.json"
"""Kabupaten Mojokerto's 18 kecamatan; another regency's office names its own file."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
Subject = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@|-]{0,127}$")]
Regency = Annotated[str, StringConstraints(pattern=r"^\d\d\.\d\d$")]
District = Annotated[str, StringConstraints(pattern=r"^\d\d\.\d\d\.\d\d$")]


class InvalidReportNames(InvalidConfiguration):
    """A file of the report's names cannot be used; the message says where and why."""


class _Regency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    code: Regency
    name: Name


class _Districts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    regency: _Regency
    districts: dict[District, Name]


class _Member(BaseModel):
    """A staff directory entry: the report needs only the name; the rest is notify's."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    name: Name


class _StaffDirectory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    staff: dict[Subject, _Member]


def load_districts(path: Path = DEFAULT_DISTRICTS) -> dict[str, str]:
    """The regency's districts: Kemendagri code (`35.16.09`) → name."""
    regency = _read(path, _Districts)
    outside = [
        code for code in regency.districts if not code.startswith(f"{regency.regency.code}.")
    ]
    if not regency.districts or outside:
        detail = f"not of {regency.regency.code}: {', '.join(outside)}" if outside else "none"
        raise InvalidReportNames(f"{path} is broken: districts {detail}")
    return dict(regency.districts)


def load_staff_names(path: Path) -> dict[str, str]:
    """Officers' names by token subject, from the staff directory."""
    return {subject: member.name for subject, member in _read(path, _StaffDirectory).staff.items()}


Model = TypeVar("Model", bound=BaseModel)


def _read(path: Path, model: type[Model]) -> Model:
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidReportNames(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidReportNames(f"{path} is broken: {'; '.join(problems)}") from None
