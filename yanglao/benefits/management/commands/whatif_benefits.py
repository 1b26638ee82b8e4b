"""yanglao whatif_benefits --policy FILE --period 2026-11 [--jurisdiction CODE] [--json]

Evaluate a draft policy pack against today's registry without writing anything: head count and cost of
each programme, in total and per district, beside the loaded programme it would replace."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from yanglao.benefits import packs, selectors
from yanglao.core.errors import DomainError


class Command(BaseCommand):
    help = "测算补贴政策草案（不写入） what-if of a draft policy pack."

    def add_arguments(self, parser):
        parser.add_argument("--policy", required=True, help="the draft pack (.yaml) or a directory of packs")
        parser.add_argument("--period", required=True, help="the month, e.g. 2026-11")
        parser.add_argument("--jurisdiction", help="evaluate as if the pack applied to this region")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, policy: str, period: str, jurisdiction: str | None, as_json: bool, **options):
        try:
            year, month = (int(part) for part in period.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise CommandError(f"期间“{period}”无效，应写作 2026-11") from None
        try:
            results = selectors.whatif(path=policy, period=first, jurisdiction=jurisdiction)
        except (packs.PackError, DomainError) as error:
            raise CommandError(getattr(error, "message", str(error))) from None
        rows = {
            r.code: {
                "name": r.name,
                "heads": r.heads,
                "cost": str(r.cost),
                "by_district": {
                    d: {"heads": v["heads"], "cost": str(v["cost"])} for d, v in r.by_district.items()
                },
                "replaces": None
                if r.replaces is None
                else {
                    "version": r.replaces["version"],
                    "heads": r.replaces["heads"],
                    "cost": str(r.replaces["cost"]),
                },
            }
            for r in results
        }
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, sort_keys=True))
            return
        for code, row in rows.items():
            line = f"{code} {row['name']}: {row['heads']:,} 人，{row['cost']} 元"
            if row["replaces"]:
                line += f"（现行 v{row['replaces']['version']}：{row['replaces']['heads']:,} 人，{row['replaces']['cost']} 元）"
            self.stdout.write(line)
