"""The navigation bar's entries. Each app registers its own from AppConfig.ready(); the bar shows an
entry to a user who holds its permission, or any of its permissions when it names several (or to everyone
signed in when it names none)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    perm: str | tuple[str, ...] | None = None
    order: int = 100
    staff_only: bool = False


ITEMS: list[NavItem] = []


def register(item: NavItem) -> None:
    if all(existing.url_name != item.url_name for existing in ITEMS):
        ITEMS.append(item)
        ITEMS.sort(key=lambda i: i.order)


def allows(item: NavItem, user: object) -> bool:
    """Whether the user holds the entry's permission (any one of them)."""
    if not item.perm:
        return True
    perms = (item.perm,) if isinstance(item.perm, str) else item.perm
    return any(user.has_perm(perm) for perm in perms)  # type: ignore[attr-defined]
