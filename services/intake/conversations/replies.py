"""What the conversation says: its fixed replies and the menu, help, questions and summary
built from the catalogue, all in plain Indonesian."""

from __future__ import annotations

from collections.abc import Sequence

from services.intake.conversations.domain import IDLE_LIMIT, SKIP, Conversation
from services.intake.domain.catalogue import (
    DocumentRequirement,
    FieldType,
    FormField,
    ServiceCatalogue,
    ServiceDefinition,
)
from services.intake.domain.citizen_request import RequestStatus
from shared.files import MediaType

FREE_OF_CHARGE = (
    "Layanan ini GRATIS. Jangan berikan uang kepada siapa pun; bila ada yang meminta, "
    "laporkan kepada kami."
)
FOREIGN_NUMBER = "Maaf, layanan ini hanya untuk nomor seluler Indonesia (+62 8…)."
UNSUPPORTED = "Maaf, kami hanya dapat membaca pesan teks, pilihan menu, foto, dan file PDF."
EXPIRED = (
    "Percakapan sebelumnya kami akhiri karena tidak ada balasan selama "
    f"{IDLE_LIMIT.seconds // 60} menit; isian yang belum dikirim tidak disimpan."
)
STATUS_HOW = "Ketik STATUS diikuti nomor permohonan Anda, misalnya: STATUS K7M2Q9XP"
STATUS_UNKNOWN = (
    "Kami tidak menemukan permohonan dengan nomor itu untuk nomor WhatsApp atau HP ini. Bila "
    "permohonan diajukan dari nomor lain, cek statusnya di aplikasi Adminduk dengan nomor "
    "permohonan dan 4 angka terakhir NIK."
)
VISIT_HOW = (
    "Perekaman KTP-el dan aktivasi IKD dilakukan langsung di kantor. Untuk membuat janji, "
    "ketik:\nJANJI <layanan> <tanggal> <NIK> <nama>\n"
    "misalnya: JANJI KTP_REKAM 31-12-2026 3516091204800001 Budi Santoso"
)
COMPLAINT_HOW = (
    "Untuk mengadu, ketik:\nADUAN <PUNGLI/KASAR/LAMBAT/LAIN> <cerita singkat>\n"
    "misalnya: ADUAN PUNGLI petugas meminta uang. Identitas pelapor dirahasiakan."
)
MEDIA_NAMES = {MediaType.PDF: "file PDF", MediaType.JPEG: "foto JPG", MediaType.PNG: "gambar PNG"}
STATUS_TEXT = {
    RequestStatus.SUBMITTED: "sudah diterima dan menunggu diperiksa petugas",
    RequestStatus.IN_VERIFICATION: "sedang diperiksa petugas",
    RequestStatus.NEEDS_REVISION: "perlu Anda perbaiki; rinciannya ada di aplikasi Adminduk",
    RequestStatus.APPROVED: "sudah disetujui dan dokumennya sedang dibuat",
    RequestStatus.ISSUED: "dokumennya sudah terbit",
    RequestStatus.COMPLETED: "selesai",
    RequestStatus.REJECTED: "ditolak; alasannya ada di aplikasi Adminduk",
    RequestStatus.CANCELLED: "dibatalkan",
}


def menu(catalogue: ServiceCatalogue, services: Sequence[ServiceDefinition]) -> str:
    """The services offered on the channel, numbered, then the other actions."""
    lines = [
        f"Selamat datang di layanan Dispendukcapil {catalogue.regency.name}. Semua layanan GRATIS.",
        "",
        "Balas dengan angka pilihan Anda:",
    ]
    lines += [f"{number}. {service.name}" for number, service in enumerate(services, 1)]
    lines.append(f"{len(services) + 1}. Cek status permohonan")
    lines.append(f"{len(services) + 2}. Bantuan dan pengaduan")
    lines.append(f"{len(services) + 3}. Janji kunjungan (perekaman KTP-el, aktivasi IKD)")
    return "\n".join(lines)


def help_text(catalogue: ServiceCatalogue) -> str:
    return "\n".join(
        [
            f"Layanan Dispendukcapil {catalogue.regency.name}:",
            "- Ketik MENU untuk memilih layanan dan mengajukan permohonan.",
            "- Ketik STATUS diikuti nomor permohonan untuk melihat statusnya.",
            "- Ketik BATAL untuk membatalkan pengajuan yang sedang diisi.",
            "- Ketik JANJI <layanan> <tanggal> <NIK> <nama> untuk janji kunjungan "
            "(KTP_REKAM, IKD_AKTIVASI).",
            "Semua layanan GRATIS, tanpa biaya apa pun. Bila ada yang meminta uang atau Anda "
            "ingin mengadu, ketik ADUAN PUNGLI <cerita> (atau KASAR, LAMBAT, LAIN); "
            "identitas pelapor dirahasiakan.",
        ]
    )


def field_prompt(form_field: FormField) -> str:
    lines = [f"{form_field.label}: {form_field.help}"]
    if form_field.type is FieldType.CHOICE:
        lines += [
            f"{number}. {choice.label}" for number, choice in enumerate(form_field.choices, 1)
        ]
        lines.append("Balas dengan angka pilihan.")
    elif form_field.type is FieldType.DATE:
        lines.append("Ketik tanggal, misalnya 31-05-2020.")
    if not form_field.required:
        lines.append(f"Ketik {SKIP} bila tidak ada.")
    return "\n".join(lines)


def document_prompt(requirement: DocumentRequirement) -> str:
    names = " atau ".join((requirement.name, *requirement.alternatives))
    kinds = " atau ".join(MEDIA_NAMES[kind] for kind in requirement.media_types)
    line = f"Kirim {names}, sebagai {kinds} (satu dokumen satu pesan)."
    if not requirement.mandatory:
        line += f" Dokumen ini tidak wajib: ketik {SKIP} untuk melewatinya."
    return line


def summary(state: Conversation, service: ServiceDefinition) -> str:
    """Everything the citizen gave, to check before confirming."""
    lines = [
        "Periksa kembali pengajuan Anda:",
        f"Layanan: {service.name}",
        f"NIK: {state.nik}",
        f"Nama: {state.name}",
    ]
    lines += [
        f"{form_field.label}: {_shown(form_field, state.answers[form_field.name])}"
        for form_field in service.fields
        if form_field.name in state.answers
    ]
    lines += [
        f"{document.name}: {'terkirim' if document.code in state.documents else 'tidak ada'}"
        for document in service.documents
    ]
    lines += ["", "Balas YA untuk mengirim pengajuan, atau BATAL untuk membatalkan."]
    return "\n".join(lines)


def _shown(form_field: FormField, value: str) -> str:
    choice = form_field.choice(value) if form_field.type is FieldType.CHOICE else None
    return choice.label if choice else value
