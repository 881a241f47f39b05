"""The steps officials take on a letter over HTTP: the head of office disposes it, officials
read, pass on, withdraw, follow up and close their dispositions, and the reply or the closing
ends it. Each step answers with the letter as reading it would, the read of a confidential one
recorded too; who may take it, and the errors it answers with, are those of `routes.py`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from services.processing.letters import service_layer as letters
from services.processing.letters.domain.letter import Letter
from services.processing.letters.routes import (
    STEP_ERRORS,
    DispositionIdPath,
    LetterIdPath,
    LettersContext,
    LettersDep,
    staff,
)
from services.processing.letters.service_layer import Staff
from services.processing.letters.views import (
    CloseBody,
    DisposeBody,
    LetterView,
    NoteBody,
    ReplyBody,
)
from shared.access import CallerDep

steps_router = APIRouter(prefix="/v1/letters", tags=["letters"])


@steps_router.post("/{letter_id}/dispositions", responses=STEP_ERRORS)
async def dispose(
    letter_id: LetterIdPath, body: DisposeBody, context: LettersDep, caller: CallerDep
) -> LetterView:
    """Disposes the letter to officials: the head of office first, then each holder further
    down, with an instruction from the office's list and a deadline no later than the one
    above."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.dispose(
            acting.actor,
            body.order(acting.official),
            policy=context.policy,
            head_of_office=acting.heads(letter),
            now=now,
        ),
    )


@steps_router.post("/{letter_id}/dispositions/{disposition_id}/read", responses=STEP_ERRORS)
async def read_disposition(
    letter_id: LetterIdPath,
    disposition_id: DispositionIdPath,
    context: LettersDep,
    caller: CallerDep,
) -> LetterView:
    """The holder opens their disposition; it can no longer be withdrawn."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.read(acting.actor, disposition_id, now=now),
    )


@steps_router.post("/{letter_id}/dispositions/{disposition_id}/withdraw", responses=STEP_ERRORS)
async def withdraw(
    letter_id: LetterIdPath,
    disposition_id: DispositionIdPath,
    context: LettersDep,
    caller: CallerDep,
) -> LetterView:
    """The one who disposed takes an unread disposition back."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.withdraw(acting.actor, disposition_id, now=now),
    )


@steps_router.post("/{letter_id}/dispositions/{disposition_id}/follow-up", responses=STEP_ERRORS)
async def follow_up(
    letter_id: LetterIdPath,
    disposition_id: DispositionIdPath,
    body: NoteBody,
    context: LettersDep,
    caller: CallerDep,
) -> LetterView:
    """The holder reports what they did."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.follow_up(acting.actor, disposition_id, body.note, now=now),
    )


@steps_router.post("/{letter_id}/dispositions/{disposition_id}/close", responses=STEP_ERRORS)
async def close_disposition(
    letter_id: LetterIdPath,
    disposition_id: DispositionIdPath,
    context: LettersDep,
    caller: CallerDep,
) -> LetterView:
    """The holder closes their read disposition: nothing (more) to do."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.close_disposition(acting.actor, disposition_id, now=now),
    )


@steps_router.post("/{letter_id}/reply", responses=STEP_ERRORS)
async def register_reply(
    letter_id: LetterIdPath, body: ReplyBody, context: LettersDep, caller: CallerDep
) -> LetterView:
    """Registers the outgoing reply under its own number; it closes the letter, so only its
    clerk, the head of its office or someone on its chain may."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.answer(
            acting.actor,
            reply_number=body.reply_number,
            reply_date=body.reply_date,
            head_of_office=acting.heads(letter),
            now=now,
        ),
    )


@steps_router.post("/{letter_id}/close", responses=STEP_ERRORS)
async def close_letter(
    letter_id: LetterIdPath, body: CloseBody, context: LettersDep, caller: CallerDep
) -> LetterView:
    """The head of the letter's office closes a letter that needs no reply."""
    acting, now = staff(caller), context.clock()
    return await _act(
        context,
        acting,
        letter_id,
        lambda letter: letter.close(
            acting.actor, body.reason, head_of_office=acting.heads(letter), now=now
        ),
    )


async def _act(
    context: LettersContext, acting: Staff, letter_id: str, step: Callable[[Letter], object]
) -> LetterView:
    letter = await letters.take(
        letter_id=letter_id,
        staff=acting,
        step=step,
        repository=context.repository,
        now=context.clock(),
    )
    return LetterView.of(letter)
