from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.crypto import Cipher, UnreadableSecret, key_id

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(100, 132))
LOOKUP_KEY = b"L" * 32
OTHER_LOOKUP_KEY = b"M" * 32
NIK = "3201234567890001"
NAME = "Siti Aminah"
PHONE = "+6281234567890"
CONTEXT = "requests/req-1/applicant.nik"
OTHER_CONTEXT = "requests/req-2/applicant.nik"
ENVELOPE = re.compile(r"^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
STABLE = re.compile(r"^s1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$")
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


def cipher(*data_keys: bytes, lookup_key: bytes = LOOKUP_KEY) -> Cipher:
    return Cipher(data_keys=data_keys or (NEW_KEY,), lookup_key=lookup_key)


def sealed_forms() -> list[str]:
    """One value sealed each way, for the tests that apply to both formats."""
    return [
        cipher().seal_text(NIK, context=CONTEXT),
        cipher().seal_stable(NIK.encode(), context=CONTEXT),
    ]


def assert_unreadable(sealed: Any, *, by: Cipher | None = None, context: str = CONTEXT) -> None:
    with pytest.raises(UnreadableSecret) as raised:
        (by or cipher()).open(sealed, context=context)
    message = str(raised.value)
    assert NIK not in message
    assert NIK[:8] not in message
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__


# Round trips.


@settings(max_examples=50)
@given(plaintext=st.binary(max_size=256), context=st.text(min_size=1, max_size=40))
def test_any_bytes_sealed_open_again_for_the_same_context(plaintext: bytes, context: str) -> None:
    sealer = cipher()

    assert sealer.open(sealer.seal(plaintext, context=context), context=context) == plaintext
    assert sealer.open(sealer.seal_stable(plaintext, context=context), context=context) == plaintext


@settings(max_examples=50)
@given(text=st.text(max_size=100))
def test_any_text_round_trips(text: str) -> None:
    sealer = cipher()

    assert sealer.open_text(sealer.seal_text(text, context=CONTEXT), context=CONTEXT) == text


@settings(max_examples=50)
@given(value=JSON)
def test_any_json_value_round_trips(value: Any) -> None:
    sealer = cipher()

    assert sealer.open_json(sealer.seal_json(value, context=CONTEXT), context=CONTEXT) == value


def test_the_sealed_forms_are_compact_ascii_text() -> None:
    sealer = cipher()

    assert ENVELOPE.match(sealer.seal_text(NIK, context=CONTEXT))
    assert STABLE.match(sealer.seal_stable(NIK.encode(), context=CONTEXT))
    assert ENVELOPE.match(sealer.seal(b"", context=CONTEXT))
    assert STABLE.match(sealer.seal_stable(b"", context=CONTEXT))


def test_json_is_sealed_with_sorted_keys_so_equal_values_give_equal_plaintext() -> None:
    sealer = cipher()

    sealed = sealer.seal_json({"b": 1, "a": [NAME]}, context=CONTEXT)

    assert sealer.open(sealed, context=CONTEXT) == b'{"a":["Siti Aminah"],"b":1}'


# What a copied database file shows.


@pytest.mark.parametrize("value", [NIK, NAME, PHONE])
def test_sealed_text_shows_nothing_of_the_value(value: str) -> None:
    sealer = cipher()

    for sealed in (
        sealer.seal_text(value, context=CONTEXT),
        sealer.seal_stable(value.encode(), context=CONTEXT),
        sealer.seal_json({"value": value}, context=CONTEXT),
    ):
        assert value not in sealed
        assert value.split()[0] not in sealed
        assert value.encode().hex() not in sealed


def test_two_seals_of_one_value_differ() -> None:
    sealer = cipher()

    first = sealer.seal_text(NIK, context=CONTEXT)
    second = sealer.seal_text(NIK, context=CONTEXT)

    assert first != second
    # Each holds its own data key, not only its own nonce.
    assert first.split(".")[2] != second.split(".")[2]


def test_stable_seals_are_equal_for_equal_values_and_contexts_only() -> None:
    sealer = cipher()

    once = sealer.seal_stable(NIK.encode(), context=CONTEXT)

    assert sealer.seal_stable(NIK.encode(), context=CONTEXT) == once
    assert cipher(NEW_KEY, OLD_KEY).seal_stable(NIK.encode(), context=CONTEXT) == once
    assert sealer.seal_stable(NIK.encode(), context=OTHER_CONTEXT) != once
    assert sealer.seal_stable(b"3201234567890002", context=CONTEXT) != once
    assert cipher(OLD_KEY).seal_stable(NIK.encode(), context=CONTEXT) != once


# What does not open.


@pytest.mark.parametrize("sealed", sealed_forms(), ids=["envelope", "stable"])
def test_a_value_sealed_for_one_context_does_not_open_for_another(sealed: str) -> None:
    assert_unreadable(sealed, context=OTHER_CONTEXT)
    assert_unreadable(sealed, context=CONTEXT + "x")
    assert_unreadable(sealed, context=CONTEXT[:-1])


@pytest.mark.parametrize("sealed", sealed_forms(), ids=["envelope", "stable"])
def test_any_changed_character_is_detected(sealed: str) -> None:
    for position, character in enumerate(sealed):
        if character == ".":
            continue
        replacement = B64URL[(B64URL.index(character) + 1) % len(B64URL)]
        assert_unreadable(sealed[:position] + replacement + sealed[position + 1 :])


@pytest.mark.parametrize("sealed", sealed_forms(), ids=["envelope", "stable"])
def test_truncated_or_extended_text_does_not_open(sealed: str) -> None:
    for length in range(len(sealed)):
        assert_unreadable(sealed[:length])
    assert_unreadable(sealed + "A")
    assert_unreadable(sealed + ".")
    assert_unreadable(sealed + "=")


def test_parts_swapped_between_sealed_values_do_not_open() -> None:
    sealer = cipher()
    _, kid, key_a, value_a = sealer.seal_text(NIK, context=CONTEXT).split(".")
    _, _, key_b, value_b = sealer.seal_text(NIK, context=CONTEXT).split(".")

    assert_unreadable(f"v1.{kid}.{key_a}.{value_b}")
    assert_unreadable(f"v1.{kid}.{key_b}.{value_a}")


def test_a_stable_seal_relabelled_as_an_envelope_does_not_open() -> None:
    _, kid, body = cipher().seal_stable(NIK.encode(), context=CONTEXT).split(".")

    assert_unreadable(f"v1.{kid}.{body}")
    assert_unreadable(f"v1.{kid}.{body}.{body}")


def test_a_value_under_a_key_that_is_not_configured_does_not_open() -> None:
    for sealed in sealed_forms():
        with pytest.raises(UnreadableSecret, match="not configured") as raised:
            cipher(OLD_KEY).open(sealed, context=CONTEXT)
        assert NIK not in str(raised.value)


def test_a_value_does_not_open_with_a_different_key_under_the_same_id() -> None:
    sealed = cipher().seal_text(NIK, context=CONTEXT)
    forged = sealed.replace(key_id(NEW_KEY), key_id(OLD_KEY))

    assert_unreadable(forged, by=cipher(OLD_KEY))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        NIK,
        f"v1.{NIK}",
        f"v1.{NIK}.{NIK}.{NIK}",
        f"s1.{NIK}.{NIK}",
        f"s1.{key_id(NEW_KEY)}.{NIK}",
        f"v1.{key_id(NEW_KEY)}.{NIK}.{NIK}",
        f"v1.{key_id(NEW_KEY)}.{NIK}+/.{NIK}",
        f"v1.{key_id(NEW_KEY)}.{NIK}==.{NIK}==",
        "v1...",
        "s1..",
        "v2.00000000.AAAA.AAAA",
        "....",
        "\u00e9\u00e9\u00e9",
        None,
        NIK.encode(),
        12345,
    ],
)
def test_garbage_is_unreadable_without_being_repeated(garbage: Any) -> None:
    assert_unreadable(garbage)


def test_text_and_json_that_do_not_decode_are_unreadable() -> None:
    sealer = cipher()
    not_utf8 = sealer.seal(b"\xff" + NIK.encode(), context=CONTEXT)
    not_json = sealer.seal_text(NIK + "{", context=CONTEXT)

    with pytest.raises(UnreadableSecret, match="UTF-8") as raised:
        sealer.open_text(not_utf8, context=CONTEXT)
    assert NIK not in str(raised.value)
    with pytest.raises(UnreadableSecret, match="JSON") as raised:
        sealer.open_json(not_json, context=CONTEXT)
    assert NIK not in str(raised.value)


@pytest.mark.parametrize("context", ["", None])
def test_a_context_that_binds_to_nothing_is_refused(context: Any) -> None:
    sealer = cipher()

    with pytest.raises(ValueError, match="context"):
        sealer.seal(b"x", context=context)
    with pytest.raises(ValueError, match="context"):
        sealer.seal_stable(b"x", context=context)
    with pytest.raises(ValueError, match="context"):
        sealer.open(sealer.seal(b"x", context=CONTEXT), context=context)


# Rotation.


def test_values_sealed_under_the_old_key_open_once_it_is_second() -> None:
    old = cipher(OLD_KEY)
    envelope = old.seal_text(NIK, context=CONTEXT)
    stable = old.seal_stable(NIK.encode(), context=CONTEXT)

    rotated = cipher(NEW_KEY, OLD_KEY)

    assert rotated.open_text(envelope, context=CONTEXT) == NIK
    assert rotated.open(stable, context=CONTEXT) == NIK.encode()


def test_new_values_are_sealed_under_the_first_key() -> None:
    rotated = cipher(NEW_KEY, OLD_KEY)

    envelope = rotated.seal_text(NIK, context=CONTEXT)
    stable = rotated.seal_stable(NIK.encode(), context=CONTEXT)

    assert rotated.current_key_id == key_id(NEW_KEY)
    assert rotated.key_ids == (key_id(NEW_KEY), key_id(OLD_KEY))
    assert envelope.split(".")[1] == key_id(NEW_KEY)
    assert stable.split(".")[1] == key_id(NEW_KEY)
    assert cipher(NEW_KEY).open_text(envelope, context=CONTEXT) == NIK
    assert_unreadable(envelope, by=cipher(OLD_KEY))


def test_the_key_id_is_the_start_of_the_keys_sha256() -> None:
    assert key_id(NEW_KEY) == hashlib.sha256(NEW_KEY).hexdigest()[:8]


# Lookup hashes.


def test_lookup_hashes_are_stable_per_purpose_and_key() -> None:
    by_phone = cipher().lookup_hash(PHONE, purpose="notify.phone")

    assert re.fullmatch(r"[0-9a-f]{64}", by_phone)
    assert cipher(OLD_KEY).lookup_hash(PHONE, purpose="notify.phone") == by_phone
    assert PHONE not in by_phone
    assert cipher().lookup_hash("+6281234567891", purpose="notify.phone") != by_phone
    assert cipher().lookup_hash(PHONE, purpose="intake.phone") != by_phone
    assert cipher(lookup_key=OTHER_LOOKUP_KEY).lookup_hash(PHONE, purpose="notify.phone") != (
        by_phone
    )


def test_lookup_hashes_keep_purpose_and_value_apart() -> None:
    sealer = cipher()

    assert sealer.lookup_hash("b", purpose="a") != sealer.lookup_hash("", purpose="ab")
    with pytest.raises(ValueError, match="purpose"):
        sealer.lookup_hash("c", purpose="a\x00b")
    with pytest.raises(ValueError, match="purpose"):
        sealer.lookup_hash(PHONE, purpose="")


# Configuration.


def test_keys_are_read_from_hex_settings() -> None:
    sealed = cipher(OLD_KEY).seal_text(NIK, context=CONTEXT)

    configured = Cipher.from_hex(
        data_keys=f"{NEW_KEY.hex()}, {OLD_KEY.hex().upper()}", lookup_key=LOOKUP_KEY.hex()
    )

    assert configured.key_ids == (key_id(NEW_KEY), key_id(OLD_KEY))
    assert configured.open_text(sealed, context=CONTEXT) == NIK
    assert configured.lookup_hash(PHONE, purpose="p") == cipher().lookup_hash(PHONE, purpose="p")


@pytest.mark.parametrize(
    ("data_keys", "lookup_key", "setting"),
    [
        (NEW_KEY.hex()[:-2], LOOKUP_KEY.hex(), "data_keys"),
        (NEW_KEY.hex() + "00", LOOKUP_KEY.hex(), "data_keys"),
        (NEW_KEY.hex()[:-1] + "g", LOOKUP_KEY.hex(), "data_keys"),
        (f"{NEW_KEY.hex()},", LOOKUP_KEY.hex(), "data_keys"),
        (f"{NEW_KEY.hex()},{OLD_KEY.hex()[:-2]}", LOOKUP_KEY.hex(), "data_keys"),
        ("", LOOKUP_KEY.hex(), "data_keys"),
        (NEW_KEY.hex(), LOOKUP_KEY.hex()[:-2], "lookup_key"),
        (NEW_KEY.hex(), LOOKUP_KEY.hex() + "0", "lookup_key"),
        (NEW_KEY.hex(), LOOKUP_KEY.hex()[:-1] + "z", "lookup_key"),
        (NEW_KEY.hex(), "", "lookup_key"),
    ],
)
def test_malformed_hex_settings_are_named_but_not_repeated(
    data_keys: str, lookup_key: str, setting: str
) -> None:
    with pytest.raises(ValueError, match=setting) as raised:
        Cipher.from_hex(data_keys=data_keys, lookup_key=lookup_key)

    message = str(raised.value)
    for secret in (data_keys, lookup_key, *data_keys.split(",")):
        if secret:
            assert secret not in message
            assert secret[:16] not in message
    assert raised.value.__cause__ is None


@pytest.mark.parametrize(
    ("data_keys", "lookup_key", "problem"),
    [
        ((), LOOKUP_KEY, "at least one"),
        (NEW_KEY, LOOKUP_KEY, "at least one"),
        ((NEW_KEY[:-1],), LOOKUP_KEY, "entry 1 must be exactly 32 bytes"),
        ((NEW_KEY, OLD_KEY + b"x"), LOOKUP_KEY, "entry 2 must be exactly 32 bytes"),
        ((NEW_KEY, NEW_KEY), LOOKUP_KEY, "entry 2 repeats"),
        ((NEW_KEY,), LOOKUP_KEY[:-1], "lookup_key must be at least 32 bytes"),
        ((NEW_KEY,), NEW_KEY, "lookup_key must differ"),
    ],
)
def test_keys_of_the_wrong_size_are_refused(
    data_keys: Any, lookup_key: bytes, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Cipher(data_keys=data_keys, lookup_key=lookup_key)


def test_a_longer_lookup_key_is_accepted() -> None:
    assert cipher(lookup_key=b"L" * 64).lookup_hash(PHONE, purpose="p")


def test_the_cipher_does_not_show_its_keys() -> None:
    shown = repr(cipher(NEW_KEY, OLD_KEY))

    assert NEW_KEY.hex() not in shown
    assert str(NEW_KEY) not in shown
    assert key_id(NEW_KEY) in shown
