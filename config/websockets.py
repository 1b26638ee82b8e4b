"""WebSocket routes. Apps with live screens (the alarm console) add theirs here."""

websocket_urlpatterns: list = []
