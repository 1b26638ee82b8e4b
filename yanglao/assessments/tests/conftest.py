from datetime import date

import pytest
from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.accounts.roles import Role
from yanglao.assessments import instruments, services
from yanglao.core.testing import make_credit_code, make_user

GB = instruments.get("gbt42195-2022")


def full_answers(total: int = 90) -> dict[str, int]:
    answers, left = {}, total
    for key, item in GB.items.items():
        answers[key] = min(item.max_score, left)
        left -= answers[key]
    return answers


@pytest.fixture
def second_assessor(cast):
    """A second assessor of the cast's assessment organisation (two attest every assessment)."""
    return make_user(
        "assessor_two", Role.ASSESSOR, "1201", cast.organisations["assessor"], full_name="评估员二"
    )


@pytest.fixture
def other_assessor(cast):
    """An assessor of a different assessment organisation."""
    other = Organisation.objects.create(
        name="另一评估机构", kind="assessor", region_id="1201", credit_code=make_credit_code(9)
    )
    return make_user("assessor_other", Role.ASSESSOR, "1201", other)


@pytest.fixture
def elder(make_elder):
    return make_elder("120101001001", born=date(1938, 2, 3), name="王秀兰")


@pytest.fixture
def assigned(cast, elder):
    assessment = services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    return services.assessment_assign(
        actor=cast.district_staff, assessment=assessment, organisation=cast.organisations["assessor"]
    )


def submit(cast, second_assessor, assessment, *, total=70, **extra):
    services.assessment_save_draft(
        actor=cast.assessor,
        assessment=assessment,
        answers=full_answers(total),
        assessed_on=timezone.localdate(),
        **extra,
    )
    services.assessment_attest(actor=cast.assessor, assessment=assessment)
    return services.assessment_attest(actor=second_assessor, assessment=assessment)
