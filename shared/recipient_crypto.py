"""Sealing to one service's X25519 public key, for a secret that its writer must not be able to
read back (the sign-in code, which only notify opens).

Whoever holds the public key seals; only the recipient's private keys open, listed newest first
and rotated like master keys (`shared.crypto`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import (
    HEX_KEY_PATTERN,
    KEY_BYTES,
    KEY_ID_PATTERN,
    NONCE_BYTES,
    TAG_BYTES,
    UnreadableSecret,
    associated_data,
    bound_context,
    from_b64url,
    key_id,
    to_b64url,
)

TO_RECIPIENT = "x1"
RECIPIENT_INFO = b"adminduk sealed to recipient v1"


class RecipientSealer:
    """Seals to one recipient's X25519 public key: whoever holds it seals, only the recipient's
    private key opens, so a writer cannot read back what it sealed."""

    __slots__ = ("_kid", "_public", "_raw")

    def __init__(self, public_key: bytes) -> None:
        if not isinstance(public_key, bytes) or len(public_key) != KEY_BYTES:
            raise ValueError(f"a recipient's public key must be exactly {KEY_BYTES} bytes")
        self._raw = bytes(public_key)
        self._public = X25519PublicKey.from_public_bytes(self._raw)
        self._kid = key_id(self._raw)

    @classmethod
    def from_hex(cls, public_key: str) -> RecipientSealer:
        """A sealer from settings text: the public key as 64 hex characters."""
        text = public_key.strip()
        if not HEX_KEY_PATTERN.fullmatch(text):
            raise ValueError(f"the public key must be {2 * KEY_BYTES} hex characters")
        return cls(bytes.fromhex(text))

    @property
    def key_id(self) -> str:
        return self._kid

    @property
    def public_key_hex(self) -> str:
        return self._raw.hex()

    def __repr__(self) -> str:
        return f"RecipientSealer(key_id={self._kid!r})"

    def seal(self, plaintext: bytes, *, context: str) -> str:
        """`plaintext` sealed under a key agreed with a fresh ephemeral key, for this `context`."""
        bound = bound_context(context)
        ephemeral = X25519PrivateKey.generate()
        ephemeral_public = ephemeral.public_key().public_bytes_raw()
        key = _recipient_key(ephemeral.exchange(self._public), ephemeral_public, self._raw)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = nonce + AESGCM(key).encrypt(
            nonce, plaintext, associated_data(TO_RECIPIENT, self._kid, bound)
        )
        return f"{TO_RECIPIENT}.{self._kid}.{to_b64url(ephemeral_public)}.{to_b64url(ciphertext)}"


class RecipientOpener:
    """The recipient's X25519 private keys, newest first: the first one's public key is the one
    writers seal to; all of them open, so a key is rotated like a master key."""

    __slots__ = ("_keys",)

    def __init__(self, private_keys: Sequence[bytes]) -> None:
        if isinstance(private_keys, bytes | str) or not private_keys:
            raise ValueError("private_keys must list at least one key, the current one first")
        keys: dict[str, tuple[X25519PrivateKey, bytes]] = {}
        for position, raw in enumerate(private_keys, start=1):
            if not isinstance(raw, bytes) or len(raw) != KEY_BYTES:
                raise ValueError(f"private key entry {position} must be exactly {KEY_BYTES} bytes")
            private = X25519PrivateKey.from_private_bytes(raw)
            public = private.public_key().public_bytes_raw()
            keys.setdefault(key_id(public), (private, public))
        self._keys = keys

    @classmethod
    def from_hex(cls, private_keys: str) -> RecipientOpener:
        """An opener from settings text: comma-separated hex private keys, the current first."""
        entries = [entry.strip() for entry in private_keys.split(",")]
        for position, entry in enumerate(entries, start=1):
            if not HEX_KEY_PATTERN.fullmatch(entry):
                raise ValueError(
                    f"private keys are malformed: entry {position} is not {2 * KEY_BYTES} hex"
                    " characters (keys are comma-separated, the current one first)"
                )
        return cls([bytes.fromhex(entry) for entry in entries])

    @property
    def sealer(self) -> RecipientSealer:
        """Seals to the current key."""
        _, public = next(iter(self._keys.values()))
        return RecipientSealer(public)

    def __repr__(self) -> str:
        return f"RecipientOpener(key_ids={list(self._keys)!r})"

    def open(self, sealed: str, *, context: str) -> bytes:
        """The plaintext of a value from `RecipientSealer.seal` for this same `context`."""
        bound = bound_context(context)
        if not isinstance(sealed, str):
            raise UnreadableSecret("not a sealed value: expected text")
        parts = sealed.split(".")
        if parts[0] != TO_RECIPIENT or len(parts) != 4:
            raise UnreadableSecret("not a value sealed to a recipient")
        kid, ephemeral_text, ciphertext_text = parts[1:]
        found = self._keys.get(kid)
        if found is None:
            if KEY_ID_PATTERN.fullmatch(kid):
                raise UnreadableSecret(f"sealed to key id {kid}, which is not configured")
            raise UnreadableSecret("sealed value has a malformed key id")
        private, public = found
        ephemeral_public = from_b64url(ephemeral_text)
        ciphertext = from_b64url(ciphertext_text)
        if len(ephemeral_public) != KEY_BYTES or len(ciphertext) < NONCE_BYTES + TAG_BYTES:
            raise UnreadableSecret("sealed value is truncated or malformed")
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
            key = _recipient_key(shared, ephemeral_public, public)
            return AESGCM(key).decrypt(
                ciphertext[:NONCE_BYTES],
                ciphertext[NONCE_BYTES:],
                associated_data(TO_RECIPIENT, kid, bound),
            )
        except (InvalidTag, ValueError):
            raise UnreadableSecret(
                "sealed value does not open: altered, or sealed for another context"
            ) from None


def _recipient_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    """The AES key of one sealed value, bound to both public keys (as in HPKE's key schedule)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=ephemeral_public + recipient_public,
        info=RECIPIENT_INFO,
    ).derive(shared)
