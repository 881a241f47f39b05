"""Whether a file really is what its first bytes claim: a PDF that a PDF library opens, an image
that decodes, within bounds a small file cannot blow up.

First bytes only tell what a file says it is: `%PDF-1.4` in front of a text or a program is not a
PDF. So a whole file is opened with the library its type calls for (pypdf, Pillow) before it is
kept. A few megabytes can unpack to gigabytes (a decompression bomb), so pages and pixels are
bounded before anything is decoded: a JPEG decodes at an eighth of its size (all of its data is
still read), and a PNG is decoded whole only within `MAX_PIXELS`. Decoding is CPU work, done in a
small pool of worker threads so the event loop keeps serving, with no more decodes at once than
`CHECKS_AT_ONCE`, which bounds the memory they take.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from io import BytesIO

from PIL import Image
from pypdf import PasswordType, PdfReader

from shared.errors import Kind, Refusal
from shared.files import TYPE_NAMES, FileRefused, FileRule, MediaType

MAX_PAGES = 50
"""Far more than any paper of a request. pypdf itself bounds how deep and wide a page tree it
walks, so a lying page count cannot make it walk for ever."""
MAX_PIXELS = 50_000_000
"""A 50-megapixel photo, or an A4 page scanned at 600 dpi; a PNG this size takes up to 200 MB
while it is decoded."""
CHECKS_AT_ONCE = 2
"""Files decoded at the same time, one per core of the machine intake runs on."""

_IMAGE_FORMATS = {MediaType.JPEG: "JPEG", MediaType.PNG: "PNG"}
_workers = ThreadPoolExecutor(max_workers=CHECKS_AT_ONCE, thread_name_prefix="file-check")


class Unreadable(Refusal, FileRefused):
    """The file begins as a type it is not, is broken or locked, or is beyond the bounds; `code`
    says which, the message says why in Indonesian."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, Kind.INVALID)


async def check_contents(rule: FileRule, media_type: MediaType, content: bytes) -> None:
    """Raises Unreadable unless `content` opens as `media_type` within the bounds; decoded in a
    worker thread."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_workers, partial(opens, rule, media_type, content))


def opens(rule: FileRule, media_type: MediaType, content: bytes) -> None:
    """Raises Unreadable unless `content` opens as `media_type` within the bounds."""
    try:
        if media_type is MediaType.PDF:
            _check_pdf(rule, content)
        else:
            _check_image(rule, media_type, content)
    except Unreadable:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(rule, None) from None
    except Exception:
        # A parser fed hostile bytes fails in ways no list foresees (KeyError, zlib.error,
        # RecursionError...): each means the file does not open.
        raise _broken(rule, media_type) from None


def _check_pdf(rule: FileRule, content: bytes) -> None:
    reader = PdfReader(BytesIO(content), strict=False)
    if reader.is_encrypted and reader.decrypt("") is PasswordType.NOT_DECRYPTED:
        raise Unreadable(
            "document_encrypted",
            f"Berkas {rule.name} dikunci dengan kata sandi, sehingga petugas tidak dapat "
            "membukanya. Kirim PDF tanpa kata sandi.",
        )
    pages = len(reader.pages)
    if pages > MAX_PAGES:
        raise Unreadable(
            "too_many_pages",
            f"Berkas {rule.name} berisi {pages} halaman; paling banyak {MAX_PAGES} halaman.",
        )
    if pages == 0:
        raise _broken(rule, MediaType.PDF)
    for page in reader.pages:
        if not page.mediabox.width or not page.mediabox.height:
            raise _broken(rule, MediaType.PDF)


def _check_image(rule: FileRule, media_type: MediaType, content: bytes) -> None:
    image_format = _IMAGE_FORMATS[media_type]
    with Image.open(BytesIO(content), formats=[image_format]) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_many_pixels(rule, image.size)
        if media_type is MediaType.PNG:
            image.verify()
        else:
            image.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))
            image.load()
    if media_type is MediaType.PNG:
        with Image.open(BytesIO(content), formats=[image_format]) as image:
            image.load()


def _too_many_pixels(rule: FileRule, size: tuple[int, int] | None) -> Unreadable:
    measured = "" if size is None else f" ({size[0]} x {size[1]} piksel)"
    return Unreadable(
        "too_many_pixels",
        f"Gambar {rule.name} terlalu besar resolusinya{measured}; paling besar "
        f"{MAX_PIXELS // 1_000_000} megapiksel. Perkecil resolusinya lalu kirim lagi.",
    )


def _broken(rule: FileRule, media_type: MediaType) -> Unreadable:
    kind = TYPE_NAMES[media_type]
    return Unreadable(
        "document_unreadable",
        f"Berkas {rule.name} tidak dapat dibuka sebagai {kind}: isinya rusak, terpotong, atau "
        f"bukan {kind} sungguhan walau diawali seperti {kind}. Kirim ulang berkas aslinya.",
    )
