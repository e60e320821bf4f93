"""The REST API, version 1. Views validate input, call the service layer (which decides access,
see assistant.authorization) and shape the output; the OpenAPI schema is generated from them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from assistant.authentication import locked_out_response, token_create, token_revoke
from assistant.authorization import Action, authorize_staff
from assistant.exceptions import error_body
from assistant.inquiries import (
    IdempotencyConflict,
    PolicyRefused,
    QueueUnavailable,
    conversation_delete,
    inquiry_submit,
    inquiry_submit_once,
)
from assistant.long_requests import HeldAsyncStream, HeldStream, slot_acquire
from assistant.models import ApiToken, Conversation, Inquiry
from assistant.selectors import (
    conversation_get,
    conversation_summaries,
    conversations_of,
    domain_jurisdictions,
    domain_list,
    inquiries_of,
    inquiry_get,
    inquiry_payload,
    inquiry_wait,
    jurisdictions_for,
    policy_explain,
)
from assistant.streaming import inquiry_events, inquiry_events_async
from compliance.jurisdictions import EVERYWHERE, jurisdiction_names
from compliance.policy import policies
from domains.ingestion import IngestionError
from domains.models import DocumentUpload, Domain
from domains.services import upload_submit


class Pages(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class QuerySerializer(serializers.Serializer):
    """Query parameters. One given empty (``?status=``) is an error, as the schema says, rather
    than silently ignored as DRF's form handling would."""

    def to_internal_value(self, data: Any) -> Any:
        empty = {
            name: ["This parameter may not be empty."]
            for name in self.fields
            if name in data and data.get(name) == ""
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


class PageQuerySerializer(QuerySerializer):
    """Pagination parameters, validated like any other input (the paginator alone would
    silently ignore a bad page size)."""

    page = serializers.IntegerField(required=False, min_value=1, help_text="From 1.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=Pages.max_page_size)


class ErrorSerializer(serializers.Serializer):
    """Every error: ``{"error": {"status", "code", "message", "fields"?}}``."""

    class Body(serializers.Serializer):
        status = serializers.IntegerField()
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        )

    error = Body()


def errors(*codes: int) -> dict[int, Any]:
    """Error responses for the schema; 401 and 429 apply to every authenticated endpoint."""
    return {code: ErrorSerializer for code in sorted({*codes, 401, 429})}


def results_of(name: str, item: type[serializers.Serializer], *, paginated: bool = False):
    """The schema of a list response: ``{"results": [...]}``, with the page links if paginated."""
    fields: dict[str, serializers.Field] = {"results": item(many=True)}
    if paginated:
        fields |= {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
        }
    return inline_serializer(name=name, fields=fields)


def inquiry_url(request: Request, inquiry: Inquiry) -> str:
    return request.build_absolute_uri(
        reverse("api:inquiry-detail", kwargs={"inquiry_id": inquiry.id})
    )


class InquiryThrottle(ScopedRateThrottle):
    """Creating an inquiry runs the models: it has its own budget per user."""

    scope_attr = "throttle_scope"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method != "POST":
            return None
        return super().get_cache_key(request, view)


class InquirySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    conversation = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=Inquiry.Status.choices)
    progress = serializers.CharField(help_text="The pipeline step a running inquiry is in.")
    domain = serializers.CharField()
    jurisdiction = serializers.CharField()
    redacted_question = serializers.CharField(
        help_text="The question as the model saw it: personal data replaced by placeholders."
    )
    answer = serializers.CharField()
    draft = serializers.CharField(
        help_text="While the answer is written: the model's draft so far, screened for personal "
        "data but not yet checked against the sources. The verified answer replaces it."
    )
    pii_restored = serializers.BooleanField()
    citations = serializers.ListField(
        child=serializers.DictField(),
        help_text="The evidence the answer quotes, numbered as its [n] markers: passage_id, "
        "citation, title, quote (the words quoted), start and end (the quote's offsets in the "
        "passage), text (the whole passage) and score.",
    )
    grounding = serializers.ChoiceField(
        choices=Inquiry.Grounding.choices,
        allow_blank=True,
        help_text="verified: every sentence was checked against the evidence it quotes; quoted: "
        "no sentence could be checked, the evidence is quoted alone; abstained: the sources do "
        "not answer the question; no_passages: nothing in the corpus matched. cited, attributed "
        "and unsupported are answers made before verification existed.",
    )
    unverified_references = serializers.ListField(
        child=serializers.CharField(),
        help_text="Rule references no retrieved passage contains; always empty for verified "
        "answers (a sentence with one is dropped).",
    )
    disclaimer = serializers.DictField(allow_null=True)
    refusal = serializers.DictField(allow_null=True)
    policy = serializers.DictField()
    redactions = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Counts of redacted entities by type, in the question and in the answer.",
    )
    redaction_notice = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text='The same counts in words, e.g. "1 name, 1 record number".',
    )
    model = serializers.DictField()
    failure = serializers.DictField(allow_null=True)
    timings = serializers.DictField(child=serializers.IntegerField())
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    retain_until = serializers.DateTimeField(allow_null=True)
    content_purged_at = serializers.DateTimeField(allow_null=True)


class InquiryListApi(APIView):
    """Ask a question (POST), or list your own inquiries (GET), newest first."""

    throttle_classes = [UserRateThrottle, InquiryThrottle]
    throttle_scope = "inquiries"

    class InquiryRequestSerializer(serializers.Serializer):
        domain = serializers.CharField(max_length=64, required=False)
        jurisdiction = serializers.CharField(max_length=16, required=False)
        question = serializers.CharField(max_length=settings.INQUIRY_MAX_QUESTION_CHARS)
        conversation = serializers.UUIDField(
            required=False,
            help_text="Ask a follow-up in one of your conversations; domain and jurisdiction "
            "then come from it.",
        )

    class InquiryCreatedSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        conversation = serializers.UUIDField()
        status = serializers.ChoiceField(choices=Inquiry.Status.choices)
        url = serializers.URLField()
        stream = serializers.URLField()

    class InquiryFilterSerializer(PageQuerySerializer):
        status = serializers.ChoiceField(choices=Inquiry.Status.choices, required=False)
        domain = serializers.CharField(max_length=64, required=False)
        jurisdiction = serializers.CharField(max_length=16, required=False)
        conversation = serializers.UUIDField(required=False)
        created_after = serializers.DateTimeField(required=False)
        created_before = serializers.DateTimeField(required=False)

    class InquirySummarySerializer(serializers.Serializer):
        id = serializers.UUIDField()
        url = serializers.URLField()
        conversation = serializers.UUIDField(allow_null=True)
        status = serializers.ChoiceField(choices=Inquiry.Status.choices)
        domain = serializers.CharField(source="domain.slug")
        jurisdiction = serializers.CharField()
        grounding = serializers.CharField()
        redactions = serializers.DictField(source="question_entities")
        created_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        parameters=[InquiryFilterSerializer],
        operation_id="inquiries_list",
        responses={
            200: results_of("InquiryPage", InquirySummarySerializer, paginated=True),
            **errors(400, 404),
        },
    )
    def get(self, request: Request) -> Response:
        query = self.InquiryFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        inquiries = inquiries_of(request.user)
        for name in ("status", "jurisdiction", "conversation"):
            if name in filters:
                inquiries = inquiries.filter(**{name: filters[name]})
        if "domain" in filters:
            inquiries = inquiries.filter(domain__slug=filters["domain"])
        if "created_after" in filters:
            inquiries = inquiries.filter(created_at__gte=filters["created_after"])
        if "created_before" in filters:
            inquiries = inquiries.filter(created_at__lt=filters["created_before"])
        pages = Pages()
        page = pages.paginate_queryset(inquiries.order_by("-created_at"), request, view=self)
        for inquiry in page:
            inquiry.url = inquiry_url(request, inquiry)
        return pages.get_paginated_response(self.InquirySummarySerializer(page, many=True).data)

    @extend_schema(
        request=InquiryRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A unique value per intended request (e.g. a UUID). A retry with "
                f"the same key and body within {settings.IDEMPOTENCY_KEY_HOURS} hours returns "
                "the first inquiry instead of creating another; the same key with a different "
                "body is refused with 422.",
            )
        ],
        responses={
            202: InquiryCreatedSerializer,
            200: InquiryCreatedSerializer,
            **errors(400, 403, 413, 415, 422, 503),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InquiryRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = request.headers.get("Idempotency-Key", "")
        if key and (len(key) > 255 or not key.isprintable()):
            raise serializers.ValidationError(
                {"Idempotency-Key": ["At most 255 printable characters."]}
            )
        try:
            if key:
                inquiry, replayed = inquiry_submit_once(user=request.user, key=key, **data)
            else:
                inquiry, replayed = inquiry_submit(user=request.user, **data), False
        except IdempotencyConflict:
            return Response(
                error_body(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request.",
                ),
                status=422,
            )
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
        code = status.HTTP_200_OK if replayed else status.HTTP_202_ACCEPTED
        return self._created(request, inquiry, code, replayed=replayed)

    def _created(
        self, request: Request, inquiry: Inquiry, code: int, *, replayed: bool = False
    ) -> Response:
        url = inquiry_url(request, inquiry)
        stream = request.build_absolute_uri(
            reverse("api:inquiry-stream", kwargs={"inquiry_id": inquiry.id})
        )
        data = self.InquiryCreatedSerializer(
            {
                "id": inquiry.id,
                "conversation": inquiry.conversation_id,
                "status": inquiry.status,
                "url": url,
                "stream": stream,
            }
        ).data
        headers = {"Location": url}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(data, status=code, headers=headers)


class InquiryDetailApi(APIView):
    class InquiryQuerySerializer(QuerySerializer):
        wait = serializers.IntegerField(
            required=False,
            default=0,
            min_value=0,
            max_value=settings.INQUIRY_MAX_WAIT_SECONDS,
            help_text="Hold the request up to this many seconds until the inquiry finishes.",
        )
        restore = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Put your own personal data back in place of its placeholders, where "
            "the jurisdiction's policy allows it.",
        )

    @extend_schema(
        parameters=[InquiryQuerySerializer], responses={200: InquirySerializer, **errors(400, 404)}
    )
    def get(self, request: Request, inquiry_id: uuid.UUID) -> Response:
        query = self.InquiryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        seconds = query.validated_data["wait"]
        release = slot_acquire(request.user) if seconds else (lambda: None)
        try:
            inquiry = inquiry_wait(user=request.user, inquiry_id=inquiry_id, seconds=seconds)
        finally:
            release()
        payload = inquiry_payload(
            inquiry, viewer=request.user, restore=query.validated_data["restore"]
        )
        return Response(InquirySerializer({**payload, "url": inquiry_url(request, inquiry)}).data)


class EventStreamRenderer(BaseRenderer):
    """Lets a client ask for ``text/event-stream`` (content negotiation would refuse it
    otherwise); the events themselves are written by ``inquiry_events``."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return json.dumps(data).encode()


class InquiryStreamApi(APIView):
    """Server-sent events: ``status`` (queue position, pipeline step), ``draft`` (the screened
    answer so far), then ``done`` with the inquiry as GET /inquiries/{id} returns it."""

    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # An error comes before any event: it is a JSON body, whatever the client accepts.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        parameters=[InquiryDetailApi.InquiryQuerySerializer],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="A stream of server-sent events."
            ),
            **errors(400, 404),
        },
    )
    def get(self, request: Request, inquiry_id: uuid.UUID) -> StreamingHttpResponse:
        query = InquiryDetailApi.InquiryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        inquiry = inquiry_get(user=request.user, inquiry_id=inquiry_id)
        release = slot_acquire(request.user)
        arguments = {
            "viewer": request.user,
            "restore": query.validated_data["restore"],
            "url": inquiry_url(request, inquiry),
        }
        # Under ASGI an async stream waits on the event loop instead of holding a thread;
        # Django would read a sync one to its end before sending anything.
        if isinstance(request._request, ASGIRequest):
            content = HeldAsyncStream(inquiry_events_async(inquiry, **arguments), release)
            if not connection.in_atomic_block:
                # The stream reads through the thread pool's connections: this request's own
                # would otherwise stay open, idle, until the stream ends.
                connection.close()
        else:
            content = HeldStream(inquiry_events(inquiry, **arguments), release)
        response = StreamingHttpResponse(content, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        # Proxies such as nginx must pass events on at once instead of buffering them.
        response["X-Accel-Buffering"] = "no"
        return response


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="conversation.id")
    url = serializers.URLField()
    title = serializers.CharField(help_text="The first question, as redacted.")
    domain = serializers.CharField(source="conversation.domain.slug")
    jurisdiction = serializers.CharField(source="conversation.jurisdiction")
    turns = serializers.IntegerField()
    created_at = serializers.DateTimeField(source="conversation.created_at")
    updated_at = serializers.DateTimeField(source="conversation.updated_at")


def _conversation_rows(request: Request, conversations: list[Conversation]) -> list[dict]:
    rows = conversation_summaries(conversations)
    for row in rows:
        row["url"] = request.build_absolute_uri(
            reverse("api:conversation-detail", kwargs={"conversation_id": row["conversation"].id})
        )
    return rows


class ConversationListApi(APIView):
    class ConversationFilterSerializer(PageQuerySerializer):
        domain = serializers.CharField(max_length=64, required=False)

    @extend_schema(
        parameters=[ConversationFilterSerializer],
        operation_id="conversations_list",
        responses={
            200: results_of("ConversationPage", ConversationSerializer, paginated=True),
            **errors(400, 404),
        },
    )
    def get(self, request: Request) -> Response:
        query = self.ConversationFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        conversations = conversations_of(request.user)
        if "domain" in query.validated_data:
            conversations = conversations.filter(domain__slug=query.validated_data["domain"])
        pages = Pages()
        page = pages.paginate_queryset(conversations.order_by("-updated_at"), request, view=self)
        rows = _conversation_rows(request, page)
        return pages.get_paginated_response(ConversationSerializer(rows, many=True).data)


class ConversationDetailApi(APIView):
    class ConversationDetailSerializer(ConversationSerializer):
        inquiries = InquirySerializer(many=True)

    @extend_schema(responses={200: ConversationDetailSerializer, **errors(404)})
    def get(self, request: Request, conversation_id: uuid.UUID) -> Response:
        conversation = conversation_get(user=request.user, conversation_id=conversation_id)
        row = _conversation_rows(request, [conversation])[0]
        row["inquiries"] = [
            {
                **inquiry_payload(inquiry, viewer=request.user),
                "url": inquiry_url(request, inquiry),
            }
            for inquiry in conversation.inquiries.select_related("domain").order_by("created_at")
        ]
        return Response(self.ConversationDetailSerializer(row).data)

    @extend_schema(responses={204: None, **errors(404)})
    def delete(self, request: Request, conversation_id: uuid.UUID) -> Response:
        conversation_delete(user=request.user, conversation_id=conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JurisdictionListApi(APIView):
    class JurisdictionOfferSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        domains = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        responses={200: results_of("JurisdictionList", JurisdictionOfferSerializer), **errors()}
    )
    def get(self, request: Request) -> Response:
        jurisdictions = jurisdictions_for(request.user)
        return Response(
            {"results": self.JurisdictionOfferSerializer(jurisdictions, many=True).data}
        )


class DomainListApi(APIView):
    """The domains your role grants, with the jurisdictions each is offered in."""

    class DomainSerializer(serializers.Serializer):
        class JurisdictionSerializer(serializers.Serializer):
            code = serializers.CharField()
            name = serializers.CharField()

        slug = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        jurisdictions = serializers.SerializerMethodField()

        @extend_schema_field(JurisdictionSerializer(many=True))
        def get_jurisdictions(self, domain) -> list[dict[str, str]]:
            return domain_jurisdictions(domain)

    @extend_schema(responses={200: results_of("DomainList", DomainSerializer), **errors()})
    def get(self, request: Request) -> Response:
        return Response(
            {"results": self.DomainSerializer(domain_list(user=request.user), many=True).data}
        )


class PolicyListApi(APIView):
    class PolicySummarySerializer(serializers.Serializer):
        id = serializers.CharField()
        name = serializers.CharField()
        version = serializers.CharField()
        extends = serializers.ListField(child=serializers.CharField())
        offered_domains = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        operation_id="policies_list",
        responses={200: results_of("PolicyList", PolicySummarySerializer), **errors()},
    )
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

    class PolicyQuerySerializer(QuerySerializer):
        domain = serializers.CharField(max_length=64)
        role = serializers.CharField(max_length=64, required=False)

    @extend_schema(
        parameters=[PolicyQuerySerializer],
        responses={200: OpenApiTypes.OBJECT, **errors(400, 404)},
    )
    def get(self, request: Request, jurisdiction: str) -> Response:
        query = self.PolicyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            policy_explain(
                jurisdiction=jurisdiction,
                domain_slug=query.validated_data["domain"],
                role=query.validated_data.get("role"),
                user=request.user,
            )
        )


class TokenSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    label = serializers.CharField()
    created_at = serializers.DateTimeField(source="created")
    expires_at = serializers.DateTimeField(source="expiry", allow_null=True)


class TokenCreateApi(APIView):
    """Exchange a username and password for an API token. It expires (``expires_at``) and can
    be revoked; only a digest of it is stored, so it is shown this once."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    class TokenRequestSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        label = serializers.CharField(max_length=100, required=False, allow_blank=True)

    class TokenCreatedSerializer(TokenSerializer):
        token = serializers.CharField()

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: TokenCreatedSerializer, **errors(400, 415)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = self.TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        credentials = {"username": data["username"]}
        django_request = request._request
        if AxesProxyHandler.is_locked(django_request, credentials):
            return locked_out_response(django_request, None, credentials)
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if user is None:  # the failure is counted by django-axes and audited by its signal
            if getattr(django_request, "axes_locked_out", False):
                return locked_out_response(django_request, None, credentials)
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with the provided credentials."]}
            )
        token, secret = token_create(user=user, label=data.get("label", ""))
        body = TokenSerializer(token).data | {"token": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenListApi(APIView):
    @extend_schema(responses={200: results_of("TokenList", TokenSerializer), **errors()})
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=request.user, expiry__gt=timezone.now())
        return Response({"results": TokenSerializer(tokens, many=True).data})


class TokenDetailApi(APIView):
    @extend_schema(responses={204: None, **errors(404)})
    def delete(self, request: Request, token_id: uuid.UUID) -> Response:
        token_revoke(user=request.user, public_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {"status": serializers.CharField(), "database": serializers.CharField()},
            ),
            503: ErrorSerializer,
        },
        auth=[],
    )
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


class UploadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    domain = serializers.CharField()
    file = serializers.CharField()
    status = serializers.ChoiceField(choices=DocumentUpload.Status.choices)
    result = serializers.DictField(allow_null=True)
    error = serializers.CharField()
    url = serializers.URLField()


class DocumentUploadApi(APIView):
    """Administrators add a document to a domain's corpus; a worker ingests it."""

    parser_classes = [MultiPartParser]

    class DocumentUploadRequestSerializer(serializers.Serializer):
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

    @extend_schema(
        request=DocumentUploadRequestSerializer,
        responses={202: UploadSerializer, **errors(400, 403, 404, 413, 415)},
    )
    def post(self, request: Request, slug: str) -> Response:
        authorize_staff(request.user, Action.DOCUMENT_MANAGE, domain=slug)
        domain = Domain.objects.filter(slug=slug).first()
        if domain is None:
            raise NotFound(f"No domain {slug!r}.")
        serializer = self.DocumentUploadRequestSerializer(data=request.data)
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
    @extend_schema(responses={200: UploadSerializer, **errors(403, 404)})
    def get(self, request: Request, token: uuid.UUID) -> Response:
        authorize_staff(request.user, Action.DOCUMENT_MANAGE)
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
