from django.urls import reverse

from yanglao.core.jobs import Progress
from yanglao.core.models import JobProgress


def test_progress_is_capped_below_100_until_finished(db):
    progress = Progress.start("job-1", "导入老人档案")
    progress.update(250, "已处理")
    assert JobProgress.objects.get(job_id="job-1").percent == 99
    progress.finish("导入完成")
    job = JobProgress.objects.get(job_id="job-1")
    assert (job.state, job.percent, job.message) == ("done", 100, "导入完成")


def test_the_owner_sees_a_polling_progress_bar_and_others_do_not(cast, client):
    Progress.start("job-2", "导入老人档案", owner=cast.community_worker).update(40, "已校验 4,000 行")
    client.force_login(cast.community_worker)
    page = client.get(reverse("core:job_progress", args=["job-2"]))
    assert page.status_code == 200
    assert 'aria-valuenow="40"' in page.content.decode()
    assert 'hx-trigger="every 1s"' in page.content.decode()
    client.force_login(cast.other_community_worker)
    assert client.get(reverse("core:job_progress", args=["job-2"])).status_code == 404


def test_a_finished_job_stops_polling(cast, client):
    progress = Progress.start("job-3", "导入", owner=cast.community_worker)
    progress.fail("文件无法读取")
    client.force_login(cast.community_worker)
    html = client.get(reverse("core:job_progress", args=["job-3"])).content.decode()
    assert "hx-trigger" not in html
    assert "文件无法读取" in html


def test_the_api_reports_progress_to_the_owner_only(cast, client):
    Progress.start("job-4", "导出", owner=cast.district_staff).update(10)
    client.force_login(cast.district_staff)
    body = client.get("/api/v1/jobs/job-4").json()
    assert (body["percent"], body["state"]) == (10, "running")
    client.force_login(cast.other_district_staff)
    response = client.get("/api/v1/jobs/job-4")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
