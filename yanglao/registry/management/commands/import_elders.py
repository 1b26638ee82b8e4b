"""yanglao import_elders FILE [--errors OUT.xlsx] [--json] [--user USERNAME]

Insert or update elders from an Excel/CSV file (registry.importing.elders_import); the options and exit
codes are those of every import command (core.management.importcommand).
"""

from __future__ import annotations

from typing import Any

from yanglao.core.management.importcommand import ImportCommand
from yanglao.registry import importing


class Command(ImportCommand):
    help = "导入老年人信息（Excel/CSV，按身份证号码新增或更新） import elders from a spreadsheet."
    job_name = "import_elders"
    what = "老年人信息"

    def run_import(self, **kwargs: Any) -> importing.ImportResult:
        return importing.elders_import(**kwargs)
