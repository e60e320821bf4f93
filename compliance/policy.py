"""Jurisdiction policies: declarative files under ``compliance/policies/``, one per jurisdiction.

A file may extend another (``US-CA`` extends ``US``). After inheritance every policy states which
domains it offers, where data may be processed, which personal data is redacted, which request
categories are refused or answered only in general terms, the disclaimer per domain, how long
content is kept, whether the requester may see restored personal data and whether compliance
officers may reveal content. Its version is the SHA-256 of that resolved content, so a change to
a file (or to a parent, or to a refusal category it uses) changes the version.

Loading validates everything and either returns every policy or raises ``PolicyError`` naming
the file and the key: the service never runs on a half-loaded set.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.config_files import ConfigFileError, parse_yaml
from compliance.entities import ENTITY_TYPES
from compliance.refusals import CATEGORIES_FILE, CategoryError, RefusalCategory, load_categories

POLICY_DIR = Path(__file__).resolve().parent / "policies"

ACTIONS = {"refuse", "general_only", "allow"}
TOP_LEVEL_KEYS = {
    "jurisdiction", "name", "extends", "abstract", "description", "domains", "residency", "pii",
    "refusals", "disclaimers", "retention", "requester_may_see_restored_pii",
    "officers_may_reveal_content",
}  # fmt: skip
SECTION_KEYS = {
    "domains": {"offered"},
    "residency": {"allowed_regions"},
    "pii": {"redact", "redact_by_domain"},
    "retention": {"content_days"},
}
REFUSAL_KEYS = {"category", "action", "domains", "text", "reason"}


class PolicyError(ConfigFileError):
    pass


@dataclass(frozen=True)
class RefusalRule:
    category: str
    action: str  # "refuse" or "general_only"
    text: str
    reason: str
    domains: tuple[str, ...] | None  # None: every domain

    def applies_to(self, domain: str) -> bool:
        return self.domains is None or domain in self.domains


@dataclass(frozen=True)
class Disclaimer:
    version: str
    text: str


@dataclass(frozen=True)
class Policy:
    jurisdiction: str
    name: str
    description: str
    chain: tuple[str, ...]  # this policy, then each ancestor
    sources: tuple[str, ...]  # file names, in the same order
    offered_domains: tuple[str, ...]
    allowed_regions: tuple[str, ...]
    redact: tuple[str, ...]
    redact_by_domain: dict[str, tuple[str, ...]]
    refusals: tuple[RefusalRule, ...]
    disclaimers: dict[str, Disclaimer]
    retention_days: int
    requester_may_see_restored_pii: bool
    officers_may_reveal_content: bool
    version: str

    def offers(self, domain: str) -> bool:
        return domain in self.offered_domains

    def entities_for(self, domain: str) -> list[str]:
        extra = self.redact_by_domain.get(domain, ())
        return sorted(set(self.redact) | set(extra))

    def all_entities(self) -> list[str]:
        """Every type the policy redacts in any domain."""
        return sorted(set(self.redact).union(*self.redact_by_domain.values()))

    def refusals_for(self, domain: str) -> list[RefusalRule]:
        return [rule for rule in self.refusals if rule.applies_to(domain)]

    def disclaimer_for(self, domain: str) -> Disclaimer | None:
        return self.disclaimers.get(domain) or self.disclaimers.get("default")


def _merge(parent: dict, child: dict) -> dict:
    """Mappings merge key by key; lists and scalars in the child replace the parent's.
    ``refusals`` merge by category; ``disclaimers`` and ``pii.redact_by_domain`` by key."""
    merged = copy.deepcopy(parent)
    for key, value in child.items():
        if key == "refusals":
            by_category = {rule["category"]: rule for rule in merged.get("refusals", [])}
            for rule in value:
                by_category[rule["category"]] = rule
            merged["refusals"] = list(by_category.values())
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _check_file(path: Path, data: Any, categories: dict) -> dict:
    """Types and names in one file, before inheritance (domain slugs: ``_check_domain_names``)."""
    if not isinstance(data, dict):
        raise PolicyError(path, "<document>", "must be a mapping")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise PolicyError(
                path, str(key), f"is not a known key ({', '.join(sorted(TOP_LEVEL_KEYS))})"
            )
    code = data.get("jurisdiction")
    if not isinstance(code, str) or code != path.stem:
        raise PolicyError(path, "jurisdiction", f"must be {path.stem!r}, the file's name")
    for key in ("name", "description", "extends"):
        if key in data and not isinstance(data[key], str):
            raise PolicyError(path, key, "must be a string")
    for key in ("abstract", "requester_may_see_restored_pii", "officers_may_reveal_content"):
        if key in data and not isinstance(data[key], bool):
            raise PolicyError(path, key, "must be true or false")
    for section, allowed in SECTION_KEYS.items():
        if section not in data:
            continue
        if not isinstance(data[section], dict):
            raise PolicyError(path, section, "must be a mapping")
        for key in data[section]:
            if key not in allowed:
                raise PolicyError(
                    path, f"{section}.{key}", f"is not a known key ({', '.join(sorted(allowed))})"
                )
    offered = data.get("domains", {}).get("offered")
    if offered is not None and not _is_string_list(offered):
        raise PolicyError(path, "domains.offered", "must be a list of domain slugs")
    regions = data.get("residency", {}).get("allowed_regions")
    if regions is not None and not _is_string_list(regions):
        raise PolicyError(path, "residency.allowed_regions", "must be a list of region names")
    pii = data.get("pii", {})
    entity_lists = [("pii.redact", pii.get("redact"))]
    by_domain = pii.get("redact_by_domain", {})
    if not isinstance(by_domain, dict):
        raise PolicyError(path, "pii.redact_by_domain", "must map domain slugs to entity lists")
    entity_lists += [(f"pii.redact_by_domain.{slug}", items) for slug, items in by_domain.items()]
    for key, items in entity_lists:
        if items is None:
            continue
        if not _is_string_list(items):
            raise PolicyError(path, key, "must be a list of entity types")
        for entity in items:
            if entity not in ENTITY_TYPES:
                # An entity nobody can detect must stop the load, not be dropped silently.
                raise PolicyError(
                    path, key, f"{entity!r} has no recognizer (known: {', '.join(ENTITY_TYPES)})"
                )
    refusals = data.get("refusals", [])
    if not isinstance(refusals, list):
        raise PolicyError(path, "refusals", "must be a list")
    seen = set()
    for position, rule in enumerate(refusals):
        key = f"refusals[{position}]"
        if not isinstance(rule, dict):
            raise PolicyError(path, key, "must be a mapping")
        for field in rule:
            if field not in REFUSAL_KEYS:
                raise PolicyError(
                    path,
                    f"{key}.{field}",
                    f"is not a known key ({', '.join(sorted(REFUSAL_KEYS))})",
                )
        category = rule.get("category")
        if category not in categories:
            raise PolicyError(
                path, f"{key}.category", f"{category!r} is not a category in {CATEGORIES_FILE.name}"
            )
        if category in seen:
            raise PolicyError(path, f"{key}.category", f"{category!r} appears twice")
        seen.add(category)
        if rule.get("action") not in ACTIONS:
            raise PolicyError(path, f"{key}.action", f"must be one of {sorted(ACTIONS)}")
        if rule["action"] != "allow":
            for field in ("text", "reason"):
                if not isinstance(rule.get(field), str) or not rule[field].strip():
                    raise PolicyError(
                        path, f"{key}.{field}", "is required unless the action is allow"
                    )
        if "domains" in rule and not _is_string_list(rule["domains"]):
            raise PolicyError(
                path, f"{key}.domains", "must be a list of domain slugs in the catalog"
            )
    disclaimers = data.get("disclaimers", {})
    if not isinstance(disclaimers, dict):
        raise PolicyError(
            path, "disclaimers", "must map domain slugs (or 'default') to a version and text"
        )
    for slug, disclaimer in disclaimers.items():
        key = f"disclaimers.{slug}"
        if (
            not isinstance(disclaimer, dict)
            or set(disclaimer) != {"version", "text"}
            or not all(
                isinstance(disclaimer[k], str) and disclaimer[k].strip()
                for k in ("version", "text")
            )
        ):
            raise PolicyError(path, key, "must have exactly a non-empty 'version' and 'text'")
    days = data.get("retention", {}).get("content_days")
    if days is not None and (
        not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650
    ):
        raise PolicyError(
            path, "retention.content_days", "must be a whole number of days from 1 to 3650"
        )
    return data


def _check_domain_names(path: Path, data: dict, domains: set[str]) -> None:
    """Every domain slug one (type-checked) file names is a domain of the catalog."""
    for slug in data.get("domains", {}).get("offered") or []:
        if slug not in domains:
            raise PolicyError(path, "domains.offered", f"{slug!r} is not a domain in the catalog")
    for slug in data.get("pii", {}).get("redact_by_domain", {}):
        if slug not in domains:
            raise PolicyError(
                path, f"pii.redact_by_domain.{slug}", "is not a domain in the catalog"
            )
    for position, rule in enumerate(data.get("refusals", [])):
        if not set(rule.get("domains", [])) <= domains:
            raise PolicyError(
                path,
                f"refusals[{position}].domains",
                "must be a list of domain slugs in the catalog",
            )
    for slug in data.get("disclaimers", {}):
        if slug != "default" and slug not in domains:
            raise PolicyError(path, f"disclaimers.{slug}", "is not a domain in the catalog")


REQUIRED_AFTER_INHERITANCE = [
    ("name", lambda d: d.get("name")),
    ("domains.offered", lambda d: d.get("domains", {}).get("offered")),
    ("residency.allowed_regions", lambda d: d.get("residency", {}).get("allowed_regions")),
    ("pii.redact", lambda d: d.get("pii", {}).get("redact")),
    ("retention.content_days", lambda d: d.get("retention", {}).get("content_days")),
    ("requester_may_see_restored_pii", lambda d: d.get("requester_may_see_restored_pii")),
    ("officers_may_reveal_content", lambda d: d.get("officers_may_reveal_content")),
]


def _resolve(
    code: str, raw: dict[str, tuple[Path, dict]], trail: tuple[str, ...] = ()
) -> tuple[dict, tuple[str, ...]]:
    path, data = raw[code]
    if code in trail:
        raise PolicyError(path, "extends", f"inheritance cycle: {' -> '.join((*trail, code))}")
    parent = data.get("extends")
    if parent is None:
        return data, (code,)
    if parent not in raw:
        raise PolicyError(path, "extends", f"{parent!r} is not a policy in {path.parent}")
    parent_data, chain = _resolve(parent, raw, (*trail, code))
    return _merge(parent_data, data), (code, *chain)


def _build(
    path: Path,
    code: str,
    data: dict,
    chain: tuple[str, ...],
    raw: dict,
    categories: dict[str, RefusalCategory],
) -> Policy:
    for key, getter in REQUIRED_AFTER_INHERITANCE:
        if getter(data) is None:
            inherited = f" or in {', '.join(chain[1:])}" if len(chain) > 1 else ""
            raise PolicyError(path, key, f"is required (not set here{inherited})")
    rules = tuple(
        RefusalRule(
            category=rule["category"],
            action=rule["action"],
            text=" ".join(rule["text"].split()),
            reason=" ".join(rule["reason"].split()),
            domains=tuple(rule["domains"]) if "domains" in rule else None,
        )
        for rule in data.get("refusals", [])
        if rule["action"] != "allow"
    )
    resolved = {key: value for key, value in data.items() if key not in {"extends", "abstract"}}
    resolved["refusal_categories"] = {
        rule.category: categories[rule.category].sha256 for rule in rules
    }
    version = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()
    return Policy(
        jurisdiction=code,
        name=data["name"],
        description=" ".join(data.get("description", "").split()),
        chain=chain,
        sources=tuple(raw[c][0].name for c in chain),
        offered_domains=tuple(data["domains"]["offered"]),
        allowed_regions=tuple(data["residency"]["allowed_regions"]),
        redact=tuple(data["pii"]["redact"]),
        redact_by_domain={k: tuple(v) for k, v in data["pii"].get("redact_by_domain", {}).items()},
        refusals=rules,
        disclaimers={
            k: Disclaimer(v["version"], " ".join(v["text"].split()))
            for k, v in data.get("disclaimers", {}).items()
        },
        retention_days=data["retention"]["content_days"],
        requester_may_see_restored_pii=data["requester_may_see_restored_pii"],
        officers_may_reveal_content=data["officers_may_reveal_content"],
        version=version,
    )


@dataclass(frozen=True)
class PolicySet:
    policies: dict[str, Policy]
    categories: dict[str, RefusalCategory]
    # Each file as read and type-checked, by jurisdiction code: what check_domains reads.
    files: dict[str, tuple[Path, dict]]

    def get(self, code: str) -> Policy | None:
        return self.policies.get(code)

    def codes(self) -> list[str]:
        return sorted(self.policies)

    def check_domains(self, domains: set[str]) -> None:
        """Raise ``PolicyError`` naming the file and key if a policy names a domain that is not
        one of ``domains`` (the catalog's slugs). The catalog lives in the ``domains`` app, which
        runs this when it starts; policies themselves know nothing of it."""
        for path, data in self.files.values():
            _check_domain_names(path, data, domains)

    def with_stand_in(self, domain: str, *, like: str) -> PolicySet:
        """These policies with ``domain`` offered wherever ``like`` is, and governed as ``like``
        is (entities, refusal rules, disclaimer): for a benchmark domain that holds the same
        kind of text as a catalog domain. Versions stay those of the files."""
        return dataclasses.replace(
            self,
            policies={
                code: _with_stand_in(policy, domain, like) for code, policy in self.policies.items()
            },
        )


def _with_stand_in(policy: Policy, domain: str, like: str) -> Policy:
    if not policy.offers(like):
        return policy
    by_domain = dict(policy.redact_by_domain)
    if like in by_domain:
        by_domain[domain] = by_domain[like]
    disclaimers = dict(policy.disclaimers)
    if like in disclaimers:
        disclaimers[domain] = disclaimers[like]
    return dataclasses.replace(
        policy,
        offered_domains=(*policy.offered_domains, domain),
        redact_by_domain=by_domain,
        refusals=tuple(
            dataclasses.replace(rule, domains=(*rule.domains, domain))
            if rule.domains is not None and like in rule.domains
            else rule
            for rule in policy.refusals
        ),
        disclaimers=disclaimers,
    )


def load_policies(
    directory: Path = POLICY_DIR,
    *,
    domains: set[str] | None = None,
    categories_file: Path = CATEGORIES_FILE,
) -> PolicySet:
    """Every policy in ``directory``, validated, or ``PolicyError`` for the first problem. With
    ``domains``, the domain slugs the files name are checked against it too."""
    try:
        categories = load_categories(categories_file)
    except CategoryError as exc:
        raise PolicyError(categories_file, "categories", str(exc)) from exc
    raw: dict[str, tuple[Path, dict]] = {}
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise PolicyError(directory, "<directory>", "contains no policy files")
    for path in paths:
        data = parse_yaml(path, path.read_text(), PolicyError)
        raw[path.stem] = (path, _check_file(path, data, categories))
        if domains is not None:
            _check_domain_names(path, data, domains)
    policies = {}
    for code, (path, data) in raw.items():
        if data.get("abstract"):
            continue
        merged, chain = _resolve(code, raw)
        policies[code] = _build(path, code, merged, chain, raw, categories)
    return PolicySet(policies=policies, categories=categories, files=raw)


_lock = threading.Lock()
_loaded: PolicySet | None = None


@contextmanager
def policies_in_force(policy_set: PolicySet) -> Iterator[None]:
    """Within the block, ``policies()`` is ``policy_set`` in this process: for a benchmark that
    needs policies other than the files' (``PolicySet.with_stand_in``)."""
    global _loaded
    before = policies()
    _loaded = policy_set
    try:
        yield
    finally:
        _loaded = before


def policies() -> PolicySet:
    """The policies of this process, loaded once (and checked at start-up by the app configs:
    compliance's loads them, domains' checks the domains they name against the catalog)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                from django.conf import settings

                _loaded = load_policies(
                    Path(settings.POLICY_DIR),
                    categories_file=Path(settings.REFUSAL_CATEGORIES_FILE),
                )
    return _loaded
