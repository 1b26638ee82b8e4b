"""yanglao settle_orders --period 2026-11 [--provider ID] [--region CODE] [--json]

Monthly settlement per provider (orders.settlement.settlement_run). Run again, it adds only visits
confirmed or cleared since; nothing is paid twice. --json prints one line per statement: provider id,
visits and amounts on the statement, and what this run added, held (fraud flags) or left waiting."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from yanglao.core.errors import DomainError
from yanglao.orders import settlement as settlement_module


class Command(BaseCommand):
    help = "按月生成服务机构结算单 settle a month's confirmed visits per provider."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, e.g. 2026-11")
        parser.add_argument("--provider", type=int, help="one provider's id")
        parser.add_argument("--region", help="only orders in this region (a division code)")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, period: str, provider: int | None, region: str | None, as_json: bool, **options):
        try:
            settlements = settlement_module.settlement_run(
                actor="settle_orders", period=period, provider=provider, region=region
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        if not settlements and not as_json:
            self.stdout.write(f"{period}：没有待结算的服务")
        for found in settlements:
            run = found.run
            row = {
                "settlement": found.pk,
                "provider": found.provider_id,
                "period": found.period,
                "status": found.status,
                "visits": found.visit_count,
                "amount": str(found.amount),
                "account": str(found.account_amount),
                "self": str(found.self_amount),
                "added": run.added,
                "held": run.held,
                "waiting": run.waiting,
            }
            if as_json:
                self.stdout.write(json.dumps(row, ensure_ascii=False, sort_keys=True))
                continue
            name = found.provider.organisation.name
            line = (
                f"{name} {found.period}：本次计入 {run.added} 次，结算单共 {found.visit_count} 次、"
                f"{found.amount} 元（服务账户 {found.account_amount} 元，个人自付 {found.self_amount} 元）"
            )
            if run.held:
                line += f"；{run.held} 次服务有疑点待核查，暂不结算"
            if run.note:
                line += f"；{run.note}"
            self.stdout.write(line)
