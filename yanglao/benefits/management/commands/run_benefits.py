"""yanglao run_benefits --period 2026-11 [--programme CODE] [--region CODE] [--json]

Compute a month's entitlements (benefits.services.benefits_run). Killed and run again, it resumes and
gives the same result. --json prints one line: per programme, beneficiaries and total amount."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from yanglao.benefits import services
from yanglao.core.errors import DomainError


class Command(BaseCommand):
    help = "按月计算补贴津贴 compute a month's entitlements."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, e.g. 2026-11")
        parser.add_argument("--programme", help="one programme code")
        parser.add_argument("--region", help="only this region (a division code)")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, period: str, programme: str | None, region: str | None, as_json: bool, **options):
        try:
            year, month = (int(part) for part in period.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise CommandError(f"期间“{period}”无效，应写作 2026-11") from None
        try:
            run = services.benefits_run(
                actor="run_benefits", period=first, programme=programme, region=region
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        figures = run.totals.get("programmes", {})
        if as_json:
            self.stdout.write(json.dumps(figures, ensure_ascii=False, sort_keys=True))
            return
        for code, row in sorted(figures.items()):
            self.stdout.write(f"{code}: {row['beneficiaries']:,} 人，{row['amount']} 元")
