"""yanglao generate_elders --count N: add a seeded synthetic population (registry/generator/)."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yanglao.core.errors import DomainError
from yanglao.registry.generator import elders_generate


class Command(BaseCommand):
    help = "生成演示用的老年人档案（合成数据） generate a synthetic demo population of elders."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="how many elders to add")
        parser.add_argument("--seed", type=int, default=2026, help="the same seed draws the same people")
        parser.add_argument("--root", default="1201", help="division code to spread them over")
        parser.add_argument("--batch", type=int, default=50_000, help="rows per transaction")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")

    def handle(self, *args, count: int, seed: int, root: str, batch: int, as_json: bool, **options):
        if settings.PRODUCTION:
            raise CommandError("generate_elders is refused when YANGLAO_ENV=production")
        show_progress = not as_json and options["verbosity"] >= 1

        def progress(done: int, total: int) -> None:
            if show_progress:
                self.stderr.write(f"  {done:,} / {total:,}")

        started = time.monotonic()
        try:
            made = elders_generate(
                actor="generate_elders", count=count, seed=seed, root=root, batch=batch, progress=progress
            )
        except DomainError as error:
            raise CommandError(f"{error.field or 'count'}: {error.message}") from None
        seconds = time.monotonic() - started
        if as_json:
            payload = {"count": made, "seed": seed, "root": root, "seconds": round(seconds, 2)}
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(f"generated {made} elders under {root} (seed {seed}) in {seconds:.1f} s")
