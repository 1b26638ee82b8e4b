from django.urls import path

from yanglao.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.home, name="home"),
    path("map/", views.supply_map, name="map"),
]
