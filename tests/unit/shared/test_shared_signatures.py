"""The webhook signatures of Meta and of the SMS gateway, as the services check them."""

from __future__ import annotations

import pytest

from shared.signatures import (
    hub_signature,
    timestamped_signature,
    valid_hub_signature,
    valid_timestamped_signature,
)

BODY = b'{"object":"whatsapp_business_account","entry":[]}'
OPENSSL_HMAC = "sha256=d3e4f9da0ce6c71ab3dba55929b8eeeee2455349e534924ead19f98d143e904f"
"""`openssl dgst -sha256 -hmac app-secret` of BODY."""


def test_a_hub_signature_is_the_hmac_of_the_raw_body_under_the_app_secret() -> None:
    header = hub_signature(BODY, b"app-secret")

    assert header == OPENSSL_HMAC
    assert valid_hub_signature(BODY, header, b"app-secret")
    assert valid_hub_signature(BODY, header.upper().replace("SHA256=", "sha256="), b"app-secret")
    assert not valid_hub_signature(BODY + b" ", header, b"app-secret")
    assert not valid_hub_signature(BODY, header, b"another secret")
    assert not valid_hub_signature(BODY, header.removeprefix("sha256="), b"app-secret")
    assert not valid_hub_signature(BODY, "sha1=" + header.removeprefix("sha256="), b"app-secret")
    assert not valid_hub_signature(BODY, None, b"app-secret")
    assert not valid_hub_signature(BODY, "sha256=\u00e9", b"app-secret")


def test_a_timestamped_signature_holds_five_minutes_either_way() -> None:
    now = 1_750_263_773
    stamp = str(now - 120)
    header = timestamped_signature(b"secret", stamp, BODY)

    assert valid_timestamped_signature(BODY, stamp, header, b"secret", now=now)
    assert valid_timestamped_signature(BODY, stamp, header.upper(), b"secret", now=now)
    old, ahead = str(now - 301), str(now + 301)
    for late in (old, ahead):
        signed = timestamped_signature(b"secret", late, BODY)
        assert not valid_timestamped_signature(BODY, late, signed, b"secret", now=now)
    assert not valid_timestamped_signature(BODY, str(now - 121), header, b"secret", now=now)
    assert not valid_timestamped_signature(BODY, stamp, header, b"wrong", now=now)
    assert not valid_timestamped_signature(BODY + b" ", stamp, header, b"secret", now=now)
    assert not valid_timestamped_signature(BODY, None, header, b"secret", now=now)
    assert not valid_timestamped_signature(BODY, stamp, None, b"secret", now=now)
    assert not valid_timestamped_signature(BODY, "-120", header, b"secret", now=now)


@pytest.mark.parametrize("timestamp", ["\u00b2", "17502636\u00b3\u00b9", "1" * 5000])
def test_a_timestamp_is_ascii_digits_or_refused_without_an_error(timestamp: str) -> None:
    """Digits to `str.isdigit`, each of which `int` refuses with an error."""
    header = "sha256=" + "0" * 64

    assert not valid_timestamped_signature(BODY, timestamp, header, b"secret", now=1_750_263_773)
