"""The registry in a real browser: a community worker searches by name and by full ID number."""

from datetime import date

import pytest
from playwright.sync_api import expect

from yanglao.core.browser import login
from yanglao.core.testing import PASSWORD
from yanglao.registry import services
from yanglao.registry.tests.conftest import make_id

pytestmark = pytest.mark.browser


def test_search_by_name_and_by_full_id_number(browser_page, live_server, live_cast):
    page = browser_page
    numbers = {}
    for name, born in (
        ("张桂兰", date(1938, 3, 4)),
        ("张国庆", date(1949, 10, 1)),
        ("李秀英", date(1945, 6, 6)),
    ):
        numbers[name] = make_id("120101", born)
        services.elder_register(
            actor="tests", name=name, id_number=numbers[name], residence_region="120101001001"
        )
    login(page, live_server.url, live_cast.community_worker.username, PASSWORD)
    page.goto(f"{live_server.url}/registry/elders/")
    rows = page.get_by_test_id("elder-table").locator("tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_test_id("search").fill("张")
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("result-count")).to_contain_text("2")

    page.get_by_test_id("search").fill(numbers["李秀英"])
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("李秀英")
    expect(rows.first).not_to_contain_text(numbers["李秀英"])  # masked in the list

    page.get_by_test_id("search").fill(
        numbers["李秀英"][:-1] + ("0" if numbers["李秀英"][-1] != "0" else "1")
    )
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("empty")).to_be_visible()

    page.get_by_test_id("search").fill("李秀英")
    page.get_by_role("button", name="查询").click()
    rows.first.get_by_role("link", name="李秀英").click()
    expect(page.get_by_test_id("elder-name")).to_have_text("李秀英")
    page.get_by_test_id("reveal").click()
    expect(page.get_by_test_id("numbers")).to_contain_text(numbers["李秀英"])


def test_import_with_errors_then_find_the_imported_elder(browser_page, live_server, live_cast, tmp_path):
    from python_calamine import CalamineWorkbook

    good1, good2 = make_id("120101", date(1941, 1, 2)), make_id("120101", date(1950, 7, 8), male=False)
    bad = good1[:-1] + ("0" if good1[-1] != "0" else "1")
    upload = tmp_path / "社区老人.csv"
    upload.write_text(
        "现居住社区代码,姓名,身份证号码,居住状况\n"
        f"120101001001,孙福海,{good1},独居\n"
        f"120101001001,周玉兰,{good2},空巢\n"
        f"120101001001,错号码,{bad},独居\n",
        encoding="gb18030",
    )
    page = browser_page
    login(page, live_server.url, live_cast.community_worker.username, PASSWORD)
    page.goto(f"{live_server.url}/registry/import/")
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="上传并导入").click()
    counts = page.get_by_test_id("import-counts")
    expect(counts.locator('[data-count="created"]')).to_have_text("2")
    expect(counts.locator('[data-count="rejected"]')).to_have_text("1")
    with page.expect_download() as download:
        page.get_by_test_id("errors-link").click()
    path = tmp_path / "errors.xlsx"
    download.value.save_as(path)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    flat = " ".join(str(cell) for row in rows for cell in row)
    assert "身份证号码" in flat and "校验位错误" in flat and bad in flat

    page.goto(f"{live_server.url}/registry/elders/")
    page.get_by_test_id("search").fill("孙福海")
    page.get_by_role("button", name="查询").click()
    table_rows = page.get_by_test_id("elder-table").locator("tbody tr")
    expect(table_rows).to_have_count(1)
    expect(table_rows.first).to_contain_text("孙福海")
