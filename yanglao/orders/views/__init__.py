"""Screens of the orders app, one module per audience:

- orders.py: staff — the list, the new-order form, the order page with its actions, the dispatch board,
  the provider's work queue, and the 服务工单 tab on the elder's page;
- worker.py: the care worker's phone pages (today's visits, check-in and out, photos, the code);
- family.py: the family's confirm-and-rate page, reached by a signed link without signing in.

Each view parses input, calls one selector or service, and renders; a service's errors are shown beside
the fields in Chinese, and refusals (403/404) become their own pages (core.middleware). The helpers here
are shared by the modules; this package imports none of them, so a module added later (settlement) may
import the helpers without a cycle."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils.http import url_has_allowed_host_and_scheme

from yanglao.core.errors import DomainError, NotFound, PermissionDenied
from yanglao.core.permissions import Perm

# Who an event's actor was when no person did it (services pass these names).
SYSTEM_ACTORS = {"family": "家属", "scheduler": "系统", "system": "系统", "tests": "系统"}


def next_url(request: Any) -> str:
    """Where a side form (on the board or the queue) asked to go back to, if it is one of our pages."""
    target = (request.POST.get("next") or "").strip()
    if target.startswith("/orders/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return ""


def reraise_refusal(error: DomainError) -> None:
    """A refusal (403/404) is a page of its own; anything else is shown beside its field."""
    if isinstance(error, PermissionDenied | NotFound):
        raise error


def is_care_worker_only(user: Any) -> bool:
    """A care worker (or any role) that performs visits and does not handle orders in an office."""
    return user.has_perm(Perm.VISITS_PERFORM) and not any(
        user.has_perm(p) for p in (Perm.ORDERS_CREATE, Perm.ORDERS_DISPATCH, Perm.ORDERS_ACCEPT)
    )


def visit_of(order: Any) -> Any:
    """The order's visit, or None before check-in."""
    try:
        return order.visit
    except ObjectDoesNotExist:
        return None


def actor_label(event: Any) -> str:
    name = event.actor_name or ""
    return SYSTEM_ACTORS.get(name, name) if event.actor_id is None else name


def task_list(item: Any) -> list[str]:
    """The tasks of a catalogue item for the check-out checklist: the lines of its 服务内容, or its
    clauses when it is one sentence; the item's own name when it has no description."""
    text = (item.description or "").strip()
    lines = [line.strip(" -•·\t") for line in text.splitlines() if line.strip(" -•·\t")]
    if len(lines) <= 1:
        sentence = lines[0] if lines else ""
        for mark in "；;。":
            sentence = sentence.replace(mark, "，")
        lines = [part.strip() for part in sentence.split("，") if part.strip()]
    tasks = [line[:50] for line in lines][:12]
    return tasks or [item.name]
