"""Declarative management tests: the MDM world (CA, push certificate, schools, fake APNs) and iPads that speak DDM."""

from __future__ import annotations

import pytest

from tests.app.mdm.conftest import (  # noqa: F401 - fixtures shared with the MDM tests
    apns_server,
    apns_tls,
    environment,
    fake_apns,
    flokk_ca,
    new_ipad,
    settings,
    transport,
    world,
)
from tests.support.ddm_ipad import DeclarativeIpad


@pytest.fixture
def ddm_ipad(new_ipad):
    """Make a DDM-speaking iPad with an identity issued for a school (default: world.school)."""

    def make(school=None, **facts) -> DeclarativeIpad:
        issued = new_ipad(school)
        return DeclarativeIpad(certificate=issued.certificate, key=issued.key, **facts)

    return make


def serve(ipad, transport, *, sync: bool = True) -> list[str]:
    """Answer every queued command 'Acknowledged', as the iPad fetches them; a DeclarativeManagement
    command makes a DDM iPad sync first (``sync=False``: it does not, yet). Returns what was delivered."""
    delivered = []
    answer = ipad.idle(transport)
    while answer.command:
        delivered.append(answer.request_type)
        if answer.request_type == "DeclarativeManagement" and sync and hasattr(ipad, "sync"):
            ipad.sync(transport)
        answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
    return delivered


@pytest.fixture
def declarative(ddm_ipad, transport, fake_apns):
    """Make a DDM iPad that has enrolled, answered its first commands and synced its declarations."""

    def make(school=None, **facts):
        ipad = ddm_ipad(school, **facts)
        assert ipad.enrol(transport).status == 200
        assert "DeclarativeManagement" in serve(ipad, transport)
        return ipad

    return make
