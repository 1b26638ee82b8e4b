"""ID numbers (GB 11643): the 3-digit sequence number of every drawn elder, unique within a district,
birth date and sex and continuing after the elders already registered there, and the rare repair when
a number is already held (an imported elder), found through the keyed lookup hash. Apart because it
is what makes a run safe to repeat over a registry that already has people."""

from __future__ import annotations

import numpy as np
from django.db import connection

from yanglao.core import crypto, idcard
from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.registry.enums import Sex
from yanglao.registry.generator.places import Places, _unit_hash
from yanglao.registry.generator.population import Population
from yanglao.registry.models import Elder

# The sequence number of an ID (3 digits) is odd for men, even for women: 499 of each per district and
# birth date, k = 0..498 → 2k+1 (men) or 2k+2 (women), so 000 is never issued.
SEQUENCE_CAPACITY = 499
_EPOCH_SHIFT = 100_000  # keeps day numbers (days since 1970, negative for 1890-1969) positive in keys


# --- ID numbers ----------------------------------------------------------------------------------
def _group_keys(district: np.ndarray, birth_day: np.ndarray, male: np.ndarray) -> np.ndarray:
    return ((district.astype(np.int64) * 1_000_000 + birth_day + _EPOCH_SHIFT) * 2) + male


def _existing_counts(root: str, district_codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted group keys, counts) of elders already living under root, per district, birth date, sex."""
    low, high = codes.code_range(root)
    table = connection.ops.quote_name(Elder._meta.db_table)
    where = "residence_region_id >= %s" + (" AND residence_region_id < %s" if high else "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUBSTR(residence_region_id, 1, 6), birth_date, sex, COUNT(*) FROM {table} "  # noqa: S608 (quoted name)
            f"WHERE {where} GROUP BY 1, 2, 3",
            [low, high] if high else [low],
        )
        rows = cursor.fetchall()
    index = {code: i for i, code in enumerate(district_codes)}
    rows = [row for row in rows if row[0] in index]
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    keys = _group_keys(
        np.array([index[r[0]] for r in rows]),
        np.array([str(r[1]) for r in rows], dtype="datetime64[D]").astype(np.int64),
        np.array([r[2] == Sex.MALE for r in rows]),
    )
    order = np.argsort(keys)
    return keys[order], np.array([r[3] for r in rows], dtype=np.int64)[order]


def sequence_numbers(
    population: Population, places: Places, existing: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The 3-digit sequence number of every row, and its group key.

    Within one district, birth date and sex the numbers run on from a stable starting point (so they
    look scattered, as real ones do) after those already registered in that group: unique within
    the run by construction, and after earlier runs too."""
    keys = _group_keys(places.district[population.community], population.birth_day, population.male)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    boundary = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
    group_start = np.flatnonzero(boundary)
    group_size = np.diff(np.append(group_start, len(keys)))
    if len(group_size) and group_size.max() > SEQUENCE_CAPACITY:
        raise InvalidInput(
            f"同一区、同一出生日期、同一性别的老人超过{SEQUENCE_CAPACITY}人，身份证顺序码不够用；请减少生成数量",
            field="count",
        )
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - np.repeat(group_start, group_size)
    already = np.zeros(len(keys), dtype=np.int64)
    if existing is not None and len(existing[0]):
        known, counts = existing
        at = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
        already = np.where(known[at] == keys, counts[at], 0)
    start = (_unit_hash(keys, 3) * 200).astype(np.int64)
    k = (start + already + rank) % SEQUENCE_CAPACITY
    return np.where(population.male, 2 * k + 1, 2 * k + 2), keys


def _taken_hashes(digests: list[str]) -> set[str]:
    table = connection.ops.quote_name(Elder._meta.db_table)
    taken: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(digests), 900):
            chunk = digests[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT id_number_hash FROM {table} WHERE id_number_hash IN ({marks})", chunk)  # noqa: S608
            taken.update(row[0] for row in cursor.fetchall())
    return taken


class _Renumber:
    """Finds a free sequence number for an ID that is already registered (rare: an imported elder)."""

    def __init__(self) -> None:
        self.next_extra: dict[int, int] = {}

    def free_number(self, first17: str, key: int, male: bool, used: set[str]) -> tuple[str, str]:
        k0 = (int(first17[14:17]) - (1 if male else 2)) // 2
        while True:
            extra = self.next_extra.get(key, 1)
            if extra >= SEQUENCE_CAPACITY:
                raise InvalidInput(
                    f"出生日期 {first17[6:14]}、地址码 {first17[:6]} 的身份证顺序码已用尽", field="count"
                )
            self.next_extra[key] = extra + 1
            k = (k0 + extra) % SEQUENCE_CAPACITY
            candidate = first17[:14] + f"{2 * k + (1 if male else 2):03d}"
            number = candidate + idcard.check_character(candidate)
            digest = crypto.lookup_hash(number)
            if digest not in used and not _taken_hashes([digest]):
                return number, digest
