"""What the two-database benchmarks share (bench_benefits_run, bench_dispatch): each database is prepared
and measured in a child process of its own (the script run again with `--child sqlite|postgresql`), so
one database's caches, connections and memory never colour the other's figures; the parent creates and
drops the PostgreSQL database, collects each child's figures and prints them.

A child prints its progress freely and its figures last, as one line RESULT + JSON. Not a benchmark
itself (`make bench` runs bench/bench_*.py only); the scripts import it from their own folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

RESULT = "@@RESULT "
Figures = dict[str, Any]
T = TypeVar("T")


def say(text: str) -> None:
    print(text, flush=True)


def database_arguments(parser: argparse.ArgumentParser, default_pg: str) -> None:
    """The options that choose the databases; --child is how the parent starts a child."""
    parser.add_argument("--pg", default=default_pg, help="PostgreSQL URL (its database is created/dropped)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)


# --- the child -----------------------------------------------------------------------------------------


def child(args: argparse.Namespace, stage: Callable[[argparse.Namespace], Figures]) -> None:
    """Sets Django up on the child's database, runs `stage` and hands its figures to the parent."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("YANGLAO_ENV", "test")
    if args.child == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = args.pg
    import django

    django.setup()
    from django.db import connection

    try:
        result = stage(args)
    finally:
        connection.close()
    print(RESULT + json.dumps(result), flush=True)


def setup_timer(setup: dict[str, float], vendor: str) -> Callable[[str, Callable[[], T]], T]:
    """A step of the (untimed) preparation: run, record its seconds in `setup`, say how long it took."""

    def timed(name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = work()
        setup[name] = round(time.perf_counter() - started, 1)
        say(f"  [{vendor}] setup: {name}: {setup[name]} s")
        return value

    return timed


def analyse() -> None:
    """After bulk writes: PostgreSQL has no statistics for fresh rows and would plan blind."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- the parent ----------------------------------------------------------------------------------------


def run_child(vendor: str, script: str, arguments: list[str], args: argparse.Namespace) -> Figures | None:
    """Runs `script` as the child for `vendor` in a temporary data folder; passes its output through and
    returns its figures (None when it failed)."""
    command = [sys.executable, script, *arguments, "--child", vendor, "--pg", args.pg]
    env = dict(os.environ)
    name = Path(script).stem.replace("_", "-")
    data_dir = tempfile.mkdtemp(prefix=f"yanglao-{name}-{vendor}-")
    env["YANGLAO_DATA_DIR"] = data_dir
    env.setdefault("YANGLAO_ENV", "test")
    result = None
    try:
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:  # noqa: S603
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith(RESULT):
                    result = json.loads(line[len(RESULT) :])
                else:
                    print(line, end="", flush=True)
        if process.returncode:
            print(f"!!! the {vendor} run failed (exit {process.returncode}) !!!")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)  # a SQLite database can reach ~1 GB
    return result


def pg_admin(url: str, statement: str) -> None:
    """Runs `statement` in the server's maintenance database (a database cannot drop itself)."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


def pg_name(url: str) -> str:
    """The URL's database name, refused unless plain: it is quoted into DROP/CREATE DATABASE."""
    name = urlsplit(url).path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"unexpected database name {name!r}")
    return name


def run_postgres(script: str, arguments: list[str], args: argparse.Namespace) -> Figures | None:
    """The PostgreSQL child in a database created for it and dropped after; skipped loudly when asked
    to (--no-pg) or when no server answers."""
    if args.no_pg:
        print("!!! PostgreSQL run SKIPPED (--no-pg) !!!")
        return None
    from yanglao.core.probe import answers

    if not answers(args.pg):
        print(f"!!! PostgreSQL run SKIPPED: no server answers at {args.pg} !!!")
        return None
    name = pg_name(args.pg)
    pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(args.pg, f'CREATE DATABASE "{name}"')
    try:
        return run_child("postgresql", script, arguments, args)
    finally:
        pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_both(
    args: argparse.Namespace,
    script: str,
    arguments: list[str],
    report: Callable[[Figures, str], list[str]],
) -> None:
    """Runs the children (SQLite, then PostgreSQL), prints each one's report, the wall time and whether
    every target was met. `arguments` are the script's own options, passed to each child; `report`
    prints one database's figures and returns its missed targets."""
    started = datetime.now()
    sqlite = None if args.no_sqlite else run_child("sqlite", script, arguments, args)
    postgres = run_postgres(script, arguments, args)
    misses: list[str] = []
    if sqlite:
        misses += report(sqlite, "SQLite (WAL)")
    elif args.no_sqlite:
        print("!!! SQLite run SKIPPED (--no-sqlite) !!!")
        misses.append("SQLite run skipped")
    else:
        misses.append("SQLite run failed")
    if postgres:
        misses += report(postgres, "PostgreSQL")
    elif not args.no_pg:
        misses.append("PostgreSQL run skipped or failed")
    print(f"\nwall time of the whole bench: {(datetime.now() - started).total_seconds():.0f} s")
    print("all targets met" if not misses else "!!! " + "; ".join(misses) + " !!!")
