"""Signed notes and checkpoints against the published vectors of golang.org/x/mod/sumdb/note
(`note_test.go`) and the C2SP tlog-checkpoint example."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.domain.checkpoint import (
    Checkpoint,
    open_checkpoint,
    sign_checkpoint,
)
from services.audit.domain.note import InvalidNote, NoteSigner, NoteVerifier

PETER_PRIVATE = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIGNATURE = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIGNATURE = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)


def peter_signer() -> NoteSigner:
    """The published private key is 0x01 and the Ed25519 seed, in base64 after its hash."""
    encoded = PETER_PRIVATE.split("+", 4)[4]
    seed = base64.b64decode(encoded)[1:]
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_the_published_key_gives_the_published_verifier_key_and_signature() -> None:
    signer = peter_signer()

    assert signer.verifier_key == PETER
    assert signer.sign(TEXT) == TEXT + "\n" + PETER_SIGNATURE


def test_a_note_signed_by_the_key_opens_and_other_signatures_are_ignored() -> None:
    verifier = NoteVerifier.parse(PETER)

    assert verifier.open(TEXT + "\n" + PETER_SIGNATURE + ENOCH_SIGNATURE) == TEXT
    assert NoteVerifier.parse(ENOCH).open(TEXT + "\n" + PETER_SIGNATURE + ENOCH_SIGNATURE) == TEXT


def test_a_note_without_the_keys_signature_does_not_open() -> None:
    with pytest.raises(InvalidNote, match="tidak ada tanda tangan PeterNeumann"):
        NoteVerifier.parse(PETER).open(TEXT + "\n" + ENOCH_SIGNATURE)


def test_a_changed_text_or_signature_does_not_open() -> None:
    verifier = NoteVerifier.parse(PETER)
    changed_text = TEXT.replace("answer", "Answer")
    changed_signature = PETER_SIGNATURE[:60] + "ABCD" + PETER_SIGNATURE[60:]

    with pytest.raises(InvalidNote, match="tidak cocok"):
        verifier.open(changed_text + "\n" + PETER_SIGNATURE)
    with pytest.raises(InvalidNote, match="tidak cocok"):
        verifier.open(TEXT + "\n" + changed_signature)


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIGNATURE[:-1],
        "\x01" + TEXT + "\n" + PETER_SIGNATURE,
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX=\n",
        TEXT + "\n" + PETER_SIGNATURE + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIGNATURE * 101,
    ],
)
def test_malformed_notes_do_not_open(note: str) -> None:
    with pytest.raises(InvalidNote):
        NoteVerifier.parse(PETER).open(note)


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    accepted = []
    for start in range(len(PETER) + 1):
        for end in range(start + 1, len(PETER) + 1):
            if (start, end) != (0, len(PETER)) and parses(PETER[start:end]):
                accepted.append(PETER[start:end])
    for position in range(len(PETER)):
        mangled = PETER[:position] + chr(ord(PETER[position]) + 1) + PETER[position + 1 :]
        if parses(mangled):
            accepted.append(mangled)

    assert accepted == []


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
    ids=["wrong key length", "unknown algorithm"],
)
def test_keys_of_another_kind_are_refused_even_with_their_hash_adjusted(key: str) -> None:
    assert not parses(key)


def parses(key: str) -> bool:
    try:
        NoteVerifier.parse(key)
    except ValueError:
        return False
    return True


def test_a_key_name_has_no_spaces_and_no_plus() -> None:
    key = Ed25519PrivateKey.generate()
    for name in ("", "a b", "a+b", "a\u00a0b"):
        with pytest.raises(ValueError, match="key name"):
            NoteSigner(name, key)


C2SP_EXAMPLE = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_the_published_checkpoint_text_reads_and_writes_back_the_same() -> None:
    checkpoint = Checkpoint.parse(C2SP_EXAMPLE)

    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert len(checkpoint.root_hash) == 32
    assert checkpoint.text() == C2SP_EXAMPLE


def test_extension_lines_are_allowed_and_left_out() -> None:
    assert Checkpoint.parse(C2SP_EXAMPLE + "extension\n") == Checkpoint.parse(C2SP_EXAMPLE)


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n20852163\n",
        "example.com/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",
        "example.com/log\n1\nAAAA\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ],
    ids=[
        "no root",
        "leading zero",
        "negative",
        "bad base64",
        "short root",
        "no final newline",
        "no origin",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(InvalidNote):
        Checkpoint.parse(text)


def test_a_signed_checkpoint_opens_only_for_its_own_log() -> None:
    key = Ed25519PrivateKey.generate()
    signer = NoteSigner("adminduk.test/audit", key)
    checkpoint = Checkpoint("adminduk.test/audit", 5, b"\x07" * 32)

    signed = sign_checkpoint(checkpoint, signer)

    assert signed.note.startswith(
        "adminduk.test/audit\n5\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n— "
    )
    assert open_checkpoint(signed.note, NoteVerifier.parse(signer.verifier_key)) == signed
    with pytest.raises(ValueError, match="origin"):
        sign_checkpoint(Checkpoint("elsewhere/log", 5, b"\x07" * 32), signer)
    impostor = NoteSigner("elsewhere/log", key)
    foreign = impostor.sign(Checkpoint("adminduk.test/audit", 5, b"\x07" * 32).text())
    with pytest.raises(InvalidNote, match=r"tidak ada tanda tangan adminduk\.test/audit"):
        open_checkpoint(foreign, NoteVerifier.parse(signer.verifier_key))
    mislabelled = signer.sign(Checkpoint("elsewhere/log", 5, b"\x07" * 32).text())
    with pytest.raises(InvalidNote, match="milik 'elsewhere/log'"):
        open_checkpoint(mislabelled, NoteVerifier.parse(signer.verifier_key))


def test_verifier_keys_whose_base64_holds_a_plus_are_read() -> None:
    keys = [
        NoteSigner("adminduk.test/audit", Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32))
        for n in range(64)
    ]
    with_plus = [key for key in keys if "+" in key.verifier_key.split("+", 2)[2]]

    assert with_plus
    for key in with_plus:
        assert NoteVerifier.parse(key.verifier_key).open(key.sign(TEXT)) == TEXT
