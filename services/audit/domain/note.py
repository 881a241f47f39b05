"""Signed notes (C2SP signed-note), the envelope of the log's checkpoints, with Ed25519 keys.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
`— <key name> <base64(key hash || signature)>`. An Ed25519 key's hash is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key). Auditors are given the verifier key
`<key name>+<hex key hash>+<base64(0x01 || public key)>`, and need nothing else to check a note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
SIGNATURE_LINE = "\u2014 "
KEY_HASH_SIZE = 4
PUBLIC_KEY_SIZE = 32
MAX_SIGNATURES = 100


class InvalidNote(ValueError):
    """A note that is malformed, or that the expected key did not sign."""


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:KEY_HASH_SIZE]


def valid_key_name(name: str) -> bool:
    """A key name is non-empty and has no spaces (Unicode's included) and no `+`."""
    return bool(name) and "+" not in name and not any(char.isspace() for char in name)


class NoteSigner:
    """Signs notes under one key name with one Ed25519 key."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        if not valid_key_name(name):
            raise ValueError(f"{name!r} cannot be a key name: no spaces or '+'")
        self.name = name
        self._key = key
        self._public_key = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_hash = key_hash(name, self._public_key)

    @property
    def verifier_key(self) -> str:
        return "+".join(
            [
                self.name,
                self._key_hash.hex(),
                base64.b64encode(ED25519 + self._public_key).decode(),
            ]
        )

    def sign(self, text: str) -> str:
        """The note: `text`, a blank line and this key's signature line."""
        _check_text(text)
        signature = self._key.sign(text.encode())
        encoded = base64.b64encode(self._key_hash + signature).decode()
        return f"{text}\n{SIGNATURE_LINE}{self.name} {encoded}\n"


@dataclass(frozen=True)
class NoteVerifier:
    """Checks notes against one verifier key."""

    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def parse(cls, verifier_key: str) -> NoteVerifier:
        """Reads `<name>+<hex key hash>+<base64(0x01 || public key)>`; ValueError if malformed."""
        parts = verifier_key.strip().split("+", 2)
        if len(parts) != 3 or not valid_key_name(parts[0]):
            raise ValueError("Kunci verifikasi berbentuk <nama>+<hash kunci hex>+<kunci base64>.")
        name, hex_hash, encoded = parts
        try:
            hash_ = bytes.fromhex(hex_hash)
            key = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise ValueError("Hash atau kunci pada kunci verifikasi tidak terbaca.") from None
        if len(hash_) != KEY_HASH_SIZE or key[:1] != ED25519 or len(key) != 1 + PUBLIC_KEY_SIZE:
            raise ValueError("Kunci verifikasi bukan kunci Ed25519.")
        if key_hash(name, key[1:]) != hash_:
            raise ValueError("Hash kunci verifikasi tidak cocok dengan nama dan kuncinya.")
        return cls(name=name, key_hash=hash_, public_key=key[1:])

    def open(self, note: str) -> str:
        """The note's text, if this key signed it; InvalidNote (saying why) otherwise."""
        text, signatures = _split(note)
        public_key = Ed25519PublicKey.from_public_bytes(self.public_key)
        for name, signed in signatures:
            if name != self.name or signed[:KEY_HASH_SIZE] != self.key_hash:
                continue
            try:
                public_key.verify(signed[KEY_HASH_SIZE:], text.encode())
            except InvalidSignature:
                raise InvalidNote(f"tanda tangan {self.name} tidak cocok dengan isinya") from None
            return text
        raise InvalidNote(f"tidak ada tanda tangan {self.name}+{self.key_hash.hex()}")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise InvalidNote("teks catatan harus diakhiri baris baru")
    if any(char < " " and char != "\n" for char in text):
        raise InvalidNote("teks catatan memuat karakter kendali")


def _split(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The note's text and its signatures, as (key name, key hash || signature)."""
    boundary = note.rfind("\n\n")
    if boundary < 0 or not note.endswith("\n"):
        raise InvalidNote("catatan terdiri atas teks, baris kosong, lalu baris tanda tangan")
    text, lines = note[: boundary + 1], note[boundary + 2 : -1].split("\n")
    _check_text(text)
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNote(f"catatan memuat lebih dari {MAX_SIGNATURES} tanda tangan")
    signatures = []
    for line in lines:
        name, _, encoded = line.removeprefix(SIGNATURE_LINE).partition(" ")
        try:
            signed = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            signed = b""
        if (
            not line.startswith(SIGNATURE_LINE)
            or not valid_key_name(name)
            or len(signed) <= KEY_HASH_SIZE
        ):
            raise InvalidNote(f"bukan baris tanda tangan: {line[:80]!r}")
        signatures.append((name, signed))
    return text, signatures
