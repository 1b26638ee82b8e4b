"""Writes of the providers app: the service catalogue, providers with their offers and contracts, and
care workers. Each service checks the actor's permission and scope, runs in one transaction with its
audit row, and announces what happened after commit (providers/signals.py).

Who may write (core.permissions; accounts/roles.py has no separate permission for a provider's own
staff, so that rule is kept here, in workers.py):
- the catalogue: PROVIDERS_MANAGE held by a city-level user (the city publishes one catalogue);
- providers, offers, contracts: PROVIDERS_MANAGE, inside the actor's region;
- care workers: PROVIDERS_MANAGE inside the actor's region, or a provider admin acting on their own
  organisation's workers.
A system actor (a named job such as the demo, or the orders app recording a rating) is trusted.

Split by concept (catalogue, providers, workers); callers import this package and use the names below.
"""

from yanglao.providers.services._common import MAX_BUDGET, MAX_CAPACITY, MAX_PRICE, MIN_WORKING_AGE
from yanglao.providers.services.catalogue import ITEM_FIELDS, catalogue_item_create, catalogue_item_update
from yanglao.providers.services.providers import (
    PROFILE_FIELDS,
    PROVIDER_FIELDS,
    contract_create,
    contract_update,
    offer_set,
    offer_withdraw,
    provider_attach,
    provider_record_rating,
    provider_register,
    provider_reveal_contact_phone,
    provider_set_service_areas,
    provider_set_status,
    provider_update,
)
from yanglao.providers.services.workers import (
    WORKER_FIELDS,
    worker_add_certificate,
    worker_add_training,
    worker_register,
    worker_reveal_personal_numbers,
    worker_set_status,
    worker_update,
    workers_personal_numbers_viewed,
)

__all__ = [
    "ITEM_FIELDS",
    "MAX_BUDGET",
    "MAX_CAPACITY",
    "MAX_PRICE",
    "MIN_WORKING_AGE",
    "PROFILE_FIELDS",
    "PROVIDER_FIELDS",
    "WORKER_FIELDS",
    "catalogue_item_create",
    "catalogue_item_update",
    "contract_create",
    "contract_update",
    "offer_set",
    "offer_withdraw",
    "provider_attach",
    "provider_record_rating",
    "provider_register",
    "provider_reveal_contact_phone",
    "provider_set_service_areas",
    "provider_set_status",
    "provider_update",
    "worker_add_certificate",
    "worker_add_training",
    "worker_register",
    "worker_reveal_personal_numbers",
    "worker_set_status",
    "worker_update",
    "workers_personal_numbers_viewed",
]
