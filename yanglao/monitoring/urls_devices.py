from django.urls import path

from yanglao.monitoring import views_devices as views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_create, name="create"),
    path("<int:device_id>/", views.device_detail, name="detail"),
    path("<int:device_id>/edit/", views.device_edit, name="edit"),
    path("<int:device_id>/token/", views.device_token, name="token"),
    path("<int:device_id>/retire/", views.device_retire, name="retire"),
]
