"""A citizen service is data in intake's catalogue, but notify's messages and the monthly report
name it and its documents by labels of their own; a code without one would reach a citizen or the
head of office as the raw code."""

from __future__ import annotations

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.domain.catalogue import ServiceDefinition
from services.notify.adapters.templates_file import load_templates
from services.processing.templates.monthly_report import SERVICES as REPORT_SERVICES

LABELS = load_templates().labels


@pytest.mark.parametrize("service", load_catalogue().all(), ids=lambda service: service.code)
def test_every_catalogue_service_and_document_has_its_labels(service: ServiceDefinition) -> None:
    missing = [
        f"{where} has no label for {code}"
        for where, labels, codes in [
            ("services/notify/templates.json `services`", LABELS.services, [service.code]),
            (
                "services/notify/templates.json `documents`",
                LABELS.documents,
                [document.code for document in service.documents],
            ),
            ("services/processing/templates/monthly_report.py", REPORT_SERVICES, [service.code]),
        ]
        for code in codes
        if code not in labels
    ]

    assert missing == []
