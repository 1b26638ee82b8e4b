"""Steps that `yanglao demo` runs after migrating and loading the demonstration city. Apps add theirs
from their AppConfig.ready (accounts: the demo users; registry: the synthetic population), so the kernel
does not need to know them. Every step must be idempotent: `yanglao demo` may run again and again.

A step is called with keyword arguments: `elders` (the population wanted), `root` (the demo city's
division code) and `stdout` (where to say what it did); it ignores those it does not need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    run: Callable[..., Any]


STEPS: dict[str, Step] = {}


def add_step(name: str, order: int, run: Callable[..., Any]) -> None:
    """Register (or replace, so a reloaded app does not add it twice) the step called `name`."""
    STEPS[name] = Step(name=name, order=order, run=run)


def steps() -> list[Step]:
    return sorted(STEPS.values(), key=lambda step: (step.order, step.name))
