"""The web shell: Chinese by default, an English switch, Chinese error pages, htmx with CSRF, and
assets served by the platform itself."""

import pytest
from django.test import override_settings


def test_pages_are_chinese_by_default_with_an_english_switch(cast, client):
    client.force_login(cast.city_admin)
    html = client.get("/").content.decode()
    assert '<html lang="zh-CN">' in html
    assert "养老服务平台" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/").content.decode()
    assert '<html lang="en">' in english
    assert "Home" in english  # the navigation, from the English catalogue


def test_htmx_requests_carry_the_csrf_token(cast, client):
    client.force_login(cast.city_admin)
    html = client.get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "/static/vendor/htmx/htmx.min.js" in html


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/bootstrap/bootstrap.min.css",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/yanglao/yanglao.css",
    ],
)
def test_front_end_assets_are_served_locally(db, client, path):
    response = client.get(path)
    assert response.status_code == 200


def test_no_page_refers_to_an_outside_host(cast, client):
    client.force_login(cast.city_admin)
    html = client.get("/").content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html


def test_unknown_pages_get_a_chinese_404(cast, client):
    client.force_login(cast.city_admin)
    with override_settings(DEBUG=False):
        response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_navigation_follows_the_role(cast, client):
    client.force_login(cast.city_admin)
    admin_nav = client.get("/").context["nav_items"]
    client.force_login(cast.community_worker)
    worker_nav = client.get("/").context["nav_items"]
    assert "用户与令牌" in [str(i["label"]) for i in admin_nav]
    assert "用户与令牌" not in [str(i["label"]) for i in worker_nav]


def test_the_500_page_is_chinese_and_stands_alone():
    from django.template.loader import get_template

    html = get_template("500.html").render({})
    assert "服务器内部错误" in html


def test_the_english_catalogue_translates_every_string_and_the_compiled_file_matches():
    import gettext
    import re
    from pathlib import Path

    from django.conf import settings

    po = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
    pairs = []
    for entry in po.read_text(encoding="utf-8").split("\n\n")[1:]:  # the first block is the header
        match = re.search(r'msgid ((?:".*"\s*)+)msgstr ((?:".*"\s*)+)', entry)
        if match:
            pairs.append(tuple("".join(re.findall(r'"(.*)"', group)) for group in match.groups()))
    assert pairs and all(msgstr for _, msgstr in pairs), [m for m, s in pairs if not s]
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [m for m, s in pairs if m and "\\" not in m and compiled.gettext(m) != s.replace('\\"', '"')]
    assert stale == [], "run compilemessages: the .mo is older than the .po"
