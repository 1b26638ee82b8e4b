"""yanglao load_policies [PATH] [--jurisdiction CODE]

Load the policy packs of a file or a directory (default: the shipped `policies/`). A pack error stops the
load with the file, the programme and the field named, and nothing is loaded."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yanglao.benefits import packs, services
from yanglao.core.errors import DomainError


class Command(BaseCommand):
    help = "加载补贴政策包（YAML） load subsidy policy packs."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(Path(settings.BASE_DIR) / "policies"))
        parser.add_argument(
            "--jurisdiction", help="re-target every programme loaded to this region (e.g. 1201 for the demo)"
        )

    def handle(self, *args, path: str, jurisdiction: str | None, **options):
        try:
            outcome = services.policies_load(actor="load_policies", path=path, jurisdiction=jurisdiction)
        except packs.PackError as error:
            raise CommandError(str(error)) from None
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"政策项目：新增 {len(outcome['created'])}，更新 {len(outcome['updated'])}，未变 {len(outcome['unchanged'])}"
        )
