"""Nearest dispatchable providers, from memory (DOMAIN.md §5: dispatch to a provider that serves the
area, offers the item and has capacity, ranked by distance).

Dispatch asks "who is nearest" for every order, and a call-button alarm asks it while an elder waits;
asking the database each time (providers_serving, then a distance per row in Python) costs tens of
milliseconds and grows with the number of providers. The index reads the dispatchable providers once,
set-based, and answers in well under a millisecond:

- positions are points on the unit sphere in a cKDTree; the straight-line (chord) distance between two
  such points grows with the great-circle distance, so the k nearest by chord are the k nearest on the
  ground, and the distances reported are great-circle (haversine) metres;
- eligibility is boolean arithmetic on numpy masks: one mask per catalogue item, the provider rows of
  each service-area code (a provider serves a community when one of its areas' codes is a prefix of
  the community's code, as in providers.selectors.providers_serving), and load < capacity;
- few eligible providers are measured directly (vectorised); many are found by asking the tree for a
  growing number of nearest points until enough of them are eligible.

The process-wide index (`shared_index`) is rebuilt lazily: when a provider, an offer, a service area,
an organisation or a catalogue item changes in this process (the signals of `connect_signals`), when
it is older than the policy value orders.index_refresh_seconds (changes made by other processes), and
on a new day (load counts today's orders). Between rebuilds dispatch keeps the load current with
`add_load`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from scipy.spatial import cKDTree

from yanglao.core import policy
from yanglao.regions import codes

EARTH_RADIUS_M = 6_371_008.8  # the IUGG mean radius

FRESHNESS = policy.define(
    "orders.index_refresh_seconds", 60, "派单空间索引刷新间隔（秒）", minimum=5, maximum=3600, unit="秒"
)

# Up to this many eligible providers, measuring each directly is cheap and immune to how they are spread
# (a vectorised haversine and pick over 2,000 points takes about 0.06 ms); above it they are a large
# enough share of all that the tree finds k of them among the first few dozen nearest points.
DIRECT_LIMIT = 2048

# Tree answers within this chord of the k-th eligible one are measured again by haversine, so rounding
# in the chord can neither drop a provider at the same distance nor break a tie against its id.
# 1e-10 of the Earth's radius is 0.6 mm.
_CHORD_SLACK = 1e-10


@dataclass(frozen=True)
class Candidate:
    """A provider dispatch may offer the order to, as the index saw it."""

    provider_id: int
    distance_m: float
    rating: float | None
    load: int  # orders held today (enums.HELD_STATUSES with window_start on the local date)
    capacity: int  # daily_capacity


def unit_vectors(latitude: Any, longitude: Any) -> np.ndarray:
    """Points on the unit sphere (n × 3) for positions in degrees."""
    lat = np.radians(np.asarray(latitude, dtype=np.float64))
    lon = np.radians(np.asarray(longitude, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two positions in degrees (haversine formula)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def community_prefixes(region_code: str) -> list[str]:
    """The codes whose service areas cover `region_code`: itself and every ancestor (the prefix rule of
    providers.selectors.providers_serving)."""
    code = codes.normalize(region_code, field="region")
    return [code[:n] for n in codes.NATURAL_LENGTHS if n <= len(code)]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as aware datetimes: a range on window_start uses its index,
    where a __date lookup would convert every row."""
    start = timezone.make_aware(datetime.combine(day, clock.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), clock.min))


class ProviderIndex:
    """The dispatchable providers of one moment: active, of an active organisation, with a position.

    Rows are ordered by provider id, so "nearest first, ties by provider id" is a sort on (distance, row).
    """

    def __init__(
        self,
        *,
        ids: np.ndarray,
        latitude: np.ndarray,
        longitude: np.ndarray,
        rating: np.ndarray,
        capacity: np.ndarray,
        load: np.ndarray,
        item_rows: dict[int, np.ndarray],
        area_rows: dict[str, np.ndarray],
        day: date,
    ) -> None:
        self._ids = ids
        self._row_of = {int(pid): row for row, pid in enumerate(ids.tolist())}
        self._lat_rad = np.radians(latitude)
        self._lon_rad = np.radians(longitude)
        self._cos_lat = np.cos(self._lat_rad)
        self._rating = rating  # NaN where the provider has no rating yet
        self._capacity = capacity
        self._load = load
        size = len(ids)
        self._item_masks: dict[int, np.ndarray] = {}
        for item_id, rows in item_rows.items():
            mask = np.zeros(size, dtype=bool)
            mask[rows] = True
            self._item_masks[item_id] = mask
        self._area_rows = area_rows
        self._tree = cKDTree(unit_vectors(latitude, longitude)) if size else None
        self._load_lock = threading.Lock()
        self.day = day
        # Set by shared_index: the invalidation generation it was built in, and when it goes stale.
        self.generation = -1
        self.expires_at = math.inf

    def __len__(self) -> int:
        return len(self._ids)

    # --- building ------------------------------------------------------------------------------------
    @classmethod
    def build(cls, *, today: date | None = None) -> ProviderIndex:
        """Read the dispatchable providers, their active offers of active catalogue items, their service
        areas and today's load: four queries, whatever the number of providers (DESIGN.md rule 7)."""
        from yanglao.orders.enums import HELD_STATUSES
        from yanglao.orders.models import Order
        from yanglao.providers.enums import ProviderStatus
        from yanglao.providers.models import Provider, ProviderOffer

        day = today or timezone.localdate()
        dispatchable = {
            "status": ProviderStatus.ACTIVE,
            "organisation__is_active": True,
            "latitude__isnull": False,
            "longitude__isnull": False,
        }
        rows = list(
            Provider.objects.filter(**dispatchable)
            .order_by("pk")
            .values_list("pk", "latitude", "longitude", "rating", "daily_capacity")
        )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        latitude = np.array([r[1] for r in rows], dtype=np.float64)
        longitude = np.array([r[2] for r in rows], dtype=np.float64)
        rating = np.array([math.nan if r[3] is None else float(r[3]) for r in rows], dtype=np.float64)
        capacity = np.array([r[4] for r in rows], dtype=np.int64)
        related = {f"provider__{name}": value for name, value in dispatchable.items()}
        offers = ProviderOffer.objects.filter(is_active=True, item__is_active=True, **related).values_list(
            "provider_id", "item_id"
        )
        areas = Provider.service_areas.through.objects.filter(**related).values_list(
            "provider_id", "region_id"
        )
        start, end = day_bounds(day)
        held = (
            Order.objects.filter(
                provider_id__in=Provider.objects.filter(**dispatchable).values("pk"),
                status__in=HELD_STATUSES,
                window_start__gte=start,
                window_start__lt=end,
            )
            .values("provider_id")
            .annotate(n=Count("pk"))
            .values_list("provider_id", "n")
        )
        return cls(
            ids=ids,
            latitude=latitude,
            longitude=longitude,
            rating=rating,
            capacity=capacity,
            load=_counts_by_row(ids, list(held)),
            item_rows=_rows_by_key(ids, list(offers)),
            area_rows=_rows_by_key(ids, list(areas)),
            day=day,
        )

    # --- asking --------------------------------------------------------------------------------------
    def nearest(
        self,
        *,
        latitude: float,
        longitude: float,
        item_id: int,
        region_code: str,
        k: int = 1,
        exclude: Collection[int] = (),
        with_capacity: bool = True,
    ) -> list[Candidate]:
        """The k nearest providers that offer the item, serve the community (an area's code is a prefix
        of region_code) and, unless with_capacity is False, hold fewer orders today than their daily
        capacity; nearest first, ties by provider id. Fewer than k when fewer are eligible."""
        if k < 1 or not len(self):
            return []
        eligible = self._eligible(item_id=item_id, region_code=region_code, exclude=exclude)
        if with_capacity:
            eligible &= self._load < self._capacity
        rows = np.flatnonzero(eligible)
        if rows.size == 0:
            return []
        if rows.size <= DIRECT_LIMIT:
            chosen, distances = self._nearest_direct(rows, latitude, longitude, k)
        else:
            chosen, distances = self._nearest_by_tree(eligible, rows.size, latitude, longitude, k)
        return [self._candidate(row, metres) for row, metres in zip(chosen, distances, strict=True)]

    def _eligible(self, *, item_id: int, region_code: str, exclude: Collection[int] = ()) -> np.ndarray:
        """A fresh bool mask over the rows: offers the item, serves the community, not excluded (capacity
        is left to the caller)."""
        offers = self._item_masks.get(item_id)
        if offers is None:
            return np.zeros(len(self), dtype=bool)
        serves = np.zeros(len(self), dtype=bool)
        for prefix in community_prefixes(region_code):
            rows = self._area_rows.get(prefix)
            if rows is not None:
                serves[rows] = True
        serves &= offers
        for provider_id in exclude:
            row = self._row_of.get(int(provider_id))
            if row is not None:
                serves[row] = False
        return serves

    def _distances_m(self, rows: np.ndarray, latitude: float, longitude: float) -> np.ndarray:
        """Haversine metres from the point to each row (vectorised)."""
        phi, lam = math.radians(latitude), math.radians(longitude)
        a = (
            np.sin((self._lat_rad[rows] - phi) / 2) ** 2
            + math.cos(phi) * self._cos_lat[rows] * np.sin((self._lon_rad[rows] - lam) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))

    def _closest(self, rows: np.ndarray, distances: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        """The k smallest distances, ties by row (= by provider id, rows being in id order)."""
        if rows.size > k:
            # Keep everything as near as the k-th, so ties at the cut are decided by id, not by chance.
            kth = np.partition(distances, k - 1)[k - 1]
            keep = distances <= kth
            rows, distances = rows[keep], distances[keep]
        order = np.lexsort((rows, distances))[:k]
        return rows[order].tolist(), distances[order].tolist()

    def _nearest_direct(
        self, rows: np.ndarray, latitude: float, longitude: float, k: int
    ) -> tuple[list[int], list[float]]:
        return self._closest(rows, self._distances_m(rows, latitude, longitude), k)

    def _nearest_by_tree(
        self, eligible: np.ndarray, count: int, latitude: float, longitude: float, k: int
    ) -> tuple[list[int], list[float]]:
        """Ask the tree for the nearest points, more each round, until k eligible ones are found and
        the last point returned is farther than the k-th of them (nothing unseen can tie or beat it)."""
        assert self._tree is not None  # an empty index answers before getting here
        size = len(self)
        point = unit_vectors([latitude], [longitude])[0]
        # Eligible providers are a share count/size of all: expect about k·size/count points to hold k.
        wanted = min(size, 2 * k * size // count + 8)
        while True:
            chords, rows = self._tree.query(point, k=wanted)
            chords, rows = np.atleast_1d(chords), np.atleast_1d(rows)
            keep = eligible[rows]
            found, found_chords = rows[keep], chords[keep]
            complete = wanted >= size
            if found.size >= k and (complete or chords[-1] > found_chords[k - 1] + _CHORD_SLACK):
                found = found[found_chords <= found_chords[k - 1] + _CHORD_SLACK]
                break
            if complete:
                break
            wanted = min(size, wanted * 4)
        return self._closest(found, self._distances_m(found, latitude, longitude), k)

    def _candidate(self, row: int, metres: float) -> Candidate:
        rating = float(self._rating[row])
        return Candidate(
            provider_id=int(self._ids[row]),
            distance_m=float(metres),
            rating=None if math.isnan(rating) else rating,
            load=int(self._load[row]),
            capacity=int(self._capacity[row]),
        )

    # --- keeping current -----------------------------------------------------------------------------
    def add_load(self, provider_id: int, delta: int) -> None:
        """Count an order dispatched to (+1) or taken back from (−1) a provider until the next rebuild
        counts it from the database; never below zero (a rebuild may already have dropped it)."""
        row = self._row_of.get(int(provider_id))
        if row is None:
            return  # not dispatchable now: nothing to keep
        with self._load_lock:
            self._load[row] = max(0, int(self._load[row]) + delta)

    def load_of(self, provider_id: int) -> int | None:
        row = self._row_of.get(int(provider_id))
        return None if row is None else int(self._load[row])


def _rows_by_key(ids: np.ndarray, pairs: list[tuple[int, Any]]) -> dict[Any, np.ndarray]:
    """Group (provider id, key) pairs into key → provider rows, dropping providers not in `ids` (an
    offer or area of a provider that changed between the queries of a build)."""
    if not pairs or not len(ids):
        return {}
    provider_ids = np.fromiter((p for p, _ in pairs), dtype=np.int64, count=len(pairs))
    rows = np.minimum(np.searchsorted(ids, provider_ids), len(ids) - 1)
    known = ids[rows] == provider_ids
    keys = [key for (_, key), ok in zip(pairs, known.tolist(), strict=True) if ok]
    if not keys:
        return {}
    distinct, inverse = np.unique(np.array(keys), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(distinct)))[:-1]
    return dict(zip(distinct.tolist(), np.split(rows[known][order], bounds), strict=True))


def _counts_by_row(ids: np.ndarray, counts: list[tuple[int, int]]) -> np.ndarray:
    """Today's held orders per row (zero for a provider holding none)."""
    load = np.zeros(len(ids), dtype=np.int64)
    for provider_id, n in counts:
        row = int(np.searchsorted(ids, provider_id))
        if row < len(ids) and ids[row] == provider_id:
            load[row] = n
    return load


# --- the process-wide index ----------------------------------------------------------------------------
_build_lock = threading.Lock()
_shared: ProviderIndex | None = None
# Bumped by every invalidation. An index remembers the generation it started building in, so a change
# committed while it was being read makes it stale at once instead of hiding until the next refresh.
_generation = 0


def _is_current(index: ProviderIndex | None) -> bool:
    return (
        index is not None
        and index.generation == _generation
        and time.monotonic() < index.expires_at
        and index.day == timezone.localdate()
    )


def shared_index() -> ProviderIndex:
    """The process-wide index, rebuilt when invalidated, older than orders.index_refresh_seconds (other
    processes' changes send no signal here) or built on another day."""
    global _shared
    index = _shared
    if _is_current(index):
        assert index is not None  # _is_current checked it
        return index
    with _build_lock:
        index = _shared
        if _is_current(index):  # another thread rebuilt it while this one waited
            assert index is not None
            return index
        generation = _generation
        index = ProviderIndex.build()
        index.generation = generation
        index.expires_at = time.monotonic() + float(policy.value(FRESHNESS))
        _shared = index
        return index


def note_load(provider_id: int, delta: int) -> None:
    """Keep the current shared index's load in step with a committed dispatch, without rebuilding: a
    stale index is about to be rebuilt from the database, which already counts the order."""
    index = _shared
    if _is_current(index):
        assert index is not None
        index.add_load(provider_id, delta)


def note_load_on_commit(provider_id: int | None, delta: int) -> None:
    """A dispatch (+1) or its end (-1), counted in the shared index once the transaction commits."""
    if provider_id is not None:
        transaction.on_commit(lambda: note_load(provider_id, delta))


def invalidate() -> None:
    """Make the next shared_index() read the database again."""
    global _generation
    _generation += 1


def _changed(sender: Any, **kwargs: Any) -> None:
    # Now, so this thread's next query inside the same transaction sees its own change; and again after
    # commit, because another thread may rebuild in between and read the rows as they were before it.
    invalidate()
    transaction.on_commit(invalidate, using=kwargs.get("using"))


def _areas_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _changed(sender, **kwargs)


def connect_signals() -> None:
    """Invalidate the shared index when anything it reads changes in this process."""
    from yanglao.accounts.models import Organisation
    from yanglao.providers.models import CatalogueItem, Provider, ProviderOffer

    for owned in (Provider, ProviderOffer):
        post_save.connect(_changed, sender=owned, dispatch_uid=f"orders.geo.save.{owned.__name__}")
        post_delete.connect(_changed, sender=owned, dispatch_uid=f"orders.geo.delete.{owned.__name__}")
    # An organisation disabled, or a catalogue item withdrawn, takes its providers or offers out.
    for switch in (Organisation, CatalogueItem):
        post_save.connect(_changed, sender=switch, dispatch_uid=f"orders.geo.save.{switch.__name__}")
    m2m_changed.connect(
        _areas_changed, sender=Provider.service_areas.through, dispatch_uid="orders.geo.service_areas"
    )
