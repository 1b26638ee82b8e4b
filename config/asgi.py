"""ASGI entry point: HTTP through Django, WebSocket through Channels (apps add their routes)."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from config.websockets import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What was loaded to get here (Django, the apps, their modules) lives as long as the server: freeze it, so
# that the garbage collector's full passes, which a busy server (thousands of console frames a second)
# sets off, do not scan it again each time. They were pauses of tens of milliseconds for every console.
gc.freeze()
