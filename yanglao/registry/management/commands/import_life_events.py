"""yanglao import_life_events FILE [--errors OUT.xlsx] [--json] [--user USERNAME]

Record deaths, hospital and institution stays and moves from another department's file
(registry.importing.events_import), with the same options and error workbook as import_elders.
"""

from __future__ import annotations

from typing import Any

from yanglao.core.management.importcommand import ImportCommand
from yanglao.registry import importing


class Command(ImportCommand):
    help = "导入生活事件（死亡、住院、入住机构、迁居等部门数据文件） import life events from a spreadsheet."
    job_name = "import_life_events"
    what = "生活事件"

    def run_import(self, **kwargs: Any) -> importing.ImportResult:
        return importing.events_import(**kwargs)
