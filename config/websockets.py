"""WebSocket routes. Apps with live screens (the alarm console) add theirs here."""

from django.urls import path

from yanglao.monitoring.consumers import AlarmConsumer

websocket_urlpatterns: list = [
    path("ws/monitoring/alarms/", AlarmConsumer.as_asgi()),
]
