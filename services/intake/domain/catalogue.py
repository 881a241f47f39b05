"""The service catalogue: which documents the office issues, by which rules. Data, not code."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownService(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ServiceDefinition:
    code: str
    name: str
    requirements: tuple[str, ...]
    deadline_working_days: int | None
    in_person_only: bool

    @property
    def online(self) -> bool:
        """Whether citizens may submit it remotely; in-person services are booked as visits."""
        return not self.in_person_only


class ServiceCatalogue:
    def __init__(self, services: list[ServiceDefinition]) -> None:
        self._by_code = {service.code: service for service in services}
        if len(self._by_code) != len(services):
            raise ValueError("service codes in the catalogue must be unique")

    def get(self, code: str) -> ServiceDefinition:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownService(code) from None

    def all(self) -> list[ServiceDefinition]:
        return sorted(self._by_code.values(), key=lambda service: service.code)
