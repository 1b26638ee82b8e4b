import importlib
from datetime import date

import pytest
from django.apps import apps

from yanglao.core.testing import HOME_DISTRICT, HOME_STREET, OTHER_DISTRICT, make_credit_code
from yanglao.providers import services
from yanglao.registry.tests.conftest import make_id

_serial = iter(range(100, 10**6))


def provider_facts(**overrides):
    """What a clerk types to register a provider (a valid credit code, new each call)."""
    facts = {
        "name": "和平区安康居家养老服务中心",
        "credit_code": make_credit_code(next(_serial)),
        "region": HOME_DISTRICT,
        "legal_form": "social_org",
        "legal_representative": "李明",
        "contact_name": "王芳",
        "contact_phone": "022-23456789",
        "address": "和平区南京路100号",
        "daily_capacity": 40,
    }
    facts.update(overrides)
    return facts


def worker_id(born: date = date(1980, 3, 15), male: bool = False) -> str:
    return make_id("120101", born, male)


@pytest.fixture
def provider(cast):
    """The cast's 和平区 provider organisation with its profile: serves 劝业场街道, offers 助浴 at 85."""
    found = services.provider_attach(
        actor="tests",
        organisation=cast.organisations["provider"],
        legal_form="social_org",
        legal_representative="周静",
        contact_phone="13812345678",
        service_areas=[HOME_STREET],
    )
    services.offer_set(actor="tests", provider=found, item="bathing", price="85")
    return found


@pytest.fixture
def other_provider(cast):
    """The cast's 河东区 provider, serving all of 河东区, offering 助浴 at 70."""
    found = services.provider_attach(
        actor="tests",
        organisation=cast.organisations["other_provider"],
        legal_form="enterprise",
        legal_representative="赵强",
        service_areas=[OTHER_DISTRICT],
    )
    services.offer_set(actor="tests", provider=found, item="bathing", price="70")
    return found


@pytest.fixture
def make_worker(cast):
    def make(organisation=None, **facts):
        facts.setdefault("name", "刘秀英")
        facts.setdefault("id_number", worker_id())
        return services.worker_register(
            actor="tests", organisation=organisation or cast.organisations["provider"], **facts
        )

    return make


@pytest.fixture
def seeded_catalogue(tianjin):
    """The catalogue again after a transactional test flushed it (its migration seeds it only once)."""
    importlib.import_module("yanglao.providers.migrations.0002_catalogue_items").seed(apps, None)
