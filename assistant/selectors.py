from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from assistant.authorization import Action, authorize_owner
from assistant.models import Conversation, Inquiry
from assistant.roles import roles_of
from compliance import pseudonyms
from compliance.crypto import ContentKey
from compliance.decisions import RouteDecision, decide_route, policy_summary
from compliance.entities import ENTITY_TYPES, describe_counts
from compliance.policy import Policy, policies
from domains.models import Domain


def domain_list(*, user: AbstractBaseUser) -> list[Domain]:
    """Active domains the user's roles grant."""
    roles = roles_of(user)
    return [d for d in Domain.objects.filter(is_active=True) if roles & set(d.roles)]


def inquiries_of(user: AbstractBaseUser) -> QuerySet[Inquiry]:
    """The user's own inquiries, less those of conversations they deleted."""
    return (
        Inquiry.objects.select_related("domain")
        .filter(user=user)
        .exclude(conversation__deleted_at__isnull=False)
    )


def conversations_of(user: AbstractBaseUser) -> QuerySet[Conversation]:
    return Conversation.objects.select_related("domain").filter(user=user, deleted_at__isnull=True)


def inquiry_get(*, user: AbstractBaseUser, inquiry_id: uuid.UUID) -> Inquiry:
    """The user's own inquiry; anyone else's raises ``NotVisible`` (see authorization)."""
    return authorize_owner(
        user,
        Inquiry.objects.select_related("domain")
        .exclude(conversation__deleted_at__isnull=False)
        .filter(pk=inquiry_id)
        .first(),
        Action.INQUIRY_VIEW,
        kind="inquiry",
    )


def conversation_get(*, user: AbstractBaseUser, conversation_id: uuid.UUID) -> Conversation:
    return authorize_owner(
        user,
        Conversation.objects.select_related("domain")
        .filter(pk=conversation_id, deleted_at__isnull=True)
        .first(),
        Action.CONVERSATION_VIEW,
        kind="conversation",
    )


def inquiry_wait(*, user: AbstractBaseUser, inquiry_id: uuid.UUID, seconds: float) -> Inquiry:
    """Like ``inquiry_get``, but waits up to ``seconds`` for the inquiry to finish."""
    deadline = time.monotonic() + seconds
    while True:
        inquiry = inquiry_get(user=user, inquiry_id=inquiry_id)
        if inquiry.is_finished or time.monotonic() >= deadline:
            return inquiry
        if not connection.in_atomic_block:
            # Give the connection back while waiting: under the ASGI server each waiting
            # request has a thread of its own, and fifty holding a connection each exhausted
            # PostgreSQL's default of 100.
            connection.close()
        time.sleep(0.5)


def conversation_title(conversation: Conversation, first: Inquiry | None) -> str:
    """The first redacted question, shortened; questions are only titled once screened."""
    if first is not None and first.redacted_question_ciphertext and first.content_key_wrapped:
        key = ContentKey.unwrap(first.content_key_wrapped)
        title = " ".join(key.decrypt(first.redacted_question_ciphertext).split())
        return title if len(title) <= 90 else title[:89].rstrip() + "…"
    return f"{conversation.domain.name} question of {conversation.created_at:%Y-%m-%d %H:%M}"


def conversation_summaries(conversations: Iterable[Conversation]) -> list[dict[str, Any]]:
    """Each conversation with its title and number of turns, for history lists."""
    conversations = list(conversations)
    firsts: dict[uuid.UUID, Inquiry] = {}
    counts: dict[uuid.UUID, int] = {}
    for inquiry in Inquiry.objects.filter(conversation__in=conversations).order_by("created_at"):
        firsts.setdefault(inquiry.conversation_id, inquiry)
        counts[inquiry.conversation_id] = counts.get(inquiry.conversation_id, 0) + 1
    return [
        {
            "conversation": c,
            "title": conversation_title(c, firsts.get(c.pk)),
            "turns": counts.get(c.pk, 0),
        }
        for c in conversations
    ]


def inquiry_content(
    inquiry: Inquiry, *, viewer: AbstractBaseUser, restore: bool = False
) -> dict[str, Any]:
    """The redacted question and the delivered answer, decrypted for display.

    With ``restore``, the requester's own values replace their placeholders, but only for the
    requester and only where the deciding policy allowed it; anyone else always sees
    placeholders, and values a model produced were never kept.
    """
    if not inquiry.content_key_wrapped:  # purged: the key and the content are gone
        return {"redacted_question": "", "answer": "", "draft": "", "pii_restored": False}
    key = ContentKey.unwrap(inquiry.content_key_wrapped)
    fields = {
        "redacted_question": inquiry.redacted_question_ciphertext,
        "answer": inquiry.answer_ciphertext,
        "draft": inquiry.draft_ciphertext,
    }
    content: dict[str, Any] = {
        name: key.decrypt(ciphertext) if ciphertext else "" for name, ciphertext in fields.items()
    }
    content["pii_restored"] = False
    allowed = inquiry.policy_decision.get("requester_may_see_restored_pii", False)
    if restore and allowed and viewer.pk == inquiry.user_id and inquiry.vault_ciphertext:
        vault = pseudonyms.PseudonymVault.from_json(
            json.loads(key.decrypt(inquiry.vault_ciphertext))
        )
        for name in fields:
            content[name] = pseudonyms.restore(content[name], vault)
        content["pii_restored"] = True
    return content


def inquiry_payload(
    inquiry: Inquiry, *, viewer: AbstractBaseUser, restore: bool = False
) -> dict[str, Any]:
    """Everything the requester may see of an inquiry: its content, how it was decided, what
    was redacted and where the answer comes from."""
    decision = inquiry.policy_decision
    failure = (
        {"reason": inquiry.failure_reason, "message": inquiry.get_failure_reason_display()}
        if inquiry.status == Inquiry.Status.FAILED
        else None
    )
    refusal = decision.get("refusal") if inquiry.status == Inquiry.Status.REFUSED else None
    return {
        **inquiry_content(inquiry, viewer=viewer, restore=restore),
        "id": inquiry.id,
        "conversation": inquiry.conversation_id,
        "status": inquiry.status,
        "progress": inquiry.progress,
        "domain": inquiry.domain.slug,
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
        "redactions": {"question": inquiry.question_entities, "answer": inquiry.answer_entities},
        "redaction_notice": {
            "question": describe_counts(inquiry.question_entities),
            "answer": describe_counts(inquiry.answer_entities),
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


def queue_position(inquiry: Inquiry) -> int:
    """How many queued inquiries were submitted before this one (0 when it is next)."""
    return Inquiry.objects.filter(
        status=Inquiry.Status.QUEUED, created_at__lt=inquiry.created_at
    ).count()


def jurisdictions_for(user: AbstractBaseUser) -> list[dict[str, Any]]:
    """Jurisdictions the user can ask in, with the granted domains offered in each."""
    offered: dict[str, dict[str, Any]] = {}
    for domain in domain_list(user=user):
        for jurisdiction in domain_jurisdictions(domain):
            entry = offered.setdefault(jurisdiction["code"], {**jurisdiction, "domains": []})
            entry["domains"].append(domain.slug)
    return sorted(offered.values(), key=lambda j: j["code"])


def domain_jurisdictions(domain: Domain) -> list[dict[str, str]]:
    """Jurisdictions the domain serves and whose policy offers it."""
    offered = []
    for code in domain.jurisdictions:
        policy = policies().get(code)
        if policy is not None and policy.offers(domain.slug):
            offered.append({"code": code, "name": policy.name})
    return offered


def domain_route(*, policy: Policy, domain: Domain) -> RouteDecision:
    """Whether ``policy`` offers the domain, and the first of its model backends that runs in a
    region the policy allows (a backend without a region runs where the workers run)."""
    return decide_route(
        policy,
        domain=domain.slug,
        backends=domain.model_backends,
        local_region=settings.LOCAL_MODEL_REGION,
    )


def policy_explain(
    *, jurisdiction: str, domain_slug: str, role: str | None, user: AbstractBaseUser
) -> dict[str, Any]:
    """The effective policy after inheritance for one domain and role."""
    policy = policies().get(jurisdiction)
    if policy is None:
        raise Http404(f"No policy for jurisdiction {jurisdiction!r}.")
    domain = Domain.objects.filter(slug=domain_slug, is_active=True).first()
    if domain is None:
        raise ValidationError({"domain": [f"Unknown domain {domain_slug!r}."]})
    roles = {role} if role else roles_of(user)
    route = domain_route(policy=policy, domain=domain)
    summary = policy_summary(policy, domain.slug)
    categories = policies().categories
    role_grants = bool(roles & set(domain.roles))
    serves = jurisdiction in domain.jurisdictions
    return {
        "policy": {
            "id": policy.jurisdiction,
            "name": policy.name,
            "description": policy.description,
            "version": policy.version,
            "inherits_from": list(policy.chain[1:]),
            "sources": list(policy.sources),
        },
        "domain": domain.slug,
        "role": role,
        "role_grants_domain": role_grants,
        "domain_serves_jurisdiction": serves,
        "route": {
            "allowed": route.allowed,
            "reason": route.reason,
            "message": route.message,
            "backend": route.backend
            and {"model": route.backend["model"], "region": route.backend["region"]},
            "allowed_regions": list(policy.allowed_regions),
            "rules": route.rules,
        },
        "accepted": role_grants and serves and route.allowed,
        "pii": {
            "entities": [{"type": t, "description": ENTITY_TYPES[t]} for t in summary["entities"]],
            "requester_may_see_restored_pii": policy.requester_may_see_restored_pii,
        },
        "refusals": [
            {
                "category": rule.category,
                "description": categories[rule.category].description,
                "action": rule.action,
                "text": rule.text,
                "reason": rule.reason,
            }
            for rule in policy.refusals_for(domain.slug)
        ],
        "disclaimer": summary["disclaimer"],
        "retention_days": policy.retention_days,
        "officers_may_reveal_content": policy.officers_may_reveal_content,
    }
