"""Checkpoints (C2SP tlog-checkpoint): the log's tree size and root hash, in a signed note.

The note's text is the log's origin, the tree size in decimal and the base64 root hash, one a line.
The origin is also the signing key's name, so a checkpoint names the log it belongs to.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from services.audit.domain.merkle import HASH_SIZE
from services.audit.domain.note import InvalidNote, NoteSigner, NoteVerifier

_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Reads a checkpoint's text; extension lines after the root hash are allowed and left out.
        InvalidNote if it is not a checkpoint."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] or not all(lines[:-1]):
            raise InvalidNote("checkpoint terdiri atas sedikitnya tiga baris berisi")
        origin, size, encoded_root = lines[:3]
        if not _SIZE.fullmatch(size):
            raise InvalidNote("baris kedua checkpoint harus ukuran pohon, dalam desimal")
        try:
            root = base64.b64decode(encoded_root, validate=True)
        except binascii.Error:
            root = b""
        if len(root) != HASH_SIZE:
            raise InvalidNote("baris ketiga checkpoint harus hash akar, dalam base64")
        return cls(origin=origin, size=int(size), root_hash=root)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> SignedCheckpoint:
    if checkpoint.origin != signer.name:
        raise ValueError("a checkpoint is signed by the key named after its origin")
    return SignedCheckpoint(checkpoint, signer.sign(checkpoint.text()))


def open_checkpoint(note: str, verifier: NoteVerifier) -> SignedCheckpoint:
    """The checkpoint in `note`, if the verifier's key signed it for its own log; InvalidNote
    (saying why) otherwise."""
    checkpoint = Checkpoint.parse(verifier.open(note))
    if checkpoint.origin != verifier.name:
        raise InvalidNote(f"checkpoint milik {checkpoint.origin!r}, bukan {verifier.name!r}")
    return SignedCheckpoint(checkpoint, note)
