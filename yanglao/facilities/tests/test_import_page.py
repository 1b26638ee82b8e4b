"""Facilities through the shared import page: upload, progress to the counts, the error workbook for the
uploader only, the kind's template, and kinds offered by permission."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from yanglao.core.testing import write_xlsx
from yanglao.facilities.models import Facility
from yanglao.facilities.tests.test_import_facilities import rows
from yanglao.registry.models_import import ImportRun


def upload(client, tmp_path, kind="facilities"):
    path = write_xlsx(tmp_path / "设施.xlsx", rows())
    file = SimpleUploadedFile("设施.xlsx", path.read_bytes())
    return client.post("/registry/import/", {"kind": kind, "file": file})


def test_a_city_administrator_imports_facilities_from_the_page(cast, client, tmp_path):
    client.force_login(cast.city_admin)
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        page = client.get("/registry/import/", {"kind": "facilities"}).content.decode()
        assert 'value="facilities" selected' in page and "运营机构统一社会信用代码" in page
        response = upload(client, tmp_path)
        run = ImportRun.objects.get()
        assert response.url == f"/registry/import/{run.job_id}/"
        assert (run.kind, run.state, run.kind_label) == ("facilities", "done", "养老服务设施")
        assert run.created_count == Facility.objects.count() >= 1 and run.rejected_count >= 3
        status = client.get(response.url).content.decode()
        assert 'data-count="rejected"' in status and "养老服务设施" in status
        errors = client.get(f"/registry/import/{run.job_id}/errors.xlsx")
        assert errors.status_code == 200
        client.force_login(cast.district_staff)
        assert client.get(f"/registry/import/{run.job_id}/errors.xlsx").status_code == 404  # not theirs


def test_kinds_follow_permissions(cast, client, tmp_path):
    client.force_login(cast.community_worker)  # imports elders, does not manage facilities
    page = client.get("/registry/import/").content.decode()
    assert 'value="elders"' in page and 'value="facilities"' not in page
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        refused = upload(client, tmp_path)
    assert refused.status_code == 400 and not ImportRun.objects.exists()
    assert client.get("/registry/import/template/facilities.xlsx").status_code == 403
    client.force_login(cast.care_worker)
    assert client.get("/registry/import/").status_code == 403


def test_each_kind_has_its_template(cast, client):
    client.force_login(cast.city_admin)
    for kind in ("elders", "events", "facilities", "workers"):
        response = client.get(f"/registry/import/template/{kind}.xlsx")
        assert response.status_code == 200, kind
        assert response["Content-Disposition"].startswith("attachment")
    assert client.get("/registry/import/template/nothing.xlsx").status_code == 400
