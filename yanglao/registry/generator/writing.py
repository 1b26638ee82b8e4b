"""Writing rows: the Elder and Household columns the generator fills (checked against the model, so a
new column fails loudly), household keys reserved ahead, raw batched inserts (executemany on SQLite,
COPY on PostgreSQL) and SQLite's page cache for the run. The only database-vendor-specific code of
the generator, kept in one place."""

from __future__ import annotations

from django.db import connection

from yanglao.registry.models import Elder, Household

_ELDER_COLUMNS = (
    "created_at",
    "updated_at",
    "name",
    "id_number",
    "id_number_hash",
    "birth_date",
    "sex",
    "phone",
    "phone_hash",
    "residence_region_id",
    "hukou_region_id",
    "address",
    "latitude",
    "longitude",
    "household_id",
    "living_arrangement",
    "economic_status",
    "marital_status",
    "children_count",
    "special_family",
    "disability_category",
    "disability_grade",
    "dementia",
    "family_doctor",
    "status",
    "status_since",
    "death_date",
    "registered_by_id",
)
_HOUSEHOLD_COLUMNS = ("id", "created_at", "updated_at", "region_id", "address", "note")
HOUSEHOLD_NOTE = "演示数据"  # marks synthetic households, so nobody mistakes them for registered ones


# --- writing -------------------------------------------------------------------------------------
def _check_columns() -> None:
    """Fail loudly if the Elder table gained or lost a column this generator does not fill."""
    actual = {str(f.column) for f in Elder._meta.concrete_fields if not f.primary_key}
    if actual != set(_ELDER_COLUMNS):
        raise RuntimeError(
            "registry_elder columns changed; update registry/generator/writing.py: "
            f"missing {sorted(actual - set(_ELDER_COLUMNS))}, unknown {sorted(set(_ELDER_COLUMNS) - actual)}"
        )


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _reserve_household_ids(count: int) -> list[int]:
    """Primary keys for `count` new households, so elders can point at them without reading them back.
    Runs inside the batch's transaction (SQLite holds the write lock; PostgreSQL draws from the
    sequence, safe alongside other writers)."""
    table = Household._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        first = max(top, row[0] if row else 0) + 1
    return list(range(first, first + count))


def _sqlite_cache(size_kib: int | None) -> int | None:
    """Set SQLite's page cache for this connection (random inserts into the hash and name indexes
    thrash the default 2 MB cache); returns the previous value."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        if size_kib is not None:
            cursor.execute(f"PRAGMA cache_size = {int(size_kib)}")
    return previous
