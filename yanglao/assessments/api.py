"""The assessment API: scoring by any instrument, the instruments themselves, and the workflow.

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime
from typing import Any

from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.accounts.models import Organisation
from yanglao.accounts.scope import require_perm
from yanglao.assessments import instruments, scoring, selectors, services
from yanglao.assessments.models import Assessment
from yanglao.core.errors import InvalidInput, NotFound
from yanglao.core.permissions import Perm
from yanglao.registry import selectors as registry_selectors

router = Router(tags=["assessments"])


class ScoreIn(Schema):
    instrument: str = Field(instruments.DEFAULT, description="gbt42195-2022, barthel or mzt039-2013")
    # Any values, so that each wrong one is reported by item rather than as a type error.
    answers: dict[str, Any] = Field(description='{"1": 4, …, "26": 3}: item number → score')
    coma: bool = False
    diagnoses: list[str] = Field([], description="ICD-10 codes, e.g. F01, F03.9")
    risk_events_30d: Any = Field(0, description="care-risk events (falls, choking, …) in the last 30 days")


class GroupScore(Schema):
    name: str
    score: int
    max: int


class AdjustmentOut(Schema):
    code: str
    label: str
    effect: str


class ScoreOut(Schema):
    instrument: str
    total: int
    max_total: int
    groups: dict[str, GroupScore]
    preliminary_level: str = Field(description="intact, mild, moderate, severe or complete")
    preliminary_level_label: str
    final_level: str
    final_level_label: str
    adjustments: list[AdjustmentOut]
    capped: bool


@router.post("/score", response=ScoreOut, summary="Score answers by an instrument (pure, writes nothing)")
def score(request, body: ScoreIn):
    """GB/T 42195-2022: total 0–90, preliminary level by total, final level after appendix C.4
    (coma → complete; F00–F99 diagnosis → one level worse; ≥2 risk events in 30 days → one level worse;
    capped at complete). Missing, unknown or out-of-range answers → 422 naming each item."""
    require_perm(request.user, Perm.API_USE)
    definition = instruments.get(body.instrument)
    return scoring.score(
        definition,
        body.answers,
        coma=body.coma,
        diagnoses=body.diagnoses,
        risk_events_30d=body.risk_events_30d,
    ).as_dict()


class OptionOut(Schema):
    score: int
    text: str


class ItemOut(Schema):
    number: int
    code: str
    name: str
    hint: str
    max_score: int
    options: list[OptionOut]


class GroupOut(Schema):
    code: str
    name: str
    max_score: int
    items: list[ItemOut]


class LevelOut(Schema):
    code: str
    label: str
    total: tuple[int, int] | None = None


class InstrumentOut(Schema):
    code: str
    name: str
    source: str
    determines_ability_level: bool
    max_total: int
    groups: list[GroupOut]
    levels: list[LevelOut]
    adjustments: list[dict[str, Any]]


def _instrument_out(definition: instruments.Instrument) -> dict[str, Any]:
    return {
        "code": definition.code,
        "name": definition.name,
        "source": definition.source,
        "determines_ability_level": definition.determines_ability_level,
        "max_total": definition.max_total,
        "groups": [
            {
                "code": g.code,
                "name": g.name,
                "max_score": g.max_score,
                "items": [
                    {
                        "number": i.number,
                        "code": i.code,
                        "name": i.name,
                        "hint": i.hint,
                        "max_score": i.max_score,
                        "options": [{"score": o.score, "text": o.text} for o in i.options],
                    }
                    for i in g.items
                ],
            }
            for g in definition.groups
        ],
        "levels": [{"code": lv.code, "label": lv.label, "total": lv.total} for lv in definition.levels],
        "adjustments": [
            {"code": a.code, "label": a.label, "set_level": a.set_level, "worsen": a.worsen}
            for a in definition.adjustments
        ],
    }


@router.get("/instruments", response=list[InstrumentOut], summary="The assessment instruments")
def list_instruments(request):
    return [_instrument_out(d) for d in instruments.all_instruments().values()]


@router.get("/instruments/{code}", response=InstrumentOut, summary="One instrument with its option wording")
def get_instrument(request, code: str):
    if code not in instruments.all_instruments():
        raise NotFound(f"评估工具“{code}”不存在", field="code")
    return _instrument_out(instruments.get(code))


class AssessmentOut(Schema):
    id: int
    elder: int = Field(alias="elder_id")
    elder_name: str
    region: str
    kind: str
    reason: str
    instrument: str
    status: str
    organisation: int | None = Field(None, alias="organisation_id")
    answers: dict[str, int]
    coma: bool
    diagnoses: list[str]
    risk_events: dict[str, int]
    assessed_on: date | None
    place: str
    assessors: list[str]
    total: int | None
    group_scores: dict[str, Any]
    preliminary_level: str
    final_level: str
    level_label: str
    adjustments: list[dict[str, Any]]
    notes: str
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_note: str
    cancel_reason: str
    valid_from: date | None
    valid_until: date | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_elder_name(obj: Assessment) -> str:
        return obj.elder.name

    @staticmethod
    def resolve_region(obj: Assessment) -> str:
        return obj.elder.residence_region_id

    @staticmethod
    def resolve_assessors(obj: Assessment) -> list[str]:
        return [u.full_name or u.get_username() for u in obj.attested_by]


class AssessmentFilters(Schema):
    region: str = ""
    status: list[str] = []
    kind: list[str] = []
    level: list[str] = []
    elder: int | None = None
    q: str = ""
    open: bool = False
    sort: str = "-created"


@router.get("", response=list[AssessmentOut], summary="Assessments in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_assessments(request, filters: Query[AssessmentFilters]):
    """An assessor sees only their organisation's assignments; others by region."""
    return selectors.assessment_list(
        request.user,
        selectors.AssessmentFilter(
            region=filters.region,
            statuses=filters.status,
            kinds=filters.kind,
            levels=filters.level,
            elder_id=filters.elder,
            q=filters.q,
            open_only=filters.open,
            sort=filters.sort,
        ),
    ).select_related("assessor_1", "assessor_2")


class RequestIn(Schema):
    elder: int
    kind: str = Field(description="first, routine, immediate or dispute")
    reason: str = ""
    instrument: str = instruments.DEFAULT


@router.post("", response={201: AssessmentOut}, summary="Request an assessment")
def request_assessment(request, body: RequestIn):
    elder = registry_selectors.elder_get(request.user, body.elder)
    assessment = services.assessment_request(
        actor=request.user, elder=elder, kind=body.kind, reason=body.reason, instrument=body.instrument
    )
    return Status(201, selectors.assessment_get(request.user, assessment.pk))


@router.get("/statistics", summary="Elders by effective ability level for each child region")
def statistics(request, region: str = ""):
    from yanglao.accounts.scope import home_region

    region_obj, rows, overall = selectors.level_statistics(
        request.user, region or home_region(request.user).code
    )
    return {
        "region": region_obj.code,
        "region_name": region_obj.name,
        "rows": [
            {
                "region": r.code,
                "name": r.region.name if r.region else r.code,
                "elders": r.elders,
                "not_assessed": r.not_assessed,
                **r.counts,
            }
            for r in rows
        ],
        "total": {"elders": overall.elders, "not_assessed": overall.not_assessed, **overall.counts},
    }


@router.get("/{assessment_id}", response=AssessmentOut, summary="One assessment")
def get_assessment(request, assessment_id: int):
    return selectors.assessment_get(request.user, assessment_id)


class AssignIn(Schema):
    organisation: int


@router.post(
    "/{assessment_id}/assign", response=AssessmentOut, summary="Assign to an assessment organisation"
)
def assign(request, assessment_id: int, body: AssignIn):
    assessment = selectors.assessment_get(request.user, assessment_id)
    organisation = Organisation.objects.filter(pk=body.organisation).first()
    if organisation is None:
        raise InvalidInput(f"机构 {body.organisation} 不存在", field="organisation")
    services.assessment_assign(actor=request.user, assessment=assessment, organisation=organisation)
    return selectors.assessment_get(request.user, assessment_id)


class DraftIn(Schema):
    answers: dict[str, Any] | None = None
    coma: bool | None = None
    diagnoses: list[str] | None = None
    risk_events: dict[str, Any] | None = None
    assessed_on: date | None = None
    place: str | None = None
    notes: str | None = None


@router.patch("/{assessment_id}/draft", response=AssessmentOut, summary="Save the assessors' draft")
def save_draft(request, assessment_id: int, body: DraftIn):
    """Only the fields given change; answers merge item by item (null clears one)."""
    assessment = selectors.assessment_get(request.user, assessment_id)
    services.assessment_save_draft(actor=request.user, assessment=assessment, **body.dict(exclude_unset=True))
    return selectors.assessment_get(request.user, assessment_id)


@router.post("/{assessment_id}/attest", response=AssessmentOut, summary="Attest the answers as an assessor")
def attest(request, assessment_id: int):
    """The second distinct assessor's attestation submits the assessment for review."""
    assessment = selectors.assessment_get(request.user, assessment_id)
    services.assessment_attest(actor=request.user, assessment=assessment)
    return selectors.assessment_get(request.user, assessment_id)


class ReviewIn(Schema):
    approve: bool
    note: str = ""


@router.post(
    "/{assessment_id}/review", response=AssessmentOut, summary="Approve or return a submitted assessment"
)
def review(request, assessment_id: int, body: ReviewIn):
    assessment = selectors.assessment_get(request.user, assessment_id)
    services.assessment_review(
        actor=request.user, assessment=assessment, approve=body.approve, note=body.note
    )
    return selectors.assessment_get(request.user, assessment_id)


class CancelIn(Schema):
    reason: str


@router.post("/{assessment_id}/cancel", response=AssessmentOut, summary="Cancel an open request")
def cancel(request, assessment_id: int, body: CancelIn):
    assessment = selectors.assessment_get(request.user, assessment_id)
    services.assessment_cancel(actor=request.user, assessment=assessment, reason=body.reason)
    return selectors.assessment_get(request.user, assessment_id)
