"""Personal fields of events travel sealed: per field, bound to the event and the field, under
the topic's keys, and the sign-in code under notify's public key alone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from services.audit.config import AuditSettings
from services.audit.domain.pseudonym import pseudonymise
from services.audit.entrypoints import consumer as audit_consumer
from services.intake.config import IntakeSettings
from services.intake.entrypoints import consumer as intake_consumer
from services.notify.config import NotifySettings
from services.notify.entrypoints import consumer as notify_consumer
from services.processing.config import ProcessingSettings
from services.processing.entrypoints import consumer as processing_consumer
from shared.config import MissingSecrets
from shared.crypto import Cipher, UnreadableSecret
from shared.errors import PoisonEvent
from shared.events.envelope import CloudEvent
from shared.events.models import EVENT_TYPES
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import NotificationChannel
from shared.events.sealing import EventKeys, event_keys, needed_topics, sealed_fields
from shared.events.topics import CASES, IDENTITY, REQUESTS
from shared.messagebus import Received, Subscription
from shared.recipient_crypto import RecipientOpener, RecipientSealer
from tests.builders import CITIZEN, T0, VALID_NIK, request_submitted, wrapped

OLD_KEY = "a1" * 32
NEW_KEY = "b2" * 32
CODE_KEY = X25519PrivateKey.generate().private_bytes_raw().hex()
CODE_PUBLIC = RecipientOpener.from_hex(CODE_KEY).sealer.public_key_hex
PHONE = "+6285799887766"
CODE = "493817"


def keyring(*keys: str) -> Cipher:
    return Cipher.from_hex(data_keys=",".join(keys), lookup_key=None)


def keys(service: str = "processing", *ring: str) -> EventKeys:
    return EventKeys(service=service, topics={REQUESTS.name: keyring(*(ring or (NEW_KEY,)))})


def code_requested() -> CloudEvent:
    return wrapped(
        SignInCodeRequested(
            actor=CITIZEN,
            challenge_id="challenge-1",
            phone=PHONE,
            channel=NotificationChannel.SMS,
            code=CODE,
            expires_at=T0 + timedelta(minutes=5),
        )
    )


def production(settings_type: Any, tmp_path: Path, **values: Any) -> Any:
    return settings_type(environment="production", local_secrets_dir=tmp_path / "s", **values)


def topic_keys(*topics: str) -> str:
    return json.dumps({topic: NEW_KEY for topic in topics})


def test_personal_fields_are_sealed_and_open_again_for_a_reader_with_the_topic_key() -> None:
    event = wrapped(request_submitted())
    sealed = keys().seal(event)

    text = sealed.to_json_bytes()
    for value in (VALID_NIK, "Siti Aminah", event.data["applicant"]["phone"]):
        assert value.encode() not in text
    assert sealed.data["service_code"] == event.data["service_code"]
    assert sealed.data["applicant"]["preferred_channel"] == "WHATSAPP"
    assert keys().open(sealed, RequestSubmitted) == event.data
    assert event.data["applicant"]["nik"] == VALID_NIK, "the original is left as it was"


def test_a_sealed_field_does_not_open_in_another_event_or_field() -> None:
    first = keys().seal(wrapped(request_submitted("req-1")))
    second = keys().seal(wrapped(request_submitted("req-2")))
    moved = second.model_copy(
        update={"data": {**second.data, "applicant": first.data["applicant"]}}
    )
    swapped = first.model_copy(
        update={
            "data": {
                **first.data,
                "applicant": {
                    **first.data["applicant"],
                    "name": first.data["applicant"]["nik"],
                },
            }
        }
    )

    with pytest.raises(UnreadableSecret, match="another context"):
        keys().open(moved, RequestSubmitted)
    with pytest.raises(UnreadableSecret, match=r"applicant.name"):
        keys().open(swapped, RequestSubmitted)


def test_a_personal_field_in_clear_is_refused_not_taken() -> None:
    with pytest.raises(UnreadableSecret, match=r"applicant.nik .*not a sealed value"):
        keys().open(wrapped(request_submitted()), RequestSubmitted)


def test_rotation_seals_under_the_new_key_and_still_opens_the_old() -> None:
    before = keys("intake", OLD_KEY).seal(wrapped(request_submitted()))
    after = keys("intake", NEW_KEY, OLD_KEY).seal(wrapped(request_submitted("req-2")))

    assert keys("processing", NEW_KEY, OLD_KEY).open(before, RequestSubmitted)["applicant"]
    new_id = keyring(NEW_KEY).current_key_id
    assert after.data["applicant"]["nik"].split(".")[1] == new_id
    with pytest.raises(UnreadableSecret, match=f"key id {new_id}, which is not configured"):
        keys("processing", OLD_KEY).open(after, RequestSubmitted)


def test_a_reader_without_the_topics_key_is_told_so() -> None:
    sealed = keys().seal(wrapped(request_submitted()))
    stranger = EventKeys(service="processing", topics={CASES.name: keyring(NEW_KEY)})

    with pytest.raises(UnreadableSecret, match=f"no key of topic {REQUESTS.name}"):
        stranger.open(sealed, RequestSubmitted)


async def test_an_event_that_does_not_open_is_poison_so_it_is_dead_lettered() -> None:
    subscription: Subscription[list[Received[RequestSubmitted]]] = Subscription("processing")
    seen: list[Received[RequestSubmitted]] = []

    @subscription.on(RequestSubmitted)
    async def handle(message: Received[RequestSubmitted], deps: list[Any]) -> None:
        deps.append(message)

    sealed = keys("intake", OLD_KEY).seal(wrapped(request_submitted()))
    dispatch = subscription.bind(seen, lambda: T0, keys("processing", NEW_KEY))

    with pytest.raises(PoisonEvent, match="personal fields do not open"):
        await dispatch(sealed)
    assert not seen
    await subscription.bind(seen, lambda: T0, keys("processing", NEW_KEY, OLD_KEY))(sealed)
    assert seen[0].data.applicant.nik == VALID_NIK


def test_the_sign_in_code_opens_for_notify_only(tmp_path: Path) -> None:
    intake_settings = production(
        IntakeSettings,
        tmp_path,
        sign_in_code_key=CODE_PUBLIC,
        topic_keys=topic_keys(*all_personal_topics()),
    )
    intake = event_keys(
        intake_settings,
        service="intake",
        handled=intake_consumer.subscription.events,
        recipients={"notify": intake_settings.sign_in_code_sealer()},
    )
    notify_settings = production(
        NotifySettings,
        tmp_path,
        sign_in_code_keys=CODE_KEY,
        topic_keys=topic_keys(*all_personal_topics()),
    )
    notify = event_keys(
        notify_settings,
        service="notify",
        handled=notify_consumer.subscription.events,
        own=notify_settings.sign_in_code_opener(),
    )

    sealed = intake.seal(code_requested())

    assert CODE.encode() not in sealed.to_json_bytes()
    assert PHONE.encode() not in sealed.to_json_bytes()
    assert notify.open(sealed, SignInCodeRequested)["code"] == CODE
    by_intake = intake.open(sealed, SignInCodeRequested)
    assert by_intake["phone"] == PHONE
    assert by_intake["code"] == sealed.data["code"], "intake's own keys leave the code sealed"
    assert not hasattr(intake_settings.sign_in_code_sealer(), "open")


def test_audit_pseudonymises_the_phone_and_never_needs_the_code(tmp_path: Path) -> None:
    sealer = RecipientOpener.from_hex(CODE_KEY).sealer
    intake = EventKeys(
        service="intake", topics={IDENTITY.name: keyring(NEW_KEY)}, recipients={"notify": sealer}
    )
    settings = production(AuditSettings, tmp_path, topic_keys=topic_keys(*all_personal_topics()))
    audit = event_keys(settings, service="audit", handled=audit_consumer.subscription.events)
    sealed = intake.seal(code_requested())

    data = SignInCodeRequested.model_validate(audit.open(sealed, SignInCodeRequested))
    logged = pseudonymise(SignInCodeRequested, data.model_dump(mode="json"), b"k" * 32)

    assert data.phone == PHONE
    assert data.code == sealed.data["code"] != CODE
    assert CODE not in json.dumps(logged)
    assert PHONE not in json.dumps(logged)


def test_the_code_is_bound_to_its_event() -> None:
    opener = RecipientOpener.from_hex(CODE_KEY)
    notify = EventKeys(service="notify", topics={IDENTITY.name: keyring(NEW_KEY)}, own=opener)
    intake = EventKeys(
        service="intake",
        topics={IDENTITY.name: keyring(NEW_KEY)},
        recipients={"notify": opener.sealer},
    )
    first, second = intake.seal(code_requested()), intake.seal(code_requested())
    moved = second.model_copy(update={"data": {**second.data, "code": first.data["code"]}})

    with pytest.raises(UnreadableSecret, match=r"code of .*another context"):
        notify.open(moved, SignInCodeRequested)


def test_recipient_keys_rotate_like_master_keys() -> None:
    old = RecipientOpener.from_hex(CODE_KEY)
    newer_key = X25519PrivateKey.generate().private_bytes_raw().hex()
    both = RecipientOpener.from_hex(f"{newer_key},{CODE_KEY}")

    sealed_before = old.sealer.seal(b"493817", context="c")
    sealed_after = both.sealer.seal(b"112233", context="c")

    assert both.open(sealed_before, context="c") == b"493817"
    assert both.sealer.key_id != old.sealer.key_id
    with pytest.raises(UnreadableSecret, match="not configured"):
        old.open(sealed_after, context="c")
    assert isinstance(RecipientSealer.from_hex(both.sealer.public_key_hex), RecipientSealer)


def all_personal_topics() -> list[str]:
    return needed_topics("audit", audit_consumer.subscription.events)


def test_each_service_holds_only_the_topic_keys_it_writes_or_reads() -> None:
    personal = {REQUESTS.name, CASES.name}
    assert personal <= set(all_personal_topics())
    processing = needed_topics("processing", processing_consumer.subscription.events)
    notify = needed_topics("notify", notify_consumer.subscription.events)

    assert REQUESTS.name in processing
    assert IDENTITY.name not in processing
    assert IDENTITY.name in notify
    assert CASES.name not in notify


def test_production_refuses_to_start_without_the_topic_keys_a_service_needs(
    tmp_path: Path,
) -> None:
    settings = production(ProcessingSettings, tmp_path, topic_keys=topic_keys(REQUESTS.name))

    with pytest.raises(MissingSecrets, match=r"PROCESSING_TOPIC_KEYS.*adminduk.cases.v1"):
        event_keys(settings, service="processing", handled=processing_consumer.subscription.events)
    with pytest.raises(MissingSecrets, match="INTAKE_SIGN_IN_CODE_KEY"):
        production(IntakeSettings, tmp_path).check_production()
    with pytest.raises(MissingSecrets, match="NOTIFY_SIGN_IN_CODE_KEYS"):
        production(NotifySettings, tmp_path).check_production()


def test_outside_production_the_stack_shares_one_made_key_per_topic(tmp_path: Path) -> None:
    intake_settings = IntakeSettings(environment="development", local_secrets_dir=tmp_path)
    processing_settings = ProcessingSettings(environment="development", local_secrets_dir=tmp_path)
    notify_settings = NotifySettings(environment="development", local_secrets_dir=tmp_path)
    intake = event_keys(
        intake_settings,
        service="intake",
        handled=intake_consumer.subscription.events,
        recipients={"notify": intake_settings.sign_in_code_sealer()},
    )
    processing = event_keys(
        processing_settings, service="processing", handled=processing_consumer.subscription.events
    )
    notify = event_keys(
        notify_settings,
        service="notify",
        handled=notify_consumer.subscription.events,
        own=notify_settings.sign_in_code_opener(),
    )

    sealed = intake.seal(wrapped(request_submitted()))
    assert processing.open(sealed, RequestSubmitted)["applicant"]["nik"] == VALID_NIK
    assert notify.open(intake.seal(code_requested()), SignInCodeRequested)["code"] == CODE


def test_sealed_fields_are_the_fields_marked_personal_nested_ones_included() -> None:
    assert [field.name for field in sealed_fields(RequestSubmitted)] == [
        "applicant.nik",
        "applicant.name",
        "applicant.phone",
        "form",
        "assisted_contact",
    ]
    assert [(f.name, f.recipient) for f in sealed_fields(SignInCodeRequested)] == [
        ("phone", None),
        ("code", "notify"),
    ]
    for event_class in EVENT_TYPES.values():
        marked = {
            name
            for name, info in event_class.model_fields.items()
            if isinstance(info.json_schema_extra, dict)
            and info.json_schema_extra.get("personal_data")
        }
        assert marked <= {field.path[0] for field in sealed_fields(event_class)}
