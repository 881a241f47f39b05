from __future__ import annotations

import dataclasses

from services.audit.domain.chain import (
    GENESIS_HASH,
    AuditEntry,
    ChainVerification,
    ChainVerifier,
    next_entry,
)
from tests.builders import audit_chain


def verify(entries: list[AuditEntry]) -> ChainVerification:
    verifier = ChainVerifier()
    for entry in entries:
        if not verifier.check(entry):
            break
    return verifier.result()


def test_the_first_entry_has_sequence_one_and_links_to_genesis() -> None:
    [first] = audit_chain("req-1")

    assert first.sequence == 1
    assert first.previous_hash == GENESIS_HASH
    assert len(first.entry_hash) == 64
    assert first.entry_hash != GENESIS_HASH


def test_each_entry_follows_and_links_to_the_one_before() -> None:
    first, second, third = audit_chain("req-1", "req-2", "req-1")

    assert [second.sequence, third.sequence] == [2, 3]
    assert second.previous_hash == first.entry_hash
    assert third.previous_hash == second.entry_hash


def test_the_hash_commits_to_the_content() -> None:
    [one] = audit_chain("req-1", data={"n": 1})
    [other] = audit_chain("req-1", data={"n": 2})
    [same] = audit_chain("req-1", data={"n": 1})

    assert one.entry_hash == same.entry_hash
    assert one.entry_hash != other.entry_hash


def test_an_intact_chain_is_valid() -> None:
    chain = audit_chain("a", "b", "c", "d")

    assert verify(chain) == ChainVerification(
        valid=True, entries=4, head_hash=chain[-1].entry_hash, first_invalid_sequence=None
    )


def test_an_empty_chain_is_valid() -> None:
    assert verify([]) == ChainVerification(valid=True, entries=0, head_hash=GENESIS_HASH)


def test_a_changed_data_field_is_detected_at_its_entry() -> None:
    chain = audit_chain("a", "b", "c", "d")
    chain[2] = dataclasses.replace(chain[2], data={"n": 999})

    result = verify(chain)

    assert result.valid is False
    assert result.first_invalid_sequence == 3
    assert result.entries == 2
    assert result.head_hash == chain[1].entry_hash


def test_a_changed_envelope_field_is_detected() -> None:
    chain = audit_chain("a", "b", "c")
    chain[1] = dataclasses.replace(chain[1], subject="someone-else")

    assert verify(chain).first_invalid_sequence == 2


def test_a_removed_entry_is_detected_where_it_was() -> None:
    chain = audit_chain("a", "b", "c", "d")
    del chain[1]

    result = verify(chain)

    assert result.valid is False
    assert result.first_invalid_sequence == 2


def test_swapped_entries_are_detected() -> None:
    chain = audit_chain("a", "b", "c", "d")
    chain[1], chain[2] = chain[2], chain[1]

    result = verify(chain)

    assert result.valid is False
    assert result.first_invalid_sequence == 2


def test_renumbered_entries_are_detected() -> None:
    chain = audit_chain("a", "b", "c")
    chain[2] = dataclasses.replace(chain[2], sequence=7)

    assert verify(chain).first_invalid_sequence == 3


def test_an_entry_linked_to_a_forged_predecessor_is_detected() -> None:
    """The entry's own hash is right; only its link to the entry before it is wrong."""
    chain = audit_chain("a", "b", "c")
    [forged_first] = audit_chain("a", data={"forged": True})
    relinked = next_entry(
        forged_first,
        event_id=chain[1].event_id,
        event_type=chain[1].event_type,
        source=chain[1].source,
        subject=chain[1].subject,
        event_time=chain[1].event_time,
        recorded_at=chain[1].recorded_at,
        data=chain[1].data,
    )
    chain[1] = relinked

    result = verify(chain)

    assert relinked.sequence == 2
    assert result.valid is False
    assert result.first_invalid_sequence == 2


def test_the_verifier_stays_broken_after_the_first_invalid_entry() -> None:
    chain = audit_chain("a", "b", "c")
    verifier = ChainVerifier()

    assert verifier.check(chain[0]) is True
    assert verifier.check(chain[2]) is False
    assert verifier.check(chain[1]) is False
    assert verifier.result().first_invalid_sequence == 2
    assert verifier.result().entries == 1
