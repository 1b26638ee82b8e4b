from django.urls import path

from yanglao.registry import views

app_name = "registry"

urlpatterns = [
    path("elders/", views.elder_list, name="elder_list"),
    path("elders/new/", views.elder_create, name="elder_create"),
    path("elders/export.xlsx", views.elder_export, name="elder_export"),
    path("elders/regions/", views.region_options, name="region_options"),
    path("elders/<int:elder_id>/", views.elder_detail, name="elder_detail"),
    path("elders/<int:elder_id>/edit/", views.elder_edit, name="elder_edit"),
    path("elders/<int:elder_id>/events/new/", views.event_create, name="event_create"),
    path("elders/<int:elder_id>/contacts/new/", views.contact_create, name="contact_create"),
    path(
        "elders/<int:elder_id>/contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"
    ),
    path("elders/<int:elder_id>/reveal/", views.elder_reveal, name="elder_reveal"),
    path("elders/<int:elder_id>/household/", views.household_join, name="household_join"),
]

# The import pages (registry/views_import.py).
from yanglao.registry import views_import  # noqa: E402

urlpatterns += [
    path("import/", views_import.import_page, name="import"),
    path("import/template.xlsx", views_import.import_template, name="import_template"),
    path("import/template/<str:kind>.xlsx", views_import.import_template, name="import_template_kind"),
    path("import/<str:job_id>/", views_import.import_status, name="import_status"),
    path("import/<str:job_id>/errors.xlsx", views_import.import_errors, name="import_errors"),
]
