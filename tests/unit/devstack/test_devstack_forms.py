"""The load's forms: each one a citizen of its own that intake would accept, however long the
load runs, since a NIK with an open application is refused a second one."""

from __future__ import annotations

from devstack.forms import load_form
from services.intake.domain.identity import normalize_phone, validate_nik

ACROSS_THE_SERIALS = [*range(9990, 10010), 28 * 9999 - 1, 28 * 9999, 12 * 28 * 9999 - 1]


def test_every_load_form_has_a_valid_nik_and_phone_of_its_own() -> None:
    forms = [load_form(n) for n in [*range(0, 20), *ACROSS_THE_SERIALS]]

    for form in forms:
        assert validate_nik(form["nik"]) == form["nik"]
        normalize_phone(form["phone"])
    assert len({form["nik"] for form in forms}) == len(forms)
    assert len({form["phone"] for form in forms}) == len(forms)
