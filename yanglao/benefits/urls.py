from datetime import date

from django.urls import path, register_converter

from yanglao.benefits import views


class PeriodConverter:
    """A month written YYYY-MM, as the first day of the month; 2026-13 is no such page (404)."""

    regex = r"\d{4}-\d{2}"

    def to_python(self, value: str) -> date:
        year, month = value.split("-")
        return date(int(year), int(month), 1)  # ValueError for a month like 13: no match

    def to_url(self, value: date | str) -> str:
        return value if isinstance(value, str) else f"{value:%Y-%m}"


register_converter(PeriodConverter, "period")

app_name = "benefits"

urlpatterns = [
    path("", views.programmes, name="programmes"),
    path("load/", views.policies_load, name="load"),
    path("docs/", views.policy_docs, name="docs"),
    path("runs/", views.runs, name="runs"),
    path("runs/jobs/<str:job_id>/", views.run_job, name="run_job"),
    path("periods/", views.period_go, name="period_go"),
    path("periods/<period:period>/", views.period, name="period"),
    path("periods/<period:period>/review/", views.review, name="review"),
    path("periods/<period:period>/approve/", views.approve, name="approve"),
    path("periods/<period:period>/roster/<str:district>.xlsx", views.roster, name="roster"),
    path("periods/<period:period>/bank/<str:district>.csv", views.bank, name="bank"),
    path("whatif/", views.whatif, name="whatif"),
    path("elders/<int:elder_id>/bank-account/", views.bank_account, name="bank_account"),
]
