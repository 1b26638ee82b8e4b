"""yanglao import_facilities FILE [--errors OUT.xlsx] [--json] [--user USERNAME]

Create or update facilities from an Excel/CSV file (facilities.importing), with the options, exit codes
and error workbook of every import command.
"""

from __future__ import annotations

from typing import Any

from yanglao.core.management.importcommand import ImportCommand
from yanglao.facilities import importing


class Command(ImportCommand):
    help = "导入养老服务设施（Excel/CSV，按所在区域和名称新增或更新） import facilities from a spreadsheet."
    job_name = "import_facilities"
    what = "养老设施"

    def run_import(self, **kwargs: Any) -> Any:
        return importing.facilities_import(**kwargs)
