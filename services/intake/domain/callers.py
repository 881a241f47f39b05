"""Who submits a request, and what a caller may see of one: the rules, free of any I/O.

Citizens see their own requests only, and another citizen's request is as good as absent (404),
so that trying ids reveals nothing. A village operator sees the requests of their village, a
counter officer those of their service point; anything else is refused openly (403), since staff
know requests exist.
"""

from __future__ import annotations

from enum import StrEnum

from services.intake.domain.citizen_request import CitizenRequest, Submitter
from services.intake.domain.identity import InvalidIdentity, normalize_phone
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, ActorKind, Channel
from shared.identity import STAFF_ROLES, Principal, Role

ANONYMOUS = "anonymous"


class MissingScope(Refusal, ValueError):
    """A village operator without a village, or a counter officer without a service point, in
    their token: they could submit requests nobody could follow up."""

    def __init__(self, message: str) -> None:
        super().__init__("missing_scope", message, Kind.FORBIDDEN)


def submitter(principal: Principal | None, channel: Channel = Channel.API) -> Submitter:
    """The submitter a caller acts as; no token is an anonymous citizen."""
    if principal is None:
        return Submitter(actor=Actor(kind=ActorKind.CITIZEN, id=ANONYMOUS, channel=channel))
    if Role.VILLAGE_OPERATOR in principal.roles:
        if principal.village is None:
            raise MissingScope("Token operator desa tidak memuat kode desa.")
        actor = Actor(
            kind=ActorKind.OPERATOR,
            id=principal.subject,
            role=Role.VILLAGE_OPERATOR,
            village=principal.village,
            channel=channel,
        )
        return Submitter(actor=actor, village=principal.village, contact_phone=_contact(principal))
    if Role.COUNTER_OFFICER in principal.roles:
        if principal.service_point is None:
            raise MissingScope("Token petugas loket tidak memuat tempat layanan.")
        actor = Actor(
            kind=ActorKind.STAFF,
            id=principal.subject,
            role=Role.COUNTER_OFFICER,
            service_point=principal.service_point,
            channel=channel,
        )
        return Submitter(
            actor=actor,
            service_point=principal.service_point,
            contact_phone=_contact(principal),
        )
    role = Role.CITIZEN if Role.CITIZEN in principal.roles else None
    actor = Actor(kind=ActorKind.CITIZEN, id=principal.subject, role=role, channel=channel)
    return Submitter(actor=actor, owner_phone=principal.phone_number)


def reader(principal: Principal) -> Actor:
    """Who reads a request's papers, as audit should name them."""
    if principal.roles & STAFF_ROLES:
        return Actor(
            kind=ActorKind.OPERATOR
            if Role.VILLAGE_OPERATOR in principal.roles
            else ActorKind.STAFF,
            id=principal.subject,
            role=",".join(sorted(principal.roles & STAFF_ROLES)),
            village=principal.village,
            service_point=principal.service_point,
            channel=Channel.API,
        )
    return submitter(principal).actor


def _contact(principal: Principal) -> str | None:
    """A staff member's phone from their token, if it is an Indonesian mobile number."""
    if principal.phone_number is None:
        return None
    try:
        return normalize_phone(principal.phone_number)
    except InvalidIdentity:
        return None


class Visibility(StrEnum):
    FULL = "FULL"
    """Someone who handles the citizen's papers: sees NIK and phone in full."""
    MASKED = "MASKED"
    """The citizen: sees their data only partly, in case their token is used by someone else."""
    FORBIDDEN = "FORBIDDEN"
    HIDDEN = "HIDDEN"


def visibility(principal: Principal, request: CitizenRequest) -> Visibility:
    roles = principal.roles
    if Role.VILLAGE_OPERATOR in roles and _same(principal.village, request.village):
        return Visibility.FULL
    if Role.COUNTER_OFFICER in roles and _same(principal.service_point, request.service_point):
        return Visibility.FULL
    if Role.CITIZEN in roles and _same(principal.phone_number, request.owner_phone):
        return Visibility.MASKED
    if principal.roles & {Role.VILLAGE_OPERATOR, Role.COUNTER_OFFICER}:
        return Visibility.FORBIDDEN
    return Visibility.HIDDEN


class RequestNotFound(Refusal):
    """No request has this id or tracking number, or none the caller may know of."""

    def __init__(self) -> None:
        super().__init__("not_found", "Permohonan tidak ditemukan.", Kind.NOT_FOUND)


class OutsideScope(Refusal):
    """A request outside a village operator's village or a counter officer's service point."""

    def __init__(self) -> None:
        super().__init__(
            "forbidden", "Permohonan ini di luar desa atau tempat layanan Anda.", Kind.FORBIDDEN
        )


def admit(seen_as: Visibility) -> None:
    """Refuses a request the caller may not know of as if absent, and one outside an
    operator's village or an officer's service point as forbidden."""
    if seen_as is Visibility.HIDDEN:
        raise RequestNotFound
    if seen_as is Visibility.FORBIDDEN:
        raise OutsideScope


def _same(claimed: str | None, recorded: str | None) -> bool:
    return claimed is not None and claimed == recorded


def mask_nik(nik: str) -> str:
    """Only the last four digits: enough for the citizen to recognise it."""
    return "*" * (len(nik) - 4) + nik[-4:]


def mask_phone(phone: str) -> str:
    """+62 and the last three digits."""
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]
