from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from config.api import api

urlpatterns = [
    path("", include("yanglao.analytics.urls")),
    path("accounts/", include("yanglao.accounts.urls")),
    path("registry/", include("yanglao.registry.urls")),
    path("assessments/", include("yanglao.assessments.urls")),
    path("benefits/", include("yanglao.benefits.urls")),
    path("providers/", include("yanglao.providers.urls")),
    path("facilities/", include("yanglao.facilities.urls")),
    path("orders/", include("yanglao.orders.urls")),
    path("monitoring/devices/", include("yanglao.monitoring.urls_devices")),
    path("monitoring/", include("yanglao.monitoring.urls")),
    path("core/", include("yanglao.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    re_path(
        r"^api/",
        lambda request: JsonResponse(
            {"code": "not_found", "message": f"接口 {request.path} 不存在", "details": []}, status=404
        ),
    ),
]
