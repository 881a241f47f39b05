"""Encryption at rest of personal fields (NIK, names, phone numbers), so that a copied database
file or backup reveals none of them without the keys held in configuration.

`seal` is envelope encryption: every value gets its own random data key, which is wrapped under
the current master key. Both layers are bound to a context (for example a document id and a field
name), so a sealed value moved to another document or field does not open there. `seal_stable`
gives the same text for the same value and context, for items that are later found or removed by
exact value. `lookup_hash` finds a record by a personal value without storing the value.

Master keys are listed newest first: the first seals, all of them open, so a key is rotated by
putting a new one in front and dropping the old one once nothing sealed under it is left. A key
is 32 random bytes, written as 64 hex characters (`secrets.token_hex(32)`).

Sealing to one service's X25519 public key is in `shared.recipient_crypto`; it writes its values
with this module's key ids, bound contexts, associated data and base64url.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SIV_BYTES = 16
WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES

ENVELOPE = "v1"
STABLE = "s1"
WRAP_INFO = b"adminduk data key wrap v1"
STABLE_INFO = b"adminduk stable seal v1"

KEY_ID_PATTERN = re.compile(r"[0-9a-f]{8}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
HEX_KEY_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class UnreadableSecret(ValueError):
    """A sealed value that does not open: tampered with, sealed for another context, under a key
    that is not configured, or not a sealed value at all. The message never holds the value."""


@dataclass(frozen=True, slots=True, repr=False)
class _MasterKey:
    """One configured master key and the keys derived from it, each used for one purpose only."""

    kid: str
    wrap: AESGCM
    stable: AESSIV


class Cipher:
    """Envelope encryption of personal fields with keys from configuration, and keyed lookup
    hashes."""

    __slots__ = ("_current", "_keys", "_lookup_key")

    def __init__(self, *, data_keys: Sequence[bytes], lookup_key: bytes | None) -> None:
        if isinstance(data_keys, bytes | str) or not data_keys:
            raise ValueError("data_keys must list at least one master key, the current one first")
        keys: dict[str, _MasterKey] = {}
        for position, key in enumerate(data_keys, start=1):
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise ValueError(f"data_keys entry {position} must be exactly {KEY_BYTES} bytes")
            master = _master_key(key)
            if master.kid in keys:
                raise ValueError(f"data_keys entry {position} repeats key id {master.kid}")
            keys[master.kid] = master
        if lookup_key is not None:
            if not isinstance(lookup_key, bytes) or len(lookup_key) < KEY_BYTES:
                raise ValueError(f"lookup_key must be at least {KEY_BYTES} bytes")
            if lookup_key in data_keys:
                raise ValueError("lookup_key must differ from every data key")
        self._keys = keys
        self._current = next(iter(keys.values()))
        self._lookup_key = None if lookup_key is None else bytes(lookup_key)

    @classmethod
    def from_hex(cls, *, data_keys: str, lookup_key: str | None) -> Cipher:
        """A cipher from settings text: comma-separated hex master keys (current first) and a hex
        lookup key (none for a cipher that only seals and opens). Errors name the setting but
        never repeat it, as it is secret."""
        entries = [entry.strip() for entry in data_keys.split(",")]
        for position, entry in enumerate(entries, start=1):
            if not HEX_KEY_PATTERN.fullmatch(entry):
                raise ValueError(
                    f"data_keys is malformed: entry {position} is not {2 * KEY_BYTES} hex"
                    " characters (keys are comma-separated, the current one first)"
                )
        if lookup_key is None:
            return cls(data_keys=[bytes.fromhex(entry) for entry in entries], lookup_key=None)
        lookup = lookup_key.strip()
        if not _HEX.fullmatch(lookup) or len(lookup) < 2 * KEY_BYTES:
            raise ValueError(
                f"lookup_key is malformed: it must be at least {2 * KEY_BYTES} hex characters"
            )
        return cls(
            data_keys=[bytes.fromhex(entry) for entry in entries],
            lookup_key=bytes.fromhex(lookup),
        )

    @property
    def current_key_id(self) -> str:
        """The id of the key new values are sealed under."""
        return self._current.kid

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key that opens, the current one first."""
        return tuple(self._keys)

    def __repr__(self) -> str:
        return f"Cipher(key_ids={list(self._keys)!r})"

    def seal(self, plaintext: bytes, *, context: str) -> str:
        """`plaintext` encrypted under a fresh data key, readable only for the same `context`."""
        bound = bound_context(context)
        master = self._current
        data_key = AESGCM.generate_key(bit_length=8 * KEY_BYTES)
        key_nonce = os.urandom(NONCE_BYTES)
        wrapped = key_nonce + master.wrap.encrypt(
            key_nonce, data_key, associated_data(ENVELOPE, "data key", master.kid, bound)
        )
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = nonce + AESGCM(data_key).encrypt(
            nonce, plaintext, associated_data(ENVELOPE, "value", master.kid, bound)
        )
        return f"{ENVELOPE}.{master.kid}.{to_b64url(wrapped)}.{to_b64url(ciphertext)}"

    def seal_stable(self, plaintext: bytes, *, context: str) -> str:
        """`plaintext` encrypted deterministically: equal values in one context give equal text,
        so an item can be found or removed by exact value. Reveals which values are equal."""
        bound = bound_context(context)
        master = self._current
        ciphertext = master.stable.encrypt(plaintext, [STABLE.encode(), master.kid.encode(), bound])
        return f"{STABLE}.{master.kid}.{to_b64url(ciphertext)}"

    def open(self, sealed: str, *, context: str) -> bytes:
        """The plaintext of a value from `seal` or `seal_stable` for this same `context`."""
        bound = bound_context(context)
        if not isinstance(sealed, str):
            raise UnreadableSecret("not a sealed value: expected text")
        parts = sealed.split(".")
        if parts[0] == ENVELOPE and len(parts) == 4:
            return self._open_envelope(parts[1], parts[2], parts[3], bound)
        if parts[0] == STABLE and len(parts) == 3:
            return self._open_stable(parts[1], parts[2], bound)
        raise UnreadableSecret("not a sealed value of a known format")

    def seal_text(self, text: str, *, context: str) -> str:
        """`text` sealed as UTF-8."""
        return self.seal(text.encode("utf-8"), context=context)

    def open_text(self, sealed: str, *, context: str) -> str:
        """The text of a value from `seal_text`."""
        try:
            return self.open(sealed, context=context).decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableSecret("sealed value is not UTF-8 text") from None

    def seal_json(self, value: Any, *, context: str) -> str:
        """`value` sealed as compact JSON with sorted keys."""
        return self.seal(_json(value), context=context)

    def open_json(self, sealed: str, *, context: str) -> Any:
        """The value of a value from `seal_json`."""
        plaintext = self.open(sealed, context=context)
        try:
            return json.loads(plaintext)
        except ValueError:
            raise UnreadableSecret("sealed value is not JSON") from None

    def lookup_hash(self, value: str, *, purpose: str) -> str:
        """A keyed hash of `value` to find a record by without storing the value; each `purpose`
        gives unrelated hashes, so hashes of one index cannot be matched against another's."""
        if not purpose or "\x00" in purpose:
            raise ValueError("purpose must be non-empty and free of NUL characters")
        if self._lookup_key is None:
            raise ValueError("this cipher has no lookup key: it only seals and opens")
        mac = hmac.HMAC(self._lookup_key, hashes.SHA256())
        mac.update(purpose.encode("utf-8") + b"\x00" + value.encode("utf-8"))
        return mac.finalize().hex()

    def _master(self, kid: str) -> _MasterKey:
        master = self._keys.get(kid)
        if master is not None:
            return master
        if KEY_ID_PATTERN.fullmatch(kid):
            raise UnreadableSecret(f"sealed under key id {kid}, which is not configured")
        raise UnreadableSecret("sealed value has a malformed key id")

    def _open_envelope(
        self, kid: str, wrapped_text: str, ciphertext_text: str, bound: bytes
    ) -> bytes:
        master = self._master(kid)
        wrapped = from_b64url(wrapped_text)
        ciphertext = from_b64url(ciphertext_text)
        if len(wrapped) != WRAPPED_KEY_BYTES or len(ciphertext) < NONCE_BYTES + TAG_BYTES:
            raise UnreadableSecret("sealed value is truncated or malformed")
        try:
            data_key = master.wrap.decrypt(
                wrapped[:NONCE_BYTES],
                wrapped[NONCE_BYTES:],
                associated_data(ENVELOPE, "data key", kid, bound),
            )
            return AESGCM(data_key).decrypt(
                ciphertext[:NONCE_BYTES],
                ciphertext[NONCE_BYTES:],
                associated_data(ENVELOPE, "value", kid, bound),
            )
        except InvalidTag:
            raise UnreadableSecret(
                "sealed value does not open: altered, or sealed for another context"
            ) from None

    def _open_stable(self, kid: str, ciphertext_text: str, bound: bytes) -> bytes:
        master = self._master(kid)
        ciphertext = from_b64url(ciphertext_text)
        if len(ciphertext) < SIV_BYTES:
            raise UnreadableSecret("sealed value is truncated or malformed")
        try:
            return master.stable.decrypt(ciphertext, [STABLE.encode(), kid.encode(), bound])
        except InvalidTag:
            raise UnreadableSecret(
                "sealed value does not open: altered, or sealed for another context"
            ) from None


def key_id(key: bytes) -> str:
    """The public id of a master key, stored with each sealed value to pick the key to open it."""
    return hashlib.sha256(key).hexdigest()[:8]


def _master_key(key: bytes) -> _MasterKey:
    """A master key with its wrapping and stable-seal keys derived apart, so that no key serves
    two algorithms."""
    return _MasterKey(
        kid=key_id(key),
        wrap=AESGCM(_derive(key, info=WRAP_INFO, length=KEY_BYTES)),
        stable=AESSIV(_derive(key, info=STABLE_INFO, length=2 * KEY_BYTES)),
    )


def _derive(key: bytes, *, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def bound_context(context: str) -> bytes:
    """The context as bytes; an empty one would bind a value to nothing."""
    if not isinstance(context, str) or not context:
        raise ValueError("context must be non-empty text, e.g. a document id and field name")
    return context.encode("utf-8")


def associated_data(*parts: str | bytes) -> bytes:
    """Associated data with every part length-prefixed, so no two part lists encode alike."""
    encoded = [part.encode("utf-8") if isinstance(part, str) else part for part in parts]
    return b"".join(struct.pack(">I", len(part)) + part for part in encoded)


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def to_b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Strict unpadded base64url: any other spelling of the same bytes is refused, so that a
    changed character never goes unnoticed."""
    if not _B64URL.fullmatch(text):
        raise UnreadableSecret("sealed value is truncated or malformed")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise UnreadableSecret("sealed value is truncated or malformed") from None
    if to_b64url(data) != text:
        raise UnreadableSecret("sealed value is truncated or malformed")
    return data
