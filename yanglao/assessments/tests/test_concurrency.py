"""Two people acting on one elder at the same moment: exactly one request, one submission, one level."""

from datetime import date

import pytest
from django.db import connection

from yanglao.assessments import services
from yanglao.assessments.enums import OPEN, Status
from yanglao.assessments.models import Assessment
from yanglao.assessments.tests.conftest import full_answers
from yanglao.core.errors import DomainError
from yanglao.core.testing import (
    ensure_tianjin,
    make_cast,
    race,
)
from yanglao.registry import services as registry_services
from yanglao.registry.tests.conftest import make_id


@pytest.fixture
def people(transactional_db):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers with a file lock; the row locks under test are PostgreSQL's")
    ensure_tianjin()
    return make_cast()


def test_two_clerks_requesting_at_once_make_one_request(people):
    elder = registry_services.elder_register(
        actor="tests",
        name="同时",
        id_number=make_id("120101", date(1940, 1, 1)),
        residence_region="120101001001",
    )
    outcomes = race(
        lambda: services.assessment_request(actor=people.community_worker, elder=elder, kind="first")
    )
    assert sum(isinstance(o, Assessment) for o in outcomes) == 1
    assert [type(o).__name__ for o in outcomes if not isinstance(o, Assessment)] == ["Conflict"]
    assert Assessment.objects.filter(elder=elder, status__in=OPEN).count() == 1


def test_two_reviewers_approving_at_once_make_one_effective_level(people):
    from yanglao.accounts.roles import Role
    from yanglao.core.testing import make_user

    second = make_user("assessor_two", Role.ASSESSOR, "1201", people.organisations["assessor"])
    elder = registry_services.elder_register(
        actor="tests",
        name="同审",
        id_number=make_id("120101", date(1941, 1, 1)),
        residence_region="120101001001",
    )
    assessment = services.assessment_request(actor=people.community_worker, elder=elder, kind="first")
    services.assessment_assign(
        actor=people.district_staff, assessment=assessment, organisation=people.organisations["assessor"]
    )
    services.assessment_save_draft(
        actor=people.assessor, assessment=assessment, answers=full_answers(60), assessed_on=date(2026, 1, 5)
    )
    services.assessment_attest(actor=people.assessor, assessment=assessment)
    services.assessment_attest(actor=second, assessment=assessment)
    outcomes = race(
        lambda: services.assessment_review(actor=people.district_staff, assessment=assessment, approve=True)
    )
    assert sum(isinstance(o, Assessment) for o in outcomes) == 1
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1
    assert Assessment.objects.filter(elder=elder, status=Status.EFFECTIVE).count() == 1
