from django.urls import path

from yanglao.facilities import views

app_name = "facilities"

urlpatterns = [
    path("", views.facility_list, name="list"),
    path("new/", views.facility_create, name="create"),
    path("<int:facility_id>/", views.facility_detail, name="detail"),
    path("<int:facility_id>/edit/", views.facility_edit, name="edit"),
    path("<int:facility_id>/status/", views.facility_status, name="status"),
]
