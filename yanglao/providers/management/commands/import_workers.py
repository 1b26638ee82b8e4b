"""yanglao import_workers FILE [--errors OUT.xlsx] [--json] [--user USERNAME]

Register or update care workers from an Excel/CSV file (providers.importing), with the options, exit
codes and error workbook of every import command.
"""

from __future__ import annotations

from typing import Any

from yanglao.core.management.importcommand import ImportCommand
from yanglao.providers import importing


class Command(ImportCommand):
    help = "导入护理员（Excel/CSV，按身份证号码新增或更新） import care workers from a spreadsheet."
    job_name = "import_workers"
    what = "护理员"

    def run_import(self, **kwargs: Any) -> Any:
        return importing.workers_import(**kwargs)
