"""The demo step gives a share of the demo population an effective level and leaves open requests."""

import io

from django.core.management import call_command

from yanglao.assessments.enums import Status
from yanglao.assessments.models import Assessment


def test_the_demo_assesses_a_share_of_the_population_once(db):
    for _ in range(2):
        call_command("demo", "--no-serve", "--elders", "400", stdout=io.StringIO(), stderr=io.StringIO())
        effective = Assessment.objects.filter(status=Status.EFFECTIVE)
        assert effective.count() == 60  # 15 % of 400
        assert Assessment.objects.filter(status__in=[Status.REQUESTED, Status.ASSIGNED]).exists()
    levels = set(effective.values_list("final_level", flat=True))
    assert len(levels) >= 3
    sample = effective.first()
    assert sample.total == sum(sample.answers.values()) and sample.assessor_1_id != sample.assessor_2_id
