from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import Http404

from assistant.models import Inquiry
from assistant.roles import roles_of
from compliance import pseudonyms
from compliance.crypto import ContentKey
from compliance.decisions import decide_route, policy_summary
from compliance.entities import ENTITY_TYPES
from compliance.policy import policies
from domains.models import Domain


def domain_list(*, user: AbstractBaseUser) -> list[Domain]:
    """Active domains the user's roles grant."""
    roles = roles_of(user)
    return [d for d in Domain.objects.filter(is_active=True) if roles & set(d.roles)]


def inquiry_get(*, user: AbstractBaseUser, inquiry_id: uuid.UUID) -> Inquiry | None:
    """The user's own inquiry, or None (another user's inquiry is indistinguishable from a
    missing one)."""
    return Inquiry.objects.select_related("domain").filter(pk=inquiry_id, user=user).first()


def inquiry_wait(
    *, user: AbstractBaseUser, inquiry_id: uuid.UUID, seconds: float
) -> Inquiry | None:
    """Like ``inquiry_get``, but waits up to ``seconds`` for the inquiry to finish."""
    deadline = time.monotonic() + seconds
    while True:
        inquiry = inquiry_get(user=user, inquiry_id=inquiry_id)
        if inquiry is None or inquiry.is_finished or time.monotonic() >= deadline:
            return inquiry
        time.sleep(0.5)


def inquiry_content(
    inquiry: Inquiry, *, viewer: AbstractBaseUser, restore: bool = False
) -> dict[str, Any]:
    """The redacted question and the delivered answer, decrypted for display.

    With ``restore``, the requester's own values replace their placeholders, but only for the
    requester and only where the deciding policy allowed it; anyone else always sees
    placeholders, and values a model produced were never kept.
    """
    if not inquiry.content_key_wrapped:  # purged: the key and the content are gone
        return {"redacted_question": "", "answer": "", "pii_restored": False}
    key = ContentKey.unwrap(inquiry.content_key_wrapped)
    question = inquiry.redacted_question_ciphertext
    answer = inquiry.answer_ciphertext
    content = {
        "redacted_question": key.decrypt(question) if question else "",
        "answer": key.decrypt(answer) if answer else "",
        "pii_restored": False,
    }
    allowed = inquiry.policy_decision.get("requester_may_see_restored_pii", False)
    if restore and allowed and viewer.pk == inquiry.user_id and inquiry.vault_ciphertext:
        vault = pseudonyms.PseudonymVault.from_json(
            json.loads(key.decrypt(inquiry.vault_ciphertext))
        )
        content["redacted_question"] = pseudonyms.restore(content["redacted_question"], vault)
        content["answer"] = pseudonyms.restore(content["answer"], vault)
        content["pii_restored"] = True
    return content


def domain_jurisdictions(domain: Domain) -> list[dict[str, str]]:
    """Jurisdictions the domain serves and whose policy offers it."""
    offered = []
    for code in domain.jurisdictions:
        policy = policies().get(code)
        if policy is not None and policy.offers(domain.slug):
            offered.append({"code": code, "name": policy.name})
    return offered


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
    route = decide_route(
        policy,
        domain=domain.slug,
        backends=domain.model_backends,
        local_region=settings.LOCAL_MODEL_REGION,
    )
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
