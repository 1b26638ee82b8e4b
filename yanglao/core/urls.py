from django.urls import path

from yanglao.core import views

app_name = "core"

urlpatterns = [
    path("jobs/<str:job_id>/progress", views.job_progress, name="job_progress"),
]
