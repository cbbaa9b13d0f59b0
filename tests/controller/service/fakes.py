"""Fakes of the bank's ports for the service tests: a gallery that keeps members, a vault that shreds (or refuses)."""

from __future__ import annotations

from controller.domain.errors import StoreUnavailable


class FakeGallery:
    def __init__(self) -> None:
        self.members: dict[str, str] = {}

    def add(self, compartment_id: str, subject_id: str, template_ref: str) -> None:
        self.members[compartment_id] = subject_id

    def remove(self, compartment_id: str) -> None:
        self.members.pop(compartment_id, None)


class FakeVault:
    def __init__(self) -> None:
        self.destroyed: list[str] = []
        self.refusing = ""  # set: the vault cannot be written (a full disk), with this reason

    def destroy(self, template_ref: str) -> None:
        if self.refusing:
            raise StoreUnavailable(self.refusing)
        self.destroyed.append(template_ref)
