from django.urls import path

from . import payer_views, remit_views, views

app_name = "billing"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("check/", views.check_all, name="check_all"),
    path("send/", views.send, name="send"),
    path("claims/<int:pk>/", views.claim, name="claim"),
    path("claims/<int:pk>/edit/", views.edit, name="edit"),
    path("claims/<int:pk>/check/", views.check, name="check"),
    path("claims/<int:pk>/move/", views.move, name="move"),
    path("claims/<int:pk>/cms1500.pdf", views.cms1500, name="cms1500"),
    path("visits/<int:encounter_id>/", views.superbill, name="superbill"),
    path("batches/", views.batches, name="batches"),
    path("batches/<int:pk>/837p.x12", views.batch_file, name="batch_file"),
    path("setup/", views.setup, name="setup"),
    path("files/", remit_views.files, name="files"),
    path("denials/", remit_views.denials, name="denials"),
    path("eligibility/", payer_views.eligibility, name="eligibility"),
    path("eligibility/batch/", payer_views.eligibility_batch, name="eligibility_batch"),
    path("eligibility/poll/", payer_views.eligibility_poll, name="eligibility_poll"),
    path(
        "eligibility/patients/<int:patient_id>/",
        payer_views.patient_eligibility,
        name="patient_eligibility",
    ),
    path("prior-auth/", payer_views.prior_auths, name="prior_auths"),
    path("prior-auth/rules/", payer_views.add_rule, name="add_rule"),
    path("prior-auth/rules/<int:pk>/retire/", payer_views.retire_rule, name="retire_rule"),
    path("prior-auth/<int:pk>/", payer_views.prior_auth, name="prior_auth"),
    path(
        "prior-auth/patients/<int:patient_id>/new/",
        payer_views.new_prior_auth,
        name="new_prior_auth",
    ),
]
