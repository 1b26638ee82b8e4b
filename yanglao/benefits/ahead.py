"""SQLite: the programmes of a run evaluated ahead of being written, on two more connections at once.

On PostgreSQL each programme is one INSERT … SELECT and the server spreads the work itself. On SQLite that
statement runs on one core and does two things: finding who is eligible and for how much (most of its
time) and writing the rows (one writer at a time). Here two threads, each with a connection of its own,
evaluate the programmes, in the run's order, with the very query the one-statement path uses
(services.beneficiaries), each into a scratch database file of its own; meanwhile the run's connection
writes each programme from its file as soon as it is ready. WAL lets the readers read while the writer
writes, and the two machines' cores share the work.

Nothing of the result depends on the scratch files: the write still deletes the programme's drafts and
re-checks, at that moment and in the same transaction, who already has a row of the programme for the
period, as the one-statement path does. A run killed meanwhile has written whole programmes only; its
scratch files are in a temporary directory, removed when the run ends.

Used only on a SQLite database file outside a transaction (services._other_connections_see_ours): the
threads' connections would not see a caller's uncommitted rows, and the tests' in-memory database locks
whole tables between connections."""

from __future__ import annotations

import shutil
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection, connections

THREADS = 2


class Ahead:
    """Start evaluating `programmes` (in this order) when entered; `attach(programme)` waits for one and
    attaches its file to the run's connection (outside a transaction) as ALIAS, `detach()` lets it go."""

    ALIAS = "ahead_rows"

    def __init__(self, programmes: list[Any], select_of: Any, first: date, region: str | None) -> None:
        self.programmes = programmes
        self.select_of = select_of  # (programme, first, region) -> queryset of the rows to write
        self.first = first
        self.region = region
        self._ready = {p.code: threading.Event() for p in programmes}
        self._failed: BaseException | None = None
        self._next = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._directory = ""

    def __enter__(self) -> Ahead:
        self._directory = tempfile.mkdtemp(prefix="yanglao-benefits-")
        for number in range(min(THREADS, len(self.programmes))):
            thread = threading.Thread(target=self._evaluate, name=f"benefits-ahead-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping = True
        for thread in self._threads:
            thread.join()
        shutil.rmtree(self._directory, ignore_errors=True)

    def _path(self, programme: Any) -> str:
        return str(Path(self._directory) / f"{programme.code}.sqlite3")

    def _take(self) -> Any | None:
        with self._lock:
            if self._stopping or self._failed is not None or self._next >= len(self.programmes):
                return None
            programme = self.programmes[self._next]
            self._next += 1
            return programme

    def _evaluate(self) -> None:
        try:
            while (programme := self._take()) is not None:
                sql, params = self.select_of(programme, self.first, self.region).query.sql_with_params()
                with connection.cursor() as cursor:
                    cursor.execute("ATTACH DATABASE %s AS ahead_out", [self._path(programme)])
                    try:
                        # A scratch file: no journal, nothing kept on a crash. Columns without a type keep
                        # the values as the query made them, for the write to convert as it always has.
                        cursor.execute("PRAGMA ahead_out.journal_mode = OFF")
                        cursor.execute("PRAGMA ahead_out.synchronous = OFF")
                        cursor.execute(
                            "CREATE TABLE ahead_out.rows (beneficiary_id, region_code, amount, reason)"
                        )
                        cursor.execute(f"INSERT INTO ahead_out.rows SELECT * FROM ({sql}) sub", params)  # noqa: S608
                    finally:
                        cursor.execute("DETACH DATABASE ahead_out")
                self._ready[programme.code].set()
        except BaseException as error:  # handed to the run's thread by attach()
            with self._lock:
                self._failed = error
            for event in self._ready.values():
                event.set()
        finally:
            connections.close_all()  # this thread's connection

    def attach(self, programme: Any) -> str:
        """Wait for the programme's rows and attach them; returns the table's name for the write."""
        self._ready[programme.code].wait()
        if self._failed is not None:
            raise self._failed
        with connection.cursor() as cursor:
            cursor.execute(f"ATTACH DATABASE %s AS {self.ALIAS}", [self._path(programme)])
        return f"{self.ALIAS}.rows"

    def detach(self, programme: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DETACH DATABASE {self.ALIAS}")
        Path(self._path(programme)).unlink(missing_ok=True)
