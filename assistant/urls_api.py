from __future__ import annotations

from django.urls import path, re_path

from assistant import apis
from assistant.exceptions import api_not_found

app_name = "api"

urlpatterns = [
    path("health", apis.HealthApi.as_view(), name="health"),
    path("auth/token", apis.TokenCreateApi.as_view(), name="token-create"),
    path("domains", apis.DomainListApi.as_view(), name="domain-list"),
    path("domains/<slug:slug>/documents", apis.DocumentUploadApi.as_view(), name="document-upload"),
    path("documents/<uuid:token>", apis.DocumentUploadDetailApi.as_view(), name="document-detail"),
    path("policies", apis.PolicyListApi.as_view(), name="policy-list"),
    path("policies/<str:jurisdiction>", apis.PolicyExplainApi.as_view(), name="policy-explain"),
    path("inquiries", apis.InquiryCreateApi.as_view(), name="inquiry-create"),
    path("inquiries/<uuid:inquiry_id>", apis.InquiryDetailApi.as_view(), name="inquiry-detail"),
    # Everything else under /api/ answers with a JSON 404, also when DEBUG is on.
    re_path(r"^.*$", api_not_found),
]
