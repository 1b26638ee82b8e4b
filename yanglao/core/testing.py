"""Test helpers: the fixed cast of users by role, and services that a test needs.

The cast lives in Tianjin (division codes loaded once per test session by yanglao/conftest.py):

    home district 和平区 120101, street 劝业场街道 120101001, community 120101001001
    other district 河东区 120102 and one of its communities, to prove what scope hides
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from yanglao.accounts.models import Organisation, User
from yanglao.accounts.roles import STAFF_ROLES, Role
from yanglao.core import creditcode, idcard
from yanglao.core.probe import answers
from yanglao.regions.models import Region
from yanglao.regions.services import regions_load

CITY = "1201"
HOME_DISTRICT = "120101"
HOME_STREET = "120101001"
HOME_COMMUNITY = "120101001001"
OTHER_DISTRICT = "120102"
PASSWORD = "Test-Password-2026"


def ensure_tianjin() -> None:
    """Load Tianjin's divisions if a transactional test flushed them."""
    if not Region.objects.filter(code=CITY).exists():
        regions_load(actor="tests", root=CITY)


def other_community() -> str:
    return (
        Region.objects.filter(code__startswith=OTHER_DISTRICT, level="community")
        .order_by("code")
        .first()
        .code
    )


def make_credit_code(serial: int, region: str = HOME_DISTRICT) -> str:
    base = f"52{region[:6]}MJ{serial:07d}"
    return base + creditcode.check_character(base)


def make_user(
    username: str, role: str, region: str | None, organisation: Organisation | None = None, **extra: Any
) -> User:
    user = User(
        username=username,
        role=role,
        region_id=region,
        organisation=organisation,
        full_name=extra.pop("full_name", username),
        is_staff=role in STAFF_ROLES,
        **extra,
    )
    user.set_password(PASSWORD)
    user.save()
    return user


@dataclass
class Cast:
    users: dict[str, User] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


def make_cast() -> Cast:
    ensure_tianjin()
    cast = Cast()
    org = cast.organisations
    org["provider"] = Organisation.objects.create(
        name="和平区测试服务中心", kind="provider", region_id=HOME_DISTRICT, credit_code=make_credit_code(1)
    )
    org["other_provider"] = Organisation.objects.create(
        name="河东区测试服务中心",
        kind="provider",
        region_id=OTHER_DISTRICT,
        credit_code=make_credit_code(2, OTHER_DISTRICT),
    )
    org["assessor"] = Organisation.objects.create(
        name="测试评估机构", kind="assessor", region_id=CITY, credit_code=make_credit_code(3)
    )
    org["canteen"] = Organisation.objects.create(
        name="测试老人家食堂", kind="canteen", region_id=HOME_STREET, credit_code=make_credit_code(4)
    )
    rows = [
        ("city_admin", Role.CITY_ADMIN, CITY, None),
        ("district_staff", Role.DISTRICT_STAFF, HOME_DISTRICT, None),
        ("other_district_staff", Role.DISTRICT_STAFF, OTHER_DISTRICT, None),
        ("street_staff", Role.DISTRICT_STAFF, HOME_STREET, None),
        ("community_worker", Role.COMMUNITY_WORKER, HOME_COMMUNITY, None),
        ("other_community_worker", Role.COMMUNITY_WORKER, other_community(), None),
        ("assessor", Role.ASSESSOR, CITY, org["assessor"]),
        ("provider_admin", Role.PROVIDER_ADMIN, HOME_DISTRICT, org["provider"]),
        ("other_provider_admin", Role.PROVIDER_ADMIN, OTHER_DISTRICT, org["other_provider"]),
        ("care_worker", Role.CARE_WORKER, HOME_DISTRICT, org["provider"]),
        ("operator", Role.OPERATOR, CITY, None),
        ("canteen_staff", Role.CANTEEN_STAFF, HOME_STREET, org["canteen"]),
        ("inspector", Role.INSPECTOR, CITY, None),
        ("volunteer", Role.VOLUNTEER, HOME_COMMUNITY, None),
        ("elder", Role.ELDER, HOME_COMMUNITY, None),
        ("auditor", Role.AUDITOR, CITY, None),
        ("integration", Role.INTEGRATION, CITY, None),
    ]
    for username, role, region, organisation in rows:
        cast.users[username] = make_user(username, role, region, organisation)
    cast.users["superuser"] = make_user("superuser", Role.CITY_ADMIN, None, is_superuser=True)
    return cast


def services_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("YANGLAO_REQUIRE_SERVICES") == "1"


def require_service(name: str, url: str) -> None:
    """Skip loudly when a service does not answer, or fail under CI / YANGLAO_REQUIRE_SERVICES=1."""
    if answers(url):
        return
    message = f"{name} does not answer at {url}"
    if services_required():
        pytest.fail(f"{message}, and it is required here (CI or YANGLAO_REQUIRE_SERVICES=1)")
    pytest.skip(f"!!! SKIPPED: {message} — start it to run this test !!!")


def write_xlsx(path: Any, rows: list[list[Any]], *, sheet_name: str = "Sheet1") -> Any:
    """A small .xlsx for import tests: strings as text cells, dates as date cells, None as empty."""
    from datetime import date

    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet(sheet_name)
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, as_date)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    book.close()
    return path


def read_errors(path: Any) -> list[tuple[int, str, str, str]]:
    """The 错误明细 sheet of an error workbook as (row, column, value, problem)."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("错误明细").to_python()
    assert rows[0] == ["行号", "列", "值", "问题"]
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows[1:]]


_serial = iter(range(1, 10**6))


def make_id(district: str = "120101", born: date = date(1940, 5, 17), male: bool = True) -> str:
    """A valid ID number: odd sequence for men, even for women (never 000); unique for up to 499 calls
    with the same district, birth date and sex, far more than one test makes."""
    serial = next(_serial)
    sequence = (serial % 499) * 2 + (1 if male else 2)
    first17 = f"{district}{born:%Y%m%d}{sequence:03d}"
    return first17 + idcard.check_character(first17)


def race(work: Any, times: int = 2) -> list[Any]:
    """Run `work` in `times` threads released together (real concurrent transactions, each on its own
    connection); return what each returned or raised, for the test to inspect."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(times)
    outcomes: list[Any] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(work())
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes.append(error)
        finally:
            connection.close()  # each thread has its own connection; leave none open

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
