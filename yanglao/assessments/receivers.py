"""The registry's announcements the assessment workflow follows."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from yanglao.assessments import services
from yanglao.registry.signals import life_event_recorded


@receiver(life_event_recorded, dispatch_uid="assessments.follow_life_event")
def follow_life_event(sender: Any, event: Any, **kwargs: Any) -> None:
    services.assessments_follow_life_event(event=event)
