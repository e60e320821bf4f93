from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from assistant import apis
from assistant.exceptions import api_not_found

app_name = "api"

urlpatterns = [
    path("health", apis.HealthApi.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("auth/token", apis.TokenCreateApi.as_view(), name="token-create"),
    path("auth/tokens", apis.TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<uuid:token_id>", apis.TokenDetailApi.as_view(), name="token-detail"),
    path("domains", apis.DomainListApi.as_view(), name="domain-list"),
    path("jurisdictions", apis.JurisdictionListApi.as_view(), name="jurisdiction-list"),
    path("domains/<slug:slug>/documents", apis.DocumentUploadApi.as_view(), name="document-upload"),
    path("documents/<uuid:token>", apis.DocumentUploadDetailApi.as_view(), name="document-detail"),
    path("policies", apis.PolicyListApi.as_view(), name="policy-list"),
    path("policies/<str:jurisdiction>", apis.PolicyExplainApi.as_view(), name="policy-explain"),
    path("inquiries", apis.InquiryListApi.as_view(), name="inquiry-create"),
    path("inquiries/<uuid:inquiry_id>", apis.InquiryDetailApi.as_view(), name="inquiry-detail"),
    path(
        "inquiries/<uuid:inquiry_id>/stream",
        apis.InquiryStreamApi.as_view(),
        name="inquiry-stream",
    ),
    path("conversations", apis.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/<uuid:conversation_id>",
        apis.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
    # Everything else under /api/ answers with a JSON 404, also when DEBUG is on.
    re_path(r"^.*$", api_not_found),
]
