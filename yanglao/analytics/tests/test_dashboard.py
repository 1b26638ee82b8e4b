"""The home dashboard: counts per child region of the user's scope."""

from yanglao.accounts.models import User
from yanglao.regions.models import Region


def test_the_city_sees_its_sixteen_districts_with_street_and_community_counts(cast, client):
    client.force_login(cast.city_admin)
    response = client.get("/")
    board = response.context["board"]
    assert board.region.code == "1201"
    assert len(board.rows) == 16
    heping = next(row for row in board.rows if row.region.code == "120101")
    assert (
        heping.figures["streets"] == Region.objects.filter(code__startswith="120101", level="street").count()
    )
    assert (
        heping.figures["communities"]
        == Region.objects.filter(code__startswith="120101", level="community").count()
    )
    assert board.totals["communities"] == 5617
    assert (
        heping.figures["users"]
        == User.objects.filter(region__code__startswith="120101", is_active=True).count()
    )
    html = response.content.decode()
    assert "和平区" in html and 'id="chart-data"' in html


def test_a_district_drills_down_to_a_street_and_sees_communities(cast, client):
    client.force_login(cast.district_staff)
    board = client.get("/?region=120101001").context["board"]
    assert board.region.name == "劝业场街道"
    assert [c for c, _ in board.columns] == ["communities", "elders", "gaoling", "alone", "users"]
    assert [r.code for r in board.breadcrumbs] == ["120101"]


def test_a_district_cannot_open_another_district(cast, client):
    client.force_login(cast.district_staff)
    response = client.get("/?region=120102")
    assert response.status_code == 403
    assert "不在您的管辖范围内" in response.content.decode()


def test_an_unknown_region_is_a_chinese_404(cast, client):
    client.force_login(cast.city_admin)
    response = client.get("/?region=120199")
    assert response.status_code == 404
    assert "120199" in response.content.decode()


def test_a_community_has_no_children_and_says_so(cast, client):
    client.force_login(cast.community_worker)
    response = client.get("/")
    assert response.context["board"].rows == []
    assert "该区域没有下级区划" in response.content.decode()


def test_a_superuser_opens_on_the_districts_not_the_single_city(cast, client):
    client.force_login(cast.superuser)
    assert client.get("/").context["board"].region.code == "1201"


def test_roles_without_a_dashboard_get_a_start_page(cast, client):
    client.force_login(cast.care_worker)
    response = client.get("/")
    assert response.status_code == 200
    assert "护理员" in response.content.decode()
    assert "board" not in response.context


def test_elders_are_counted_per_child_region_in_the_users_scope(cast, client):
    from datetime import date

    from yanglao.registry import services
    from yanglao.registry.tests.conftest import make_id

    for born, alone in ((date(1940, 1, 1), True), (date(1960, 1, 1), False)):
        services.elder_register(
            actor="tests",
            name="张三",
            id_number=make_id("120101", born),
            residence_region="120101001001",
            living_arrangement="独居" if alone else "",
        )
    client.force_login(cast.city_admin)
    heping = next(r for r in client.get("/").context["board"].rows if r.region.code == "120101")
    assert (heping.figures["elders"], heping.figures["gaoling"], heping.figures["alone"]) == (2, 1, 1)
    client.force_login(cast.auditor)  # no elders.view: the columns stay at zero
    heping = next(r for r in client.get("/").context["board"].rows if r.region.code == "120101")
    assert heping.figures["elders"] == 0
