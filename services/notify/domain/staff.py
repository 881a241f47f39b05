"""The office's staff as notify knows them: who to tell of a case's or a disposition's deadline.

Staff are known by their token subject (`sub`), the id every event names them by. Their names,
e-mail addresses and phones are personal data: kept out of logs and out of `repr`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from shared.identity import Role

STALE_AFTER = timedelta(days=1)


def stale(step_at: datetime, *, now: datetime) -> bool:
    """Whether a notice about a step taken at `step_at` is too late to help: the holder has been
    reminded again since, or the breach long reported. Notify meets such steps only when its
    consumer group first reads a topic a running office already had, from its oldest event."""
    return now - step_at > STALE_AFTER


@dataclass(frozen=True)
class StaffMember:
    subject: str
    service_point: str
    roles: frozenset[Role]
    name: str = field(repr=False)
    email: str = field(repr=False)
    phone: str | None = field(default=None, repr=False)

    @property
    def notice_role(self) -> str:
        """The recipient's part of a notification id, `staff:<sub>`: one notice per event each."""
        return f"staff:{self.subject}"


@dataclass(frozen=True)
class Addressees:
    """Who a staff notice goes to, and the subjects it should reach that the directory lacks."""

    members: tuple[StaffMember, ...]
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffDirectory:
    """Every staff member by token subject; empty until the office's directory is loaded."""

    members: Mapping[str, StaffMember] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, members: Iterable[StaffMember]) -> StaffDirectory:
        return cls(MappingProxyType({member.subject: member for member in members}))

    def get(self, subject: str) -> StaffMember | None:
        return self.members.get(subject)

    def name_of(self, subject: str) -> str:
        """The member's name, or the subject itself for someone the directory lacks."""
        member = self.members.get(subject)
        return subject if member is None else member.name

    def supervisors_of(self, service_point: str) -> tuple[StaffMember, ...]:
        return tuple(
            member
            for subject, member in sorted(self.members.items())
            if member.service_point == service_point and Role.SUPERVISOR in member.roles
        )

    def addressees(self, subjects: Iterable[str]) -> Addressees:
        """The members named, each once, in order; the subjects it does not know, apart."""
        found: dict[str, StaffMember] = {}
        unknown: list[str] = []
        for subject in dict.fromkeys(subjects):
            member = self.members.get(subject)
            if member is None:
                unknown.append(subject)
            else:
                found[subject] = member
        return Addressees(members=tuple(found.values()), unknown=tuple(unknown))

    def of_case_deadline(self, *, holder: str | None, service_point: str | None) -> Addressees:
        """A case's deadline concerns the officer who holds it (if anyone) and the supervisors
        of the case's service point."""
        supervisors = [] if service_point is None else self.supervisors_of(service_point)
        holders = [] if holder is None else [holder]
        return self.addressees([*holders, *(member.subject for member in supervisors)])
