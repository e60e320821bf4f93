from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.exceptions import error_body
from assistant.models import Inquiry
from assistant.selectors import domain_list, inquiry_content, inquiry_wait
from assistant.services import QueueUnavailable, inquiry_submit
from compliance.jurisdictions import JURISDICTIONS


def inquiry_url(request: Request, inquiry: Inquiry) -> str:
    return request.build_absolute_uri(
        reverse("api:inquiry-detail", kwargs={"inquiry_id": inquiry.id})
    )


class InquiryCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        domain = serializers.CharField(max_length=64)
        jurisdiction = serializers.CharField(max_length=16)
        question = serializers.CharField(max_length=settings.INQUIRY_MAX_QUESTION_CHARS)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        status = serializers.CharField()
        url = serializers.CharField()

    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            inquiry = inquiry_submit(user=request.user, **serializer.validated_data)
        except QueueUnavailable as exc:
            body = error_body(
                503,
                "queue_unavailable",
                "The inquiry was stored but could not be queued; please retry.",
            )
            body["error"]["inquiry"] = inquiry_url(request, exc.inquiry)
            return Response(
                body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "30"}
            )
        url = inquiry_url(request, inquiry)
        data = self.OutputSerializer({"id": inquiry.id, "status": inquiry.status, "url": url}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class InquiryDetailApi(APIView):
    class QuerySerializer(serializers.Serializer):
        wait = serializers.IntegerField(
            required=False, default=0, min_value=0, max_value=settings.INQUIRY_MAX_WAIT_SECONDS
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        url = serializers.CharField()
        status = serializers.CharField()
        domain = serializers.CharField(source="domain.slug")
        jurisdiction = serializers.CharField()
        redacted_question = serializers.CharField()
        answer = serializers.CharField()
        citations = serializers.ListField(child=serializers.DictField())
        grounding = serializers.CharField()
        unverified_references = serializers.ListField(child=serializers.CharField())
        disclaimer = serializers.CharField(source="domain.disclaimer")
        redactions = serializers.DictField()
        model = serializers.DictField()
        failure = serializers.DictField(allow_null=True)
        timings = serializers.DictField()
        attempts = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)

    def get(self, request: Request, inquiry_id) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        inquiry = inquiry_wait(
            user=request.user, inquiry_id=inquiry_id, seconds=query.validated_data["wait"]
        )
        if inquiry is None:
            raise NotFound("No inquiry with this id belongs to you.")
        content = inquiry_content(inquiry)
        failure = (
            {"reason": inquiry.failure_reason, "message": inquiry.get_failure_reason_display()}
            if inquiry.status == Inquiry.Status.FAILED
            else None
        )
        data = self.OutputSerializer(
            {
                "id": inquiry.id,
                "url": inquiry_url(request, inquiry),
                "status": inquiry.status,
                "domain": inquiry.domain,
                "jurisdiction": inquiry.jurisdiction,
                "redacted_question": content["redacted_question"],
                "answer": content["answer"],
                "citations": inquiry.citations,
                "grounding": inquiry.grounding,
                "unverified_references": inquiry.unverified_references,
                "redactions": {
                    "question": inquiry.question_entities,
                    "answer": inquiry.answer_entities,
                },
                "model": {"id": inquiry.model_id, "version": inquiry.model_version},
                "failure": failure,
                "timings": inquiry.timings,
                "attempts": inquiry.attempts,
                "created_at": inquiry.created_at,
                "started_at": inquiry.started_at,
                "finished_at": inquiry.finished_at,
            }
        ).data
        return Response(data)


class DomainListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        jurisdictions = serializers.SerializerMethodField()
        disclaimer = serializers.CharField()

        def get_jurisdictions(self, domain) -> list[dict[str, str]]:
            return [{"code": code, "name": JURISDICTIONS[code]} for code in domain.jurisdictions]

    def get(self, request: Request) -> Response:
        return Response(
            {"results": self.OutputSerializer(domain_list(user=request.user), many=True).data}
        )


class TokenCreateApi(ObtainAuthToken):
    """Exchange a username and password for an API token."""


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return Response(
                error_body(503, "database_unavailable", "The database cannot be reached."),
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"status": "ok", "database": connection.vendor})
