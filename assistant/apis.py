from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.exceptions import error_body
from assistant.models import Inquiry
from assistant.selectors import (
    domain_jurisdictions,
    domain_list,
    inquiry_content,
    inquiry_wait,
    policy_explain,
)
from assistant.services import PolicyRefused, QueueUnavailable, inquiry_submit
from compliance.jurisdictions import EVERYWHERE, jurisdiction_names
from compliance.models import AuditEvent
from compliance.policy import policies
from compliance.services import audit_event_record
from domains.ingestion import IngestionError
from domains.models import DocumentUpload, Domain
from domains.services import upload_submit


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
        except PolicyRefused as exc:
            body = error_body(403, "policy_refused", exc.message)
            body["error"]["reason"] = exc.reason
            body["error"]["policy"] = {"id": exc.policy.jurisdiction, "version": exc.policy.version}
            return Response(body, status=status.HTTP_403_FORBIDDEN)
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
        restore = serializers.BooleanField(required=False, default=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        url = serializers.CharField()
        status = serializers.CharField()
        domain = serializers.CharField(source="domain.slug")
        jurisdiction = serializers.CharField()
        redacted_question = serializers.CharField()
        answer = serializers.CharField()
        pii_restored = serializers.BooleanField()
        citations = serializers.ListField(child=serializers.DictField())
        grounding = serializers.CharField()
        unverified_references = serializers.ListField(child=serializers.CharField())
        disclaimer = serializers.DictField(allow_null=True)
        refusal = serializers.DictField(allow_null=True)
        policy = serializers.DictField()
        redactions = serializers.DictField()
        model = serializers.DictField()
        failure = serializers.DictField(allow_null=True)
        timings = serializers.DictField()
        attempts = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)
        retain_until = serializers.DateTimeField(allow_null=True)
        content_purged_at = serializers.DateTimeField(allow_null=True)

    def get(self, request: Request, inquiry_id) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        inquiry = inquiry_wait(
            user=request.user, inquiry_id=inquiry_id, seconds=query.validated_data["wait"]
        )
        if inquiry is None:
            raise NotFound("No inquiry with this id belongs to you.")
        content = inquiry_content(
            inquiry, viewer=request.user, restore=query.validated_data["restore"]
        )
        decision = inquiry.policy_decision
        failure = (
            {"reason": inquiry.failure_reason, "message": inquiry.get_failure_reason_display()}
            if inquiry.status == Inquiry.Status.FAILED
            else None
        )
        refusal = decision.get("refusal") if inquiry.status == Inquiry.Status.REFUSED else None
        data = self.OutputSerializer(
            {
                **content,
                "id": inquiry.id,
                "url": inquiry_url(request, inquiry),
                "status": inquiry.status,
                "domain": inquiry.domain,
                "jurisdiction": inquiry.jurisdiction,
                "citations": inquiry.citations,
                "grounding": inquiry.grounding,
                "unverified_references": inquiry.unverified_references,
                "disclaimer": decision.get("disclaimer"),
                "refusal": refusal,
                "policy": {
                    "id": inquiry.policy_id,
                    "version": inquiry.policy_version,
                    "action": decision.get("action", ""),
                    "entities": decision.get("entities", []),
                    "backend": decision.get("backend"),
                    "rules": decision.get("rules", []),
                },
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
                "retain_until": inquiry.retain_until,
                "content_purged_at": inquiry.content_purged_at,
            }
        ).data
        return Response(data)


class DomainListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        jurisdictions = serializers.SerializerMethodField()

        def get_jurisdictions(self, domain) -> list[dict[str, str]]:
            return domain_jurisdictions(domain)

    def get(self, request: Request) -> Response:
        return Response(
            {"results": self.OutputSerializer(domain_list(user=request.user), many=True).data}
        )


class PolicyListApi(APIView):
    def get(self, request: Request) -> Response:
        return Response(
            {
                "results": [
                    {
                        "id": policy.jurisdiction,
                        "name": policy.name,
                        "version": policy.version,
                        "extends": list(policy.chain[1:]),
                        "offered_domains": list(policy.offered_domains),
                    }
                    for policy in policies().policies.values()
                ]
            }
        )


class PolicyExplainApi(APIView):
    """The effective policy after inheritance for a domain (and a role): what will happen to a
    request before any data is sent."""

    class QuerySerializer(serializers.Serializer):
        domain = serializers.CharField(max_length=64)
        role = serializers.CharField(max_length=64, required=False)

    def get(self, request: Request, jurisdiction: str) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            policy_explain(
                jurisdiction=jurisdiction,
                domain_slug=query.validated_data["domain"],
                role=query.validated_data.get("role"),
                user=request.user,
            )
        )


class TokenCreateApi(ObtainAuthToken):
    """Exchange a username and password for an API token."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)  # a failed login is audited by its signal
        user = serializer.validated_data["user"]
        with transaction.atomic():
            token, _ = Token.objects.get_or_create(user=user)
            # Getting a token is the API's login: it goes in the trail like a portal login.
            audit_event_record(
                actor=user,
                event_type=AuditEvent.Type.AUTH_LOGIN,
                outcome=AuditEvent.Outcome.SUCCESS,
                details={"channel": "api", "method": "token"},
            )
        return Response({"token": token.key})


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


class DocumentUploadApi(APIView):
    """Administrators add a document to a domain's corpus; a worker ingests it."""

    permission_classes = [IsAdminUser]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        jurisdictions = serializers.ListField(child=serializers.CharField(), required=False)
        citation_prefix = serializers.CharField(required=False, allow_blank=True, max_length=80)
        effective_date = serializers.DateField(required=False, allow_null=True)

        def validate_file(self, value):
            limit = settings.DOCUMENT_UPLOAD_MAX_BYTES
            if value.size > limit:
                raise serializers.ValidationError(f"The file is larger than {limit} bytes.")
            return value

        def validate_jurisdictions(self, value):
            unknown = [c for c in value if c != EVERYWHERE and c not in jurisdiction_names()]
            if unknown:
                raise serializers.ValidationError(f"Unknown jurisdictions: {', '.join(unknown)}.")
            return value

    def post(self, request: Request, slug: str) -> Response:
        domain = Domain.objects.filter(slug=slug).first()
        if domain is None:
            raise NotFound(f"No domain {slug!r}.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            upload = upload_submit(
                domain=domain,
                file=data["file"],
                name=data["file"].name,
                jurisdictions=data.get("jurisdictions") or [],
                citation_prefix=data.get("citation_prefix", ""),
                effective_date=data.get("effective_date"),
                actor=request.user,
            )
        except IngestionError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from None
        return Response(_upload_body(upload, request), status=status.HTTP_202_ACCEPTED)


class DocumentUploadDetailApi(APIView):
    permission_classes = [IsAdminUser]

    def get(self, request: Request, token) -> Response:
        upload = DocumentUpload.objects.select_related("domain").filter(token=token).first()
        if upload is None:
            raise NotFound("No such upload.")
        return Response(_upload_body(upload, request))


def _upload_body(upload: DocumentUpload, request: Request) -> dict[str, Any]:
    return {
        "id": str(upload.token),
        "domain": upload.domain.slug,
        "file": upload.file.name.rsplit("/", 1)[-1],
        "status": upload.status,
        "result": upload.result,
        "error": upload.error,
        "url": request.build_absolute_uri(reverse("api:document-detail", args=[upload.token])),
    }
