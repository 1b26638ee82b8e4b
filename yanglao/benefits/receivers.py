"""The registry's announcements the benefits follow."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from yanglao.benefits import services
from yanglao.registry.signals import life_event_recorded


@receiver(life_event_recorded, dispatch_uid="benefits.follow_life_event")
def follow_life_event(sender: Any, event: Any, **kwargs: Any) -> None:
    services.entitlements_follow_life_event(event=event)
