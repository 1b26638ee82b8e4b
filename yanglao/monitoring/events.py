"""What monitoring announces, after commit, to whoever listens (the console pushes new alarms to the
operators' screens; notifications tell families and supervisors)."""

from __future__ import annotations

from django.dispatch import Signal

# alarm_ids: list[int] of alarms just raised.
alarms_raised = Signal()
# alarm_id: int, action: str ("acknowledge", "dispatch", "resolve", "escalate", "fold").
alarm_changed = Signal()
