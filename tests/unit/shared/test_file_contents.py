"""A file is kept only if it opens as the type its first bytes claim, within bounds of pages and
pixels that a small file cannot blow up."""

from __future__ import annotations

import threading

import pytest

from shared import file_contents
from shared.file_contents import MAX_PAGES, MAX_PIXELS, Unreadable, check_contents, opens
from shared.files import MediaType
from tests.documents import (
    CARD,
    FAKE_PDF,
    JPEG,
    PDF,
    PNG,
    PROGRAM_AS_PDF,
    image,
    pdf,
    png_claiming,
)


@pytest.mark.parametrize(
    ("media_type", "content"),
    [
        (MediaType.PDF, PDF),
        (MediaType.PDF, pdf(MAX_PAGES)),
        (MediaType.PDF, pdf(password="")),
        (MediaType.JPEG, JPEG),
        (MediaType.PNG, PNG),
        (MediaType.JPEG, image("JPEG", (2480, 3508))),
    ],
    ids=[
        "pdf",
        "pdf of the most pages",
        "pdf that opens without a password",
        "jpeg",
        "png",
        "A4 scan",
    ],
)
def test_a_real_small_file_opens(media_type: MediaType, content: bytes) -> None:
    opens(CARD, media_type, content)


@pytest.mark.parametrize(
    ("media_type", "content", "code"),
    [
        (MediaType.PDF, FAKE_PDF, "document_unreadable"),
        (MediaType.PDF, PROGRAM_AS_PDF, "document_unreadable"),
        (MediaType.PDF, PDF[: len(PDF) // 2], "document_unreadable"),
        (MediaType.PDF, PDF[:-60], "document_unreadable"),
        (MediaType.PDF, pdf(0), "document_unreadable"),
        (MediaType.PDF, pdf(password="rahasia"), "document_encrypted"),
        (MediaType.PDF, pdf(MAX_PAGES + 1), "too_many_pages"),
        (MediaType.JPEG, b"\xff\xd8\xff\xe0" + bytes(64), "document_unreadable"),
        (MediaType.JPEG, JPEG[: len(JPEG) // 2], "document_unreadable"),
        (MediaType.PNG, PNG[: len(PNG) - 20], "document_unreadable"),
        (MediaType.PNG, png_claiming(100_000, 100_000), "too_many_pixels"),
        (MediaType.PNG, png_claiming(MAX_PIXELS // 1000 + 1, 1000), "too_many_pixels"),
        (MediaType.PNG, JPEG, "document_unreadable"),
    ],
    ids=[
        "33 bytes of text with a pdf header",
        "program with a pdf header",
        "pdf cut in half",
        "pdf without its end",
        "pdf without pages",
        "pdf locked with a password",
        "pdf of too many pages",
        "jpeg header on nothing",
        "jpeg cut in half",
        "png cut short",
        "png header of 10 gigapixels",
        "png header just over the pixels",
        "jpeg for a png",
    ],
)
def test_a_file_that_only_begins_as_its_type_is_refused_with_the_reason(
    media_type: MediaType, content: bytes, code: str
) -> None:
    with pytest.raises(Unreadable) as refused:
        opens(CARD, media_type, content)

    assert refused.value.code == code
    assert "Kartu Keluarga" in str(refused.value)


def test_the_size_a_png_header_claims_is_refused_before_any_pixel_is_decoded() -> None:
    with pytest.raises(Unreadable, match=r"\(10000 x 6000 piksel\); paling besar 50 megapiksel"):
        opens(CARD, MediaType.PNG, png_claiming(10_000, 6_000))


async def test_files_are_opened_in_a_worker_thread_not_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []

    def recording(*args: object) -> None:
        threads.append(threading.current_thread().name)

    monkeypatch.setattr(file_contents, "opens", recording)

    await check_contents(CARD, MediaType.PDF, PDF)

    assert len(threads) == 1
    assert threads[0].startswith("file-check")


async def test_a_refusal_in_the_worker_reaches_the_caller() -> None:
    with pytest.raises(Unreadable, match="tidak dapat dibuka sebagai PDF"):
        await check_contents(CARD, MediaType.PDF, FAKE_PDF)
