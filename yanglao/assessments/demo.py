"""Demo assessments: effective GB/T 42195-2022 results for a share of the demo population, scored by
the real scoring function from seeded answers, and a few open requests waiting for the demo assessor
organisation, so every screen of the workflow has something to show. A second run adds nothing."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from yanglao.accounts.models import Organisation, User
from yanglao.assessments import instruments, scoring, services
from yanglao.assessments.enums import RequestKind, Status
from yanglao.assessments.models import Assessment
from yanglao.core import policy
from yanglao.regions import codes
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Elder

SHARE_ASSESSED = 0.15  # elders with an effective result; most older people are never assessed
OPEN_REQUESTS = 12
# Ability drawn per elder: most assessed elders are mildly impaired or intact, a tail is severe.
ABILITY_WEIGHTS = [(0.97, 0.35), (0.8, 0.30), (0.6, 0.17), (0.42, 0.11), (0.2, 0.07)]


def _answers(rng: random.Random, definition: instruments.Instrument) -> dict[str, int]:
    ability = rng.choices([a for a, _ in ABILITY_WEIGHTS], weights=[w for _, w in ABILITY_WEIGHTS])[0]
    answers = {}
    for key, item in definition.items.items():
        level = min(1.0, max(0.0, rng.gauss(ability, 0.12)))
        answers[key] = min(item.max_score, max(0, round(level * item.max_score)))
    return answers


def demo_assessments(*, root: str = "1201", stdout: Any = None, seed: int = 42, **options: Any) -> int:
    root = codes.normalize(root, field="root")
    if Assessment.objects.filter(codes.within(root, "elder__residence_region_id")).exists():
        return 0
    rng = random.Random(seed)
    definition = instruments.get(instruments.DEFAULT)
    organisation = Organisation.objects.filter(kind=Organisation.Kind.ASSESSOR).order_by("pk").first()
    assessors = (
        list(User.objects.filter(organisation=organisation).order_by("username")[:2]) if organisation else []
    )
    elders = list(
        Elder.objects.filter(codes.within(root, "residence_region_id"), status=ElderStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen = rng.sample(elders, int(len(elders) * SHARE_ASSESSED))
    today = timezone.localdate()
    months = policy.value(services.VALIDITY, on=today)
    rows = []
    for elder_id in chosen:
        answers = _answers(rng, definition)
        risk = rng.choices([0, 1, 2], weights=[85, 10, 5])[0]
        diagnoses = ["F03"] if rng.random() < 0.05 else []
        result = scoring.score(definition, answers, diagnoses=diagnoses, risk_events_30d=risk)
        valid_from = today - timedelta(days=rng.randrange(0, 360))
        rows.append(
            Assessment(
                elder_id=elder_id,
                kind=RequestKind.FIRST,
                instrument=definition.code,
                status=Status.EFFECTIVE,
                organisation=organisation,
                answers=result.answers,
                diagnoses=diagnoses,
                risk_events={"fall": risk} if risk else {},
                assessed_on=valid_from - timedelta(days=rng.randrange(1, 10)),
                assessor_1=assessors[0] if len(assessors) > 1 else None,
                assessor_2=assessors[1] if len(assessors) > 1 else None,
                total=result.total,
                group_scores=result.groups,
                preliminary_level=result.preliminary.code,
                final_level=result.final.code,
                level_label=result.final.label,
                adjustments=[
                    {"code": a.code, "label": a.label, "effect": a.effect} for a in result.adjustments
                ],
                valid_from=valid_from,
                valid_until=services.add_months(valid_from, months) - timedelta(days=1),
            )
        )
    with transaction.atomic():
        Assessment.objects.bulk_create(rows, batch_size=2000)
        # Open requests in the demo assessor organisation's district, for the workflow screens.
        if organisation is not None:
            waiting = (
                Elder.objects.filter(
                    codes.within(organisation.region_id, "residence_region_id"), status=ElderStatus.ACTIVE
                )
                .exclude(assessments__isnull=False)
                .order_by("pk")[:OPEN_REQUESTS]
            )
            for index, elder in enumerate(waiting):
                assessment = services.assessment_request(
                    actor="demo", elder=elder, kind=RequestKind.FIRST, reason="社区摸底：申请居家养老服务补贴"
                )
                if index % 2 == 0:
                    services.assessment_assign(actor="demo", assessment=assessment, organisation=organisation)
    if stdout is not None:
        stdout.write(f"demo assessments: {len(rows)} effective results, open requests for {organisation}")
    return len(rows)
