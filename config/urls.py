from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("", include("yanglao.analytics.urls")),
    path("accounts/", include("yanglao.accounts.urls")),
    path("core/", include("yanglao.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
