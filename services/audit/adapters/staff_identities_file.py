"""The office's staff directory: each officer's token subject with their own NIK and family card
number, which the self-dealing rule compares with applicants'.

Tokens carry no NIK (only `sub`, `name`, `roles`, `service_point`), and the rule must not trust
what an officer could leave out of their own token; so the office keeps this file (a JSON list
of `{"sub", "nik", "family_card_number"}`) outside the repository, and audit reads it at start.
The numbers are replaced at once by pseudonyms under the log's key, the same keyed HMAC as
applicants' in the log, and the raw numbers are kept nowhere. Without a file the rule has no
one to compare, which the service logs at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from services.audit.domain.integrity.context import StaffIdentity
from services.audit.domain.pseudonym import pseudonym
from shared.errors import InvalidConfiguration

Digits16 = Annotated[str, StringConstraints(pattern=r"^\d{16}$")]


class InvalidStaffDirectory(InvalidConfiguration):
    """The directory cannot be used; the message names the file and the problem, never a NIK."""


class _Officer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sub: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    nik: Digits16
    family_card_number: Digits16 | None = None


_DIRECTORY = TypeAdapter(list[_Officer])


def load_staff_directory(path: Path, *, key: bytes) -> dict[str, StaffIdentity]:
    """Officers by token subject, their numbers as pseudonyms."""
    try:
        officers = _DIRECTORY.validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidStaffDirectory(f"{path}: cannot be read ({exc.strerror})") from None
    except ValidationError as exc:
        places = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
        raise InvalidStaffDirectory(f"{path}: invalid at {', '.join(places)}") from None
    return {
        officer.sub: StaffIdentity(
            nik=pseudonym(officer.nik, key),
            family_card=None
            if officer.family_card_number is None
            else pseudonym(officer.family_card_number, key),
        )
        for officer in officers
    }
