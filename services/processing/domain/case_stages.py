"""The stages of a case's work: who does each, and whose queue a case waits in after a step.

A case in a stage waits in that stage's queue until an officer of the stage's role claims it
(`Case.claim_for`); after the steps below it waits, unclaimed, in the next stage's queue.
"""

from __future__ import annotations

from shared.events.envelope import Event
from shared.events.models.cases import (
    CaseApproved,
    CaseOpened,
    CaseReleased,
    CaseResubmitted,
    CaseStage,
    CaseVerified,
    DocumentIssued,
)
from shared.identity import Role

STAGE_ROLES: dict[CaseStage, frozenset[Role]] = {
    CaseStage.VERIFICATION: frozenset({Role.VERIFIER}),
    CaseStage.APPROVAL: frozenset({Role.SIGNER}),
    CaseStage.ISSUANCE: frozenset({Role.OPERATOR}),
    CaseStage.COMPLETION: frozenset({Role.COUNTER_OFFICER, Role.OPERATOR}),
}
"""Who does the work of each stage."""


def stage_after(event: Event) -> CaseStage | None:
    """The stage whose queue a case waits in after `event`, if the event leaves it waiting."""
    if isinstance(event, CaseReleased):
        return event.stage
    return _WAITING_AFTER.get(type(event))


_WAITING_AFTER: dict[type[Event], CaseStage] = {
    CaseOpened: CaseStage.VERIFICATION,
    CaseResubmitted: CaseStage.VERIFICATION,
    CaseVerified: CaseStage.APPROVAL,
    CaseApproved: CaseStage.ISSUANCE,
    DocumentIssued: CaseStage.COMPLETION,
}
