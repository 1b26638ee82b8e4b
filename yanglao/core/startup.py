"""Lines that `yanglao serve` prints once the platform is up. Higher apps add theirs from their
AppConfig.ready (the demo logins come from accounts), so the kernel does not need to know them."""

from __future__ import annotations

from collections.abc import Callable

BANNERS: list[Callable[[], str]] = []


def add_banner(make_text: Callable[[], str]) -> None:
    if make_text not in BANNERS:
        BANNERS.append(make_text)
