from django.urls import path

from yanglao.assessments import views

app_name = "assessments"

urlpatterns = [
    path("", views.assessment_list, name="list"),
    path("new/", views.assessment_request, name="request"),
    path("statistics/", views.statistics, name="statistics"),
    path("<int:assessment_id>/", views.assessment_detail, name="detail"),
    path("<int:assessment_id>/assign/", views.assessment_assign, name="assign"),
    path("<int:assessment_id>/cancel/", views.assessment_cancel, name="cancel"),
    path("<int:assessment_id>/review/", views.assessment_review, name="review"),
    path("<int:assessment_id>/form/", views.assessment_form, name="form_start"),
    path("<int:assessment_id>/form/<int:step>/", views.assessment_form, name="form"),
    path("<int:assessment_id>/autosave/", views.assessment_autosave, name="autosave"),
]
