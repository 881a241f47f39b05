"""Loads the staff directory from the JSON file the office maintains (`NOTIFY_STAFF_DIRECTORY`).

The file is checked in full when notify starts; a broken one stops the service with a message
naming the file and every fault by the member's subject and field, never by a value: the file
holds names, e-mail addresses and phones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from services.notify.domain.staff import StaffDirectory, StaffMember
from shared.errors import InvalidConfiguration
from shared.identity import STAFF_ROLES, Role

SAMPLE_STAFF_DIRECTORY = Path(__file__).resolve().parent.parent / "staff_directory.json"
"""The local sample: the subjects the local token issuer mints (`<role>-test`), for development
and tests only; production names its own file."""

Subject = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@|-]{0,127}$")]
ServicePoint = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", max_length=254)
]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{7,14}$")]
StaffRole = Annotated[Role, Field(description="A staff role of shared.auth.Role.")]


class InvalidStaffDirectory(InvalidConfiguration):
    """The staff directory cannot be used; the message says where and why."""


class _Member(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
    email: Email
    phone: Phone | None = None
    service_point: ServicePoint
    roles: Annotated[list[StaffRole], Field(min_length=1)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    staff: dict[Subject, _Member]


def load_staff_directory(path: Path = SAMPLE_STAFF_DIRECTORY) -> StaffDirectory:
    """Reads and checks the directory; raises InvalidStaffDirectory naming the file and faults."""
    try:
        raw = _File.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidStaffDirectory(
            f"cannot read the staff directory {path}: {exc.strerror}"
        ) from None
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidStaffDirectory(_broken(path, problems)) from None
    problems = [
        f"staff.{subject}.roles: {role} is not a staff role"
        for subject, member in raw.staff.items()
        for role in member.roles
        if role not in STAFF_ROLES
    ]
    if problems:
        raise InvalidStaffDirectory(_broken(path, problems))
    return StaffDirectory.of(
        StaffMember(
            subject=subject,
            service_point=member.service_point,
            roles=frozenset(member.roles),
            name=member.name,
            email=member.email,
            phone=member.phone,
        )
        for subject, member in raw.staff.items()
    )


def _broken(path: Path, problems: list[str]) -> str:
    return f"the staff directory {path} is broken: {'; '.join(problems)}"
