"""The orders API: orders with filters, their whole history, every step of the state machine, the
dispatch board, a provider's queue, a care worker's day, visits (check-in/out, photos, confirmation,
rating, follow-up).

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime
from decimal import Decimal

from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.core.errors import NotFound
from yanglao.orders import selectors, services
from yanglao.orders.enums import OrderStatus
from yanglao.orders.models import Order
from yanglao.providers.models import CareWorker, CatalogueItem
from yanglao.providers.selectors import catalogue_item_get, provider_get, worker_get
from yanglao.registry import selectors as registry_selectors

router = Router(tags=["orders"])


class OrderOut(Schema):
    id: int
    status: str
    status_label: str
    elder_id: int
    elder_name: str
    region: str
    item: str
    item_name: str
    channel: str
    window_start: datetime
    window_end: datetime
    note: str
    provider_id: int | None
    provider_name: str
    worker_id: int | None
    worker_name: str
    price: Decimal | None
    created_at: datetime

    @staticmethod
    def resolve_status_label(order: Order) -> str:
        return str(OrderStatus(order.status).label)

    @staticmethod
    def resolve_elder_name(order: Order) -> str:
        return order.elder.name

    @staticmethod
    def resolve_region(order: Order) -> str:
        return order.region_id

    @staticmethod
    def resolve_item(order: Order) -> str:
        return order.item.code

    @staticmethod
    def resolve_item_name(order: Order) -> str:
        return order.item.name

    @staticmethod
    def resolve_provider_name(order: Order) -> str:
        return order.provider.name if order.provider_id else ""

    @staticmethod
    def resolve_worker_name(order: Order) -> str:
        return order.worker.name if order.worker_id else ""


class CreatedOut(OrderOut):
    # Read to the elder when the order is taken; they read it back to the worker at the end of the visit.
    confirm_code: str


class EventOut(Schema):
    at: datetime
    action: str
    label: str
    from_status: str
    to_status: str
    actor: str
    note: str
    data: dict

    @staticmethod
    def resolve_label(event) -> str:
        step = services.STEPS.get(event.action)
        return str(step.label) if step else event.action

    @staticmethod
    def resolve_actor(event) -> str:
        return event.actor_name


class OfferOut(Schema):
    provider_id: int
    provider_name: str
    automatic: bool
    distance_m: float | None
    score: float | None
    offered_at: datetime
    deadline: datetime
    outcome: str
    reason: str

    @staticmethod
    def resolve_provider_name(offer) -> str:
        return offer.provider.name


class VisitOut(Schema):
    worker_id: int
    check_in_at: datetime
    check_in_distance_m: float | None
    check_out_at: datetime | None
    check_out_distance_m: float | None
    items_done: list[str]
    record: str
    confirmed_at: datetime | None
    confirm_method: str
    rating: int | None
    rating_comment: str
    amount: Decimal
    account_paid: Decimal
    self_paid: Decimal
    photos: int
    flags: list[dict]

    @staticmethod
    def resolve_photos(visit) -> int:
        return visit.photos.count()

    @staticmethod
    def resolve_flags(visit) -> list[dict]:
        return [
            {"kind": f.kind, "status": f.status, "summary": f.summary}
            for f in visit.flags.order_by("detected_at", "id")
        ]


class OrderDetailOut(OrderOut):
    events: list[EventOut]
    offers: list[OfferOut]
    visit: VisitOut | None

    @staticmethod
    def resolve_events(order: Order) -> list:
        return selectors.order_history(order)

    @staticmethod
    def resolve_offers(order: Order) -> list:
        return selectors.order_offers(order)

    @staticmethod
    def resolve_visit(order: Order):
        return getattr(order, "visit", None)


@router.get("/orders", response=list[OrderOut], summary="Orders in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_orders(
    request,
    status: list[str] = Query([]),  # noqa: B008 (ninja reads the default at import)
    item: str = "",
    channel: str = "",
    region: str = "",
    provider: int | None = None,
    elder: int | None = None,
    q: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    open_only: bool = False,
    sort: str = "-created",
):
    filters = selectors.OrderFilter(
        status=status,
        item=item,
        channel=channel,
        region=region,
        provider=provider,
        elder=elder,
        q=q,
        day_from=day_from,
        day_to=day_to,
        open_only=open_only,
        sort=sort,
    )
    return selectors.order_list(request.user, filters)


class OrderIn(Schema):
    elder_id: int
    item: str
    channel: str = "phone"
    window_start: datetime
    window_end: datetime
    note: str = ""
    dispatch: bool = True


def _item(code: str) -> CatalogueItem:
    return catalogue_item_get(code, field="item")


@router.post("/orders", response={201: CreatedOut}, summary="Take an order (dispatched automatically)")
def create_order(request, body: OrderIn):
    elder = registry_selectors.elder_get(request.user, body.elder_id)
    order = services.order_create(
        actor=request.user,
        elder=elder,
        item=_item(body.item),
        channel=body.channel,
        window_start=body.window_start,
        window_end=body.window_end,
        note=body.note,
        dispatch=body.dispatch,
    )
    return Status(201, _after(request, order))


@router.get("/orders/board", response=dict, summary="The dispatch board: unplaced, waiting, unassigned")
def board(request, region: str = ""):
    found = selectors.dispatch_board(request.user, region=region)
    return {
        "counts": found.counts,
        "unplaced": [order.pk for order in found.unplaced],
        "waiting": [
            {"order": o.pk, "provider": f.provider_id, "deadline": f.deadline} for o, f in found.waiting
        ],
        "unassigned": [order.pk for order in found.unassigned],
    }


@router.get("/orders/queue", response=dict, summary="A provider's queue: to accept, to assign, in hand")
def queue(request):
    found = selectors.provider_queue(request.user)
    return {
        "to_accept": [{"order": o.pk, "deadline": f.deadline} for o, f in found.to_accept],
        "to_assign": [order.pk for order in found.to_assign],
        "in_hand": [order.pk for order in found.in_hand],
    }


@router.get("/visits/today", response=dict, summary="A care worker's visits today and orders to take")
def worker_day(request, day: date | None = None):
    found = selectors.worker_day(request.user, day=day)
    return {
        "visits": [OrderOut.from_orm(order).dict() for order in found.visits],
        "takeable": [OrderOut.from_orm(order).dict() for order in found.takeable],
        "done_today": found.done_today,
    }


@router.get("/orders/{order_id}", response=OrderDetailOut, summary="One order with its whole history")
def get_order(request, order_id: int):
    return selectors.order_get(request.user, order_id)


def _after(request, order: Order):
    """The order as the caller now sees it (a provider that re-dispatched away no longer does)."""
    try:
        return selectors.order_get(request.user, order.pk)
    except NotFound:
        return order


class DispatchIn(Schema):
    provider_id: int | None = None
    note: str = ""


@router.post(
    "/orders/{order_id}/dispatch", response=OrderDetailOut, summary="Dispatch automatically or to a provider"
)
def dispatch(request, order_id: int, body: DispatchIn):
    order = selectors.order_get(request.user, order_id)
    if body.provider_id:
        provider = provider_get(request.user, body.provider_id)
        done = services.order_dispatch_manual(
            actor=request.user, order=order, provider=provider, note=body.note
        )
    else:
        done = services.order_dispatch_auto(actor=request.user, order=order)
    return _after(request, done)


class RedispatchIn(Schema):
    reason: str
    provider_id: int | None = None


@router.post(
    "/orders/{order_id}/redispatch", response=OrderDetailOut, summary="改派: take back and dispatch again"
)
def redispatch(request, order_id: int, body: RedispatchIn):
    order = selectors.order_get(request.user, order_id)
    provider = provider_get(request.user, body.provider_id) if body.provider_id else None
    return _after(
        request,
        services.order_redispatch(actor=request.user, order=order, reason=body.reason, provider=provider),
    )


class ReasonIn(Schema):
    reason: str


@router.post("/orders/{order_id}/accept", response=OrderDetailOut, summary="The provider accepts")
def accept(request, order_id: int):
    order = selectors.order_get(request.user, order_id)
    return _after(request, services.order_accept(actor=request.user, order=order))


@router.post(
    "/orders/{order_id}/reject", response=OrderOut, summary="The provider refuses (goes to the next)"
)
def reject(request, order_id: int, body: ReasonIn):
    order = selectors.order_get(request.user, order_id)
    return services.order_reject(actor=request.user, order=order, reason=body.reason)


@router.post("/orders/{order_id}/cancel", response=OrderDetailOut, summary="Cancel before check-in")
def cancel(request, order_id: int, body: ReasonIn):
    order = selectors.order_get(request.user, order_id)
    return _after(request, services.order_cancel(actor=request.user, order=order, reason=body.reason))


class AssignIn(Schema):
    worker_id: int


@router.post(
    "/orders/{order_id}/assign", response=OrderDetailOut, summary="The provider assigns a care worker"
)
def assign(request, order_id: int, body: AssignIn):
    order = selectors.order_get(request.user, order_id)
    worker: CareWorker = worker_get(request.user, body.worker_id)
    return _after(request, services.order_assign(actor=request.user, order=order, worker=worker))


@router.post(
    "/orders/{order_id}/take", response=OrderDetailOut, summary="A care worker takes the order (抢单)"
)
def take(request, order_id: int):
    order = selectors.order_get(request.user, order_id)
    return _after(request, services.order_take(actor=request.user, order=order))


class PositionIn(Schema):
    latitude: float
    longitude: float
    accuracy: float | None = None


@router.post("/orders/{order_id}/check-in", response=OrderDetailOut, summary="Check in at the home")
def check_in(request, order_id: int, body: PositionIn):
    order = selectors.order_get(request.user, order_id)
    services.visit_check_in(
        actor=request.user,
        order=order,
        latitude=body.latitude,
        longitude=body.longitude,
        accuracy=body.accuracy,
    )
    return _after(request, order)


class CheckOutIn(Schema):
    latitude: float
    longitude: float
    items_done: list[str] = []
    record: str = ""


@router.post(
    "/orders/{order_id}/check-out", response=OrderDetailOut, summary="Check out with the service record"
)
def check_out(request, order_id: int, body: CheckOutIn):
    order = selectors.order_get(request.user, order_id)
    services.visit_check_out(
        actor=request.user,
        order=order,
        latitude=body.latitude,
        longitude=body.longitude,
        items_done=body.items_done,
        record=body.record,
    )
    return _after(request, order)


@router.post("/orders/{order_id}/photos", response={201: dict}, summary="Upload a photo of the service")
def photo(request, order_id: int, photo: File[UploadedFile]):
    order = selectors.order_get(request.user, order_id)
    saved = services.visit_add_photo(actor=request.user, order=order, upload=photo)
    return Status(201, {"id": saved.pk, "phash": saved.phash})


class ConfirmIn(Schema):
    code: str = ""  # the elder reads it out to the care worker
    note: str = ""  # an operator's note of a confirmation by phone


@router.post(
    "/orders/{order_id}/confirm", response=OrderDetailOut, summary="Confirm the visit (code or by phone)"
)
def confirm(request, order_id: int, body: ConfirmIn):
    order = selectors.order_get(request.user, order_id)
    if body.code:
        services.visit_confirm_with_code(actor=request.user, order=order, code=body.code)
    else:
        services.visit_confirm_by_operator(actor=request.user, order=order, note=body.note)
    return _after(request, order)


class RateIn(Schema):
    score: int
    comment: str = ""


@router.post("/orders/{order_id}/rate", response=OrderDetailOut, summary="Record the elder's rating (1–5)")
def rate(request, order_id: int, body: RateIn):
    order = selectors.order_get(request.user, order_id)
    services.visit_rate(actor=request.user, order=order, score=body.score, comment=body.comment)
    return _after(request, order)


class FollowUpIn(Schema):
    outcome: str
    note: str = ""


@router.post(
    "/orders/{order_id}/follow-up", response=OrderDetailOut, summary="Record the follow-up call (回访)"
)
def follow_up(request, order_id: int, body: FollowUpIn):
    order = selectors.order_get(request.user, order_id)
    services.follow_up_record(actor=request.user, order=order, outcome=body.outcome, note=body.note)
    return _after(request, order)
