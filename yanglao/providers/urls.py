from django.urls import path

from yanglao.providers import views

app_name = "providers"

urlpatterns = [
    path("", views.provider_list, name="provider_list"),
    path("new/", views.provider_create, name="provider_create"),
    path("<int:provider_id>/", views.provider_detail, name="provider_detail"),
    path("<int:provider_id>/edit/", views.provider_edit, name="provider_edit"),
    path("<int:provider_id>/status/", views.provider_status, name="provider_status"),
    path("<int:provider_id>/areas/", views.provider_areas, name="provider_areas"),
    path("<int:provider_id>/offers/", views.offer_save, name="offer_save"),
    path("<int:provider_id>/offers/<slug:item>/withdraw/", views.offer_withdraw, name="offer_withdraw"),
    path("<int:provider_id>/contracts/new/", views.contract_edit, name="contract_create"),
    path("<int:provider_id>/contracts/<int:contract_id>/", views.contract_edit, name="contract_edit"),
    path("<int:provider_id>/reveal/", views.provider_reveal, name="provider_reveal"),
    path("workers/", views.worker_list, name="worker_list"),
    path("workers/new/", views.worker_create, name="worker_create"),
    path("workers/<int:worker_id>/", views.worker_detail, name="worker_detail"),
    path("workers/<int:worker_id>/edit/", views.worker_edit, name="worker_edit"),
    path("workers/<int:worker_id>/status/", views.worker_status, name="worker_status"),
    path("workers/<int:worker_id>/certificates/", views.certificate_create, name="certificate_create"),
    path("workers/<int:worker_id>/training/", views.training_create, name="training_create"),
    path("workers/<int:worker_id>/reveal/", views.worker_reveal, name="worker_reveal"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/<slug:code>/", views.catalogue_row, name="catalogue_row"),
]
