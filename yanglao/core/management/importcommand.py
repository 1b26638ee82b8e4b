"""The shared shape of `yanglao import_*` commands: FILE [--errors OUT.xlsx] [--json] [--user USERNAME].

Without --user an import runs as the named system job over the whole platform; with it, as that person,
within their permissions and region. Rejected rows do not fail the command (exit code 0): they are
counted and listed in the error workbook. An unreadable file or wrong headers do (CommandError).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from yanglao.core.errors import DomainError


class ImportCommand(BaseCommand):
    """A spreadsheet import as a command. Subclasses name the job, what is imported, and the import
    function (actor=, path=, errors_path=) returning an ImportResult (core.rowimport or the registry's)."""

    job_name = ""
    what = ""

    def run_import(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx, .xls or .csv file")
        parser.add_argument("--errors", metavar="OUT.xlsx", help="write the rejected rows' problems here")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")
        parser.add_argument("--user", metavar="USERNAME", help="import as this user (their region only)")

    def handle(self, *args, file: str, errors: str | None, as_json: bool, user: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        actor: Any = self.job_name
        if user:
            actor = get_user_model().objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"用户“{user}”不存在或已停用")
        try:
            result = self.run_import(actor=actor, path=path, errors_path=errors)
        except DomainError as error:
            raise CommandError(error.message) from None
        if result.header_problems:
            problems = "；".join(p.problem for p in result.header_problems)
            raise CommandError(f"表头有误，文件未导入：{problems}")
        if as_json:
            self.stdout.write(json.dumps(result.counts(), ensure_ascii=False))
            return
        self.stdout.write(
            f"{self.what}：新增 {result.created:,}，更新 {result.updated:,}，"
            f"未变 {result.unchanged:,}，错误 {result.rejected:,} 行"
        )
        if result.errors:
            for problem in result.errors[:10]:
                self.stdout.write(f"  第{problem.row}行 {problem.column}：{problem.problem}")
            if result.error_count > 10:
                self.stdout.write(f"  ……共 {result.error_count:,} 处错误")
        if result.errors_path:
            self.stdout.write(f"错误工作簿：{result.errors_path}")
