"""What the registry announces; higher apps (benefits, orders, outreach, monitoring) subscribe.

All are sent after the transaction commits (DESIGN.md rule 4), with keyword arguments:
- elder_registered(elder)
- elder_changed(elder, changed: list[str])
- elders_imported(created: list[int], updated: list[int]): one per imported batch (ids of elders), instead
  of one elder_registered / elder_changed per row
- life_event_recorded(event): a death, hospital stay, move…; `event.reverses` is set on a correction,
  and receivers undo what they stopped for the reversed event.
"""

from django.dispatch import Signal

elder_registered = Signal()
elder_changed = Signal()
elders_imported = Signal()
life_event_recorded = Signal()
