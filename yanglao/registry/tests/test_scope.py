"""A community worker sees only their community: list, detail, search, export and the API."""

import io

import pytest
from python_calamine import CalamineWorkbook

from yanglao.core.testing import other_community
from yanglao.registry import selectors


@pytest.fixture
def two_elders(cast, make_elder):
    mine = make_elder("120101001001", name="本社区老人", phone="13800000001")
    theirs = make_elder(other_community(), name="外社区老人", phone="13800000002")
    return mine, theirs


def test_list(cast, client, two_elders):
    client.force_login(cast.community_worker)
    html = client.get("/registry/elders/").content.decode()
    assert "本社区老人" in html and "外社区老人" not in html


def test_detail(cast, client, two_elders):
    mine, theirs = two_elders
    client.force_login(cast.community_worker)
    assert client.get(f"/registry/elders/{mine.pk}/").status_code == 200
    response = client.get(f"/registry/elders/{theirs.pk}/")
    assert response.status_code == 404
    assert "外社区老人" not in response.content.decode()


@pytest.mark.parametrize("term", ["外社区", "13800000002", "id"])
def test_search(cast, client, two_elders, term):
    _, theirs = two_elders
    client.force_login(cast.community_worker)
    term = theirs.id_number if term == "id" else term
    html = client.get("/registry/elders/", {"q": term}).content.decode()
    assert "外社区老人" not in html
    assert 'data-testid="empty"' in html


def test_export(cast, client, two_elders):
    client.force_login(cast.community_worker)
    response = client.get("/registry/elders/export.xlsx")
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
    names = [row[0] for row in book.get_sheet_by_index(0).to_python()[2:]]
    assert names == ["本社区老人"]


def test_api(cast, client, two_elders):
    mine, theirs = two_elders
    client.force_login(cast.community_worker)
    listed = client.get("/api/v1/elders").json()
    assert [e["name"] for e in listed["items"]] == ["本社区老人"]
    assert client.get(f"/api/v1/elders/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/elders", {"id_number": theirs.id_number}).json()["items"] == []
    response = client.patch(f"/api/v1/elders/{theirs.pk}", {"name": "改名"}, content_type="application/json")
    assert response.status_code == 404


def test_the_district_sees_both_communities_of_its_district_only(cast, two_elders):
    assert selectors.elders_visible(cast.district_staff).count() == 1  # the other is in 河东区
    assert selectors.elders_visible(cast.city_admin).count() == 2


def test_organisation_bound_roles_see_no_elders_yet(cast, two_elders):
    assert selectors.elders_visible(cast.provider_admin).count() == 0
