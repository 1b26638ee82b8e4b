"""What the facilities app announces; higher apps (orders, meals, the map, statistics) subscribe.

Sent after the transaction commits (DESIGN.md rule 4), with keyword arguments:
- facility_changed(facility, action: "create" | "update" | "status", changed: list[str])
"""

from django.dispatch import Signal

facility_changed = Signal()
