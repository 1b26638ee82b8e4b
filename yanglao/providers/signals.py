"""What the providers app announces; higher apps (orders, meals, oversight) subscribe.

All are sent after the transaction commits (DESIGN.md rule 4), with keyword arguments:
- provider_status_changed(provider, before: str): suspended or terminated providers take no new orders;
  orders re-dispatch what such a provider still holds.
- provider_areas_changed(provider, added: list[str], removed: list[str])
- worker_status_changed(worker, before: str): a worker who is suspended or has left takes no visits.
"""

from django.dispatch import Signal

provider_status_changed = Signal()
provider_areas_changed = Signal()
worker_status_changed = Signal()
