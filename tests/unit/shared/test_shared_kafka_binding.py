"""The CloudEvents Kafka protocol binding: both content modes decode to the same event."""

from __future__ import annotations

import json

import pytest

from shared.events.envelope import CloudEvent, KafkaHeaders, NotACloudEvent
from tests.builders import T0, VALID_NIK, request_submitted, wrapped

STRUCTURED: KafkaHeaders = [("content-type", b"application/cloudevents+json")]


def event() -> CloudEvent:
    return CloudEvent.wrap(request_submitted("req-1"), source="/adminduk/intake", time=T0)


def binary_headers(event: CloudEvent, **changes: bytes | None) -> list[tuple[str, bytes | None]]:
    """The headers a binary-mode producer sends, with some replaced (None: left out)."""
    headers: dict[str, bytes | None] = {
        "ce_specversion": b"1.0",
        "ce_id": event.id.encode(),
        "ce_source": event.source.encode(),
        "ce_type": event.type.encode(),
        "ce_time": b"2025-03-03T01:30:00Z",
        "ce_subject": event.subject.encode(),
        "content-type": b"application/json",
    }
    headers.update(changes)
    return [(name, value) for name, value in headers.items() if value is not None]


def binary_value(event: CloudEvent) -> bytes:
    return json.dumps(event.data).encode()


def test_structured_mode_is_the_event_as_json_with_its_content_type() -> None:
    original = event()

    assert CloudEvent.from_kafka(original.to_json_bytes(), STRUCTURED) == original
    assert (
        CloudEvent.from_kafka(original.to_json_bytes(), CloudEvent.structured_headers()) == original
    )


def test_structured_mode_tolerates_parameters_case_and_other_headers() -> None:
    original = event()
    headers = [
        ("traceparent", b"00-abc-def-01"),
        ("Content-Type", b"Application/CloudEvents+JSON; charset=utf-8"),
    ]

    assert CloudEvent.from_kafka(original.to_json_bytes(), headers) == original


def test_binary_mode_decodes_to_the_same_event_as_structured_mode() -> None:
    original = event()

    decoded = CloudEvent.from_kafka(binary_value(original), binary_headers(original))

    assert decoded == original


def test_binary_mode_ignores_extensions_and_partitionkey() -> None:
    original = event()
    headers = binary_headers(original, ce_partitionkey=b"req-1", ce_traceparent=b"00-abc-01")

    assert CloudEvent.from_kafka(binary_value(original), headers) == original


def test_binary_mode_without_a_content_type_is_json() -> None:
    original = event()

    headers = binary_headers(original, **{"content-type": None})

    assert CloudEvent.from_kafka(binary_value(original), headers) == original


def test_a_message_without_binding_headers_is_read_as_structured() -> None:
    """What the services wrote before they labelled their messages."""
    original = event()

    assert CloudEvent.from_kafka(original.to_json_bytes(), []) == original


@pytest.mark.parametrize(
    "headers",
    [
        [("content-type", b"application/json")],
        [("content-type", b"text/plain"), ("ce_id", b"evt-1")],
    ],
)
def test_neither_mode_is_refused(headers: KafkaHeaders) -> None:
    with pytest.raises(NotACloudEvent, match="neither structured mode"):
        CloudEvent.from_kafka(event().to_json_bytes(), headers)


def test_only_the_json_event_format_is_supported() -> None:
    headers = [("content-type", b"application/cloudevents-batch+json")]

    with pytest.raises(NotACloudEvent, match="structured mode supports only"):
        CloudEvent.from_kafka(b"[]", headers)


@pytest.mark.parametrize("attribute", ["ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"])
def test_binary_mode_requires_the_attributes_the_services_rely_on(attribute: str) -> None:
    original = event()

    with pytest.raises(NotACloudEvent, match=f"^{attribute.removeprefix('ce_')}: missing$"):
        CloudEvent.from_kafka(binary_value(original), binary_headers(original, **{attribute: None}))


def test_binary_mode_refuses_an_empty_attribute() -> None:
    original = event()

    with pytest.raises(NotACloudEvent, match=r"^id: string_too_short$"):
        CloudEvent.from_kafka(binary_value(original), binary_headers(original, ce_id=b""))


def test_a_structured_specversion_other_than_1_0_is_refused() -> None:
    document = json.loads(event().to_json_bytes()) | {"specversion": "0.3"}

    with pytest.raises(NotACloudEvent, match=r"^specversion: literal_error$"):
        CloudEvent.from_kafka(json.dumps(document).encode(), STRUCTURED)


def test_a_binary_specversion_other_than_1_0_is_refused() -> None:
    original = event()
    headers = binary_headers(original, ce_specversion=b"0.3")

    with pytest.raises(NotACloudEvent, match=r"^specversion: literal_error$"):
        CloudEvent.from_kafka(binary_value(original), headers)


def test_a_header_that_is_not_utf8_is_named_and_not_repeated() -> None:
    original = event()
    headers = binary_headers(original, ce_subject=b"\xff" + VALID_NIK.encode())

    with pytest.raises(NotACloudEvent) as raised:
        CloudEvent.from_kafka(binary_value(original), headers)

    assert str(raised.value) == "header ce_subject is not UTF-8"


def test_a_repeated_binding_header_is_ambiguous() -> None:
    original = event()
    headers = [*binary_headers(original), ("ce_id", b"evt-2")]

    with pytest.raises(NotACloudEvent, match="header ce_id appears more than once"):
        CloudEvent.from_kafka(binary_value(original), headers)


def test_headers_the_binding_does_not_define_may_be_anything() -> None:
    original = event()
    headers = [*binary_headers(original), ("x-trace", b"\xff\xfe"), ("x-empty", None)]

    assert CloudEvent.from_kafka(binary_value(original), headers) == original


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"not json", "binary-mode data is not JSON"),
        (b"\xff\xfe\x00", "binary-mode data is not JSON"),
        (b"[1, 2]", "data: dict_type"),
        (None, "data: missing"),
    ],
)
def test_binary_mode_data_must_be_a_json_object(value: bytes | None, error: str) -> None:
    with pytest.raises(NotACloudEvent, match=error):
        CloudEvent.from_kafka(value, binary_headers(event()))


def test_binary_mode_data_must_be_json_typed() -> None:
    original = event()
    headers = binary_headers(original, **{"content-type": b"application/xml"})

    with pytest.raises(NotACloudEvent, match="datacontenttype: literal_error"):
        CloudEvent.from_kafka(binary_value(original), headers)


def test_errors_name_fields_never_values() -> None:
    original = wrapped(request_submitted())
    headers = binary_headers(original, ce_time=VALID_NIK.encode() + b"x")

    with pytest.raises(NotACloudEvent) as raised:
        CloudEvent.from_kafka(binary_value(original), headers)

    assert VALID_NIK not in str(raised.value)
    assert str(raised.value).startswith("time: ")
    assert raised.value.__suppress_context__
