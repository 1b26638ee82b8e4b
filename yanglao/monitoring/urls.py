from django.urls import path

from yanglao.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/alarms.json", views.console_alarms, name="console_alarms"),
    path("console/service-level/", views.service_level, name="service_level"),
    path("alarms/", views.alarm_list, name="alarms"),
    path("alarms/<int:alarm_id>/", views.alarm_detail, name="alarm"),
    path("alarms/<int:alarm_id>/acknowledge/", views.alarm_acknowledge, name="acknowledge"),
    path("alarms/<int:alarm_id>/dispatch/", views.alarm_dispatch, name="dispatch"),
    path("alarms/<int:alarm_id>/resolve/", views.alarm_resolve, name="resolve"),
    path("alarms/<int:alarm_id>/reveal/", views.card_reveal, name="card_reveal"),
]
