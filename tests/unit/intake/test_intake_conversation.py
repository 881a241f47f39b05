"""The guided chat conversation, step by step: menu, form, documents, summary, confirmation, the
commands that work at any step, and expiry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.conversations import replies
from services.intake.conversations import turns as chat
from services.intake.conversations.domain import (
    IDLE_LIMIT,
    Content,
    Conversation,
    FetchedFile,
    FetchProblem,
    LookedUp,
    Media,
    Step,
    Text,
    Turn,
    Unsupported,
    tracking_number_asked,
)
from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.citizen_request import RequestStatus
from shared.events.models.values import NotificationChannel
from shared.files import MediaType
from shared.wib import moment_label
from tests.builders import T0

CATALOGUE = load_catalogue()
PHONE = "+6281234567890"
NIK = "3516091204800001"


@dataclass
class Chat:
    """One phone's conversation, fed message after message as the service layer would."""

    catalogue: ServiceCatalogue = CATALOGUE
    now: datetime = T0
    phone: str = PHONE
    conversation: Conversation | None = None
    turns: list[Turn] = field(default_factory=list)

    def send(self, content: Content | str, *, looked_up: LookedUp | None = None) -> Turn:
        turn = chat.receive(
            self.conversation,
            Text(content) if isinstance(content, str) else content,
            phone=self.phone,
            channel=NotificationChannel.WHATSAPP,
            catalogue=self.catalogue,
            now=self.now,
            looked_up=looked_up,
        )
        self.conversation = turn.conversation
        self.turns.append(turn)
        return turn

    @property
    def step(self) -> Step:
        assert self.conversation is not None
        return self.conversation.step

    def menu_number(self, service_name: str) -> str:
        menu = self.turns[-1].reply
        match = re.search(rf"^(\d+)\. {re.escape(service_name)}$", menu, re.MULTILINE)
        assert match is not None, menu
        return match.group(1)

    def choose(self, service_name: str) -> Turn:
        self.send("halo")
        return self.send(self.menu_number(service_name))


def menu_number_of(entry: str) -> str:
    """The number of a menu entry, as an earlier menu or a list row gives it."""
    menu = Chat()
    menu.send("halo")
    return menu.menu_number(entry)


def jpeg(requirement: str, size: int = 2048) -> Media:
    return Media(fetched=FetchedFile(requirement, MediaType.JPEG, size, "ab" * 32))


def at_documents(name: str = "Kartu Keluarga baru") -> Chat:
    """A KK_BARU conversation whose form is filled in, waiting for its one document."""
    conversation = Chat()
    conversation.choose(name)
    conversation.send(NIK)
    conversation.send("Siti Aminah")
    conversation.send("1")
    conversation.send("Jl. Majapahit 12, Sooko")
    return conversation


def test_the_first_message_gets_the_menu_of_online_services_and_other_actions() -> None:
    turn = Chat().send("Selamat pagi")

    assert turn.conversation.step is Step.MENU
    assert "GRATIS" in turn.reply
    offered = re.findall(r"^\d+\. (.+)$", turn.reply, re.MULTILINE)
    online = [s.name for s in CATALOGUE.all() if s.online and "whatsapp" in s.channels]
    assert offered == [
        *online,
        "Cek status permohonan",
        "Bantuan dan pengaduan",
        "Janji kunjungan (perekaman KTP-el, aktivasi IKD)",
    ]
    assert "Perekaman KTP-el pertama" not in offered


def test_choosing_a_service_by_its_number_asks_for_the_nik() -> None:
    conversation = Chat()
    conversation.send("halo")

    turn = conversation.send(f" {conversation.menu_number('Kartu Keluarga baru')} ")

    assert turn.conversation.step is Step.NIK
    assert turn.conversation.service_code == "KK_BARU"
    assert "Kartu Keluarga baru" in turn.reply
    assert "(1/5) Ketik NIK" in turn.reply


def test_a_number_not_on_the_menu_shows_the_menu_again() -> None:
    conversation = Chat()
    conversation.send("halo")

    turn = conversation.send("99")

    assert turn.conversation.step is Step.MENU
    assert turn.reply.startswith("Maaf, pilihan itu tidak ada.")
    assert "Balas dengan angka pilihan Anda" in turn.reply


def test_the_menus_status_and_help_entries_explain_and_keep_the_menu() -> None:
    conversation = Chat()
    conversation.send("halo")

    status = conversation.send(conversation.menu_number("Cek status permohonan"))
    conversation.send("halo")
    help_reply = conversation.send(conversation.menu_number("Bantuan dan pengaduan"))

    assert "STATUS" in status.reply
    assert "GRATIS" in help_reply.reply
    assert conversation.step is Step.MENU


def test_a_wrong_nik_is_asked_again_with_the_reason() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")

    turn = conversation.send("12345")

    assert turn.conversation.step is Step.NIK
    assert turn.reply.startswith("NIK harus terdiri dari 16 digit.")
    assert "Ketik NIK pemohon" in turn.reply


def test_a_service_for_residents_refuses_a_nik_of_another_regency() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")

    turn = conversation.send("3578091204800001")

    assert turn.conversation.step is Step.NIK
    assert "kabupaten/kota lain" in turn.reply


def test_the_nik_then_the_name_lead_to_the_services_own_fields() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")

    conversation.send("3516 0912 0480 0001")
    turn = conversation.send("  Siti   Aminah ")

    assert turn.conversation.nik == NIK
    assert turn.conversation.name == "Siti Aminah"
    assert turn.conversation.step is Step.FIELD
    assert "(3/5) Alasan" in turn.reply
    assert "1. Menikah, membentuk keluarga baru" in turn.reply


def test_a_name_with_invisible_characters_is_asked_again() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")
    conversation.send(NIK)

    turn = conversation.send("Siti\u202eAminah")

    assert turn.conversation.step is Step.NAME
    assert "arah teks" in turn.reply


@pytest.mark.parametrize("answer", ["2", "pisah_kk", "Pisah dari KK orang tua"])
def test_a_choice_is_taken_by_number_key_or_label(answer: str) -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")
    conversation.send(NIK)
    conversation.send("Siti Aminah")

    turn = conversation.send(answer)

    assert turn.conversation.answers == {"reason": "PISAH_KK"}
    assert "(4/5) Alamat lengkap" in turn.reply


def test_a_choice_that_is_not_offered_is_asked_again() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")
    conversation.send(NIK)
    conversation.send("Siti Aminah")

    turn = conversation.send("7")

    assert turn.conversation.step is Step.FIELD
    assert turn.conversation.position == 0
    assert turn.reply.startswith("Pilihan itu tidak ada; balas dengan angka 1 sampai 3.")


def test_a_required_field_cannot_be_skipped() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")
    conversation.send(NIK)
    conversation.send("Siti Aminah")

    turn = conversation.send("lewati")

    assert turn.reply.startswith("Alasan wajib diisi.")
    assert turn.conversation.step is Step.FIELD


def test_dates_are_taken_day_first_and_refused_in_the_future() -> None:
    conversation = Chat()
    conversation.choose("Kartu Identitas Anak")
    conversation.send(NIK)
    conversation.send("Siti Aminah")
    conversation.send("3516091204800009")
    conversation.send("Budi")

    future = conversation.send("31-12-2099")
    taken = conversation.send("31/05/2020")

    assert "tidak boleh di masa depan" in future.reply
    assert taken.conversation.answers["child_date_of_birth"] == "2020-05-31"
    assert taken.conversation.step is Step.DOCUMENT


def test_the_documents_are_asked_for_by_name_one_message_each() -> None:
    conversation = at_documents()

    assert conversation.step is Step.DOCUMENT
    assert "(5/5) Kirim Buku nikah atau akta perkawinan" in conversation.turns[-1].reply
    assert chat.awaited_document(conversation.conversation, CATALOGUE, now=T0) is not None


def test_text_while_a_document_is_awaited_asks_for_a_photo_or_pdf() -> None:
    conversation = at_documents()

    turn = conversation.send("sudah saya kirim")

    assert turn.conversation.step is Step.DOCUMENT
    assert "sebagai foto atau file PDF" in turn.reply


def test_a_mandatory_document_cannot_be_skipped() -> None:
    conversation = at_documents()

    turn = conversation.send("LEWATI")

    assert turn.conversation.step is Step.DOCUMENT
    assert "wajib dikirim" in turn.reply


def test_an_optional_document_is_skipped_with_lewati() -> None:
    conversation = Chat()
    conversation.choose("Kartu Identitas Anak")
    for answer in (NIK, "Siti Aminah", "3516091204800009", "Budi", "2020-05-31"):
        conversation.send(answer)
    conversation.send(jpeg("AKTA_LAHIR_ANAK"))
    conversation.send(jpeg("KK_ORANG_TUA"))

    turn = conversation.send(" lewati ")

    assert turn.conversation.step is Step.CONFIRM
    assert "Pas foto anak (usia 5 tahun ke atas): tidak ada" in turn.reply
    assert set(turn.conversation.documents) == {"AKTA_LAHIR_ANAK", "KK_ORANG_TUA"}


@pytest.mark.parametrize(
    ("media", "reason"),
    [
        (Media(fetched=FetchedFile("BUKU_NIKAH", None, 100, "ab")), "tidak dapat kami terima"),
        (Media(fetched=FetchProblem.TOO_LARGE), "terlalu besar; paling besar 5 MB"),
        (jpeg("BUKU_NIKAH", size=6 * 1024 * 1024), "terlalu besar"),
        (Media(fetched=FetchProblem.UNAVAILABLE), "gagal kami ambil"),
        (jpeg("KK"), "gagal kami ambil"),
    ],
)
def test_a_file_that_cannot_be_taken_is_asked_for_again(media: Media, reason: str) -> None:
    conversation = at_documents()

    turn = conversation.send(media)

    assert reason in turn.reply
    assert turn.conversation.step is Step.DOCUMENT
    assert turn.hold is None
    assert not turn.conversation.documents


def test_an_accepted_file_is_held_and_leads_to_the_summary() -> None:
    conversation = at_documents()

    turn = conversation.send(jpeg("BUKU_NIKAH"))

    assert turn.hold == "BUKU_NIKAH"
    assert turn.conversation.documents["BUKU_NIKAH"].media_type == "image/jpeg"
    assert turn.conversation.step is Step.CONFIRM
    assert "sudah kami terima" in turn.reply
    for line in (
        "Layanan: Kartu Keluarga baru",
        f"NIK: {NIK}",
        "Nama: Siti Aminah",
        "Alasan: Menikah, membentuk keluarga baru",
        "Alamat lengkap: Jl. Majapahit 12, Sooko",
        "Buku nikah atau akta perkawinan: terkirim",
    ):
        assert line in turn.reply


def test_ya_submits_the_form_as_filled_in() -> None:
    conversation = at_documents()
    conversation.send(jpeg("BUKU_NIKAH"))

    unclear = conversation.send("ok")
    turn = conversation.send(" ya ")

    assert "Balas YA untuk mengirim" in unclear.reply
    assert turn.submit is not None
    assert turn.submit.service_code == "KK_BARU"
    assert turn.submit.nik == NIK
    assert turn.submit.name == "Siti Aminah"
    assert turn.submit.phone == PHONE
    assert turn.submit.preferred_channel is NotificationChannel.WHATSAPP
    assert turn.submit.fields == {"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"}


def test_a_submitted_request_ends_the_conversation_with_its_number_date_and_no_fee() -> None:
    conversation = at_documents()
    conversation.send(jpeg("BUKU_NIKAH"))
    assert conversation.conversation is not None

    turn = chat.submitted(
        conversation.conversation,
        CATALOGUE,
        tracking_number="K7M2Q9XP",
        expected_at=datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
        missing_documents=["BUKU_NIKAH"],
        now=T0,
    )

    assert turn.conversation.step is Step.IDLE
    assert turn.drop == ("BUKU_NIKAH",)
    assert "Nomor permohonan: K7M2Q9XP" in turn.reply
    assert "Perkiraan selesai: Selasa, 4 Maret 2025 pukul 16.00 WIB" in turn.reply
    assert "GRATIS" in turn.reply
    assert "belum kami terima" in turn.reply
    assert "Buku nikah atau akta perkawinan" in turn.reply


def test_a_refused_submission_starts_over_with_the_reason() -> None:
    conversation = at_documents()
    conversation.send(jpeg("BUKU_NIKAH"))
    assert conversation.conversation is not None

    turn = chat.refused(conversation.conversation, reason="Alamat wajib diisi.", now=T0)

    assert turn.conversation.step is Step.IDLE
    assert "Alamat wajib diisi." in turn.reply
    assert turn.drop == ("BUKU_NIKAH",)


def test_batal_cancels_at_any_step_and_drops_the_held_files() -> None:
    conversation = Chat()
    conversation.choose("Perubahan Kartu Keluarga")
    for answer in (NIK, "Siti Aminah", "3516091204800009", "tambah anak bernama Budi"):
        conversation.send(answer)
    conversation.send(jpeg("KK_LAMA"))

    turn = conversation.send("  batal ")

    assert turn.conversation.step is Step.IDLE
    assert turn.drop == ("KK_LAMA",)
    assert "dibatalkan" in turn.reply
    assert turn.conversation.nik is None


def test_batal_with_nothing_in_progress_says_so() -> None:
    turn = Chat().send("BATAL")

    assert "Tidak ada pengajuan" in turn.reply
    assert turn.drop == ()


def test_bantuan_helps_and_keeps_the_question_open() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")

    turn = conversation.send("Bantuan")

    assert turn.conversation.step is Step.NIK
    assert "GRATIS" in turn.reply
    assert "ADUAN PUNGLI" in turn.reply
    assert "JANJI" in turn.reply
    assert turn.reply.endswith("(1/5) Ketik NIK pemohon: 16 angka yang tertera di KTP-el atau KK.")


def test_menu_leaves_the_form_for_the_menu() -> None:
    conversation = at_documents()

    turn = conversation.send("menu")

    assert turn.conversation.step is Step.MENU
    assert turn.reply.startswith("Pengajuan yang sedang diisi dibatalkan.")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("STATUS K7M2Q9XP", "K7M2Q9XP"),
        ("  status   k7m2-q9xp ", "K7M2Q9XP"),
        ("Status k7m2 q9xp", "K7M2Q9XP"),
        ("STATUS", None),
        ("STATUS 123", None),
        ("STATUSK7M2Q9XP", None),
        ("cek status", None),
    ],
)
def test_the_tracking_number_of_a_status_command(text: str, number: str | None) -> None:
    assert tracking_number_asked(Text(text)) == number


def test_status_of_an_owned_request_gives_its_status_and_date_only() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")
    found = LookedUp(RequestStatus.IN_VERIFICATION, datetime(2025, 3, 4, 9, 0, tzinfo=UTC))

    turn = conversation.send("status K7M2Q9XP", looked_up=found)

    assert turn.reply.startswith(
        "Permohonan Anda sedang diperiksa petugas. "
        "Perkiraan selesai: Selasa, 4 Maret 2025 pukul 16.00 WIB."
    )
    assert turn.conversation.step is Step.NIK
    assert "Ketik NIK pemohon" in turn.reply


def test_status_of_an_unknown_or_someone_elses_request_points_to_the_app() -> None:
    turn = Chat().send("STATUS K7M2Q9XP", looked_up=None)

    assert turn.reply == replies.STATUS_UNKNOWN
    assert "4 angka terakhir NIK" in turn.reply


def test_status_without_a_number_says_how_to_ask() -> None:
    assert Chat().send("status").reply == replies.STATUS_HOW


def test_a_message_of_an_unsupported_kind_is_answered_politely() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")

    turn = conversation.send(Unsupported("audio"))

    assert turn.reply.startswith(replies.UNSUPPORTED)
    assert turn.conversation.step is Step.NIK


def test_a_file_when_none_is_awaited_is_not_taken() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")

    turn = conversation.send(Media())

    assert turn.reply.startswith("Saat ini kami tidak menunggu dokumen.")
    assert turn.conversation.step is Step.NIK
    assert chat.awaited_document(turn.conversation, CATALOGUE, now=T0) is None


def test_a_conversation_left_alone_for_thirty_minutes_starts_again_with_a_note() -> None:
    conversation = at_documents()
    conversation.send(jpeg("BUKU_NIKAH"))
    conversation.now += IDLE_LIMIT

    turn = conversation.send("ya")

    assert turn.submit is None
    assert turn.conversation.step is Step.MENU
    assert turn.reply.startswith(replies.EXPIRED)
    assert turn.drop == ("BUKU_NIKAH",)
    assert chat.awaited_document(conversation.conversation, CATALOGUE, now=conversation.now) is None


def test_a_conversation_answered_within_thirty_minutes_goes_on() -> None:
    conversation = at_documents()
    conversation.now += IDLE_LIMIT - timedelta(seconds=1)

    turn = conversation.send(jpeg("BUKU_NIKAH"))

    assert turn.conversation.step is Step.CONFIRM


def test_an_idle_menu_left_alone_gets_the_menu_without_a_note() -> None:
    conversation = Chat()
    conversation.send("halo")
    conversation.now += timedelta(hours=2)

    turn = conversation.send("selamat pagi")

    assert turn.conversation.step is Step.MENU
    assert not turn.reply.startswith(replies.EXPIRED)


def test_the_first_choice_after_batal_is_taken() -> None:
    conversation = Chat()
    conversation.choose("Kartu Keluarga baru")
    conversation.send(NIK)
    conversation.send("BATAL")

    turn = conversation.send(menu_number_of("Perubahan Kartu Keluarga"))

    assert turn.conversation.step is Step.NIK
    assert turn.conversation.service_code == "KK_UBAH"
    assert turn.reply.startswith("Anda memilih: Perubahan Kartu Keluarga.")


@pytest.mark.parametrize("before", [None, "halo"])
def test_a_menu_choice_that_opens_a_conversation_is_taken(before: str | None) -> None:
    """A list row or button pressed from an old chat opens a new (or expired) conversation."""
    conversation = Chat()
    number = menu_number_of("Kartu Keluarga baru")
    if before is not None:
        conversation.send(before)
        conversation.now += IDLE_LIMIT

    turn = conversation.send(number)

    assert turn.conversation.step is Step.NIK
    assert turn.conversation.service_code == "KK_BARU"


def test_the_menus_other_entries_are_taken_from_a_new_conversation_too() -> None:
    turn = Chat().send(menu_number_of("Cek status permohonan"))

    assert turn.reply == replies.STATUS_HOW
    assert turn.conversation.step is Step.MENU


def test_a_number_outside_indonesia_is_told_the_service_is_for_indonesian_numbers() -> None:
    turn = Chat(phone="+14155550100").send("halo")

    assert turn.reply == replies.FOREIGN_NUMBER
    assert turn.conversation.step is Step.IDLE


def test_times_are_shown_in_wib_with_indonesian_names() -> None:
    assert moment_label(datetime(2025, 8, 17, 3, 5, tzinfo=UTC)) == (
        "Minggu, 17 Agustus 2025 pukul 10.05 WIB"
    )
