"""The shipped jurisdiction policies, table by table, and the loader's refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.decisions import decide_route
from compliance.policy import POLICY_DIR, PolicyError, load_policies, policies
from compliance.refusals import CATEGORIES_FILE

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = {"healthcare", "legal", "finance"}
LOCAL = {"backend": "transformers", "model": "smollm2-135m-instruct", "region": None}

SHIPPED = ["US", "US-CA", "EU", "EU-DE", "UK", "AE-ADGM"]


def test_every_required_jurisdiction_ships_and_base_is_not_requestable():
    assert set(SHIPPED) <= set(policies().codes())
    assert policies().get("base") is None


@pytest.mark.parametrize(
    ("code", "offered"),
    [
        ("US", {"healthcare", "legal", "finance"}),
        ("US-CA", {"healthcare", "legal", "finance"}),
        ("EU", {"healthcare", "legal", "finance"}),
        ("EU-DE", {"healthcare", "legal", "finance"}),
        ("UK", {"healthcare", "legal", "finance"}),
        ("AE-ADGM", {"finance"}),
    ],
)
def test_offered_and_refused_domains(code, offered):
    policy = policies().get(code)
    for domain in DOMAINS:
        route = decide_route(policy, domain=domain, backends=[LOCAL], local_region="on-premises")
        assert route.allowed is (domain in offered), (code, domain)
        if domain not in offered:
            assert route.reason == "domain_not_offered"
            assert f"does not offer the {domain!r} domain" in route.message


@pytest.mark.parametrize(
    ("code", "region", "allowed"),
    [
        ("US", "US", True),
        ("US", "EU", False),
        ("US-CA", "US", True),
        ("EU", "EU", True),
        ("EU", "US", False),
        ("EU-DE", "EU", True),
        ("EU-DE", "US", False),
        ("UK", "UK", True),
        ("UK", "EU", True),
        ("UK", "US", False),
        ("AE-ADGM", "AE", True),
        ("AE-ADGM", "EU", False),
    ]
    + [(code, "on-premises", True) for code in SHIPPED],
)
def test_residency_routes_only_to_allowed_regions(code, region, allowed):
    policy = policies().get(code)
    route = decide_route(
        policy,
        domain="finance",
        backends=[{**LOCAL, "region": region}],
        local_region="ignored",
    )
    assert route.allowed is allowed
    if not allowed:
        assert route.reason == "no_backend_in_allowed_region"
        assert f"({region})" in route.message and "not sent anywhere" in route.message
    else:
        assert route.backend["region"] == region


def test_routing_takes_the_first_backend_in_an_allowed_region():
    eu = policies().get("EU")
    us_backend = {**LOCAL, "model": "us-hosted", "region": "US"}
    eu_backend = {**LOCAL, "model": "eu-hosted", "region": "EU"}
    route = decide_route(eu, domain="legal", backends=[us_backend, eu_backend], local_region="x")
    assert route.backend["model"] == "eu-hosted"
    assert route.rules[-1]["outcome"] == "routed"


def test_a_backend_without_a_region_runs_where_the_worker_runs():
    eu = policies().get("EU")
    assert decide_route(eu, domain="legal", backends=[LOCAL], local_region="EU").allowed
    assert not decide_route(eu, domain="legal", backends=[LOCAL], local_region="US").allowed


SAFE_HARBOR_TEXT_IDENTIFIERS = {
    # 45 CFR 164.514(b)(2)(i): names; geographic subdivisions smaller than a state and ZIP codes;
    # dates and ages over 89; phone and fax; e-mail; SSN; medical record numbers; health plan
    # beneficiary numbers; account numbers; certificate/licence numbers; vehicle and device
    # identifiers; URLs; IP addresses.
    "PERSON", "ORGANIZATION", "STREET_ADDRESS", "LOCATION", "ZIP_CODE", "DATE", "AGE_OVER_89", "PHONE_NUMBER",
    "EMAIL_ADDRESS", "US_SSN", "MEDICAL_RECORD_NUMBER", "US_MBI", "US_HEALTH_INSURANCE_MEMBER_ID",
    "ACCOUNT_NUMBER", "US_BANK_NUMBER", "MEDICAL_LICENSE", "US_DRIVER_LICENSE", "VEHICLE_ID",
    "DEVICE_ID", "URL", "IP_ADDRESS",
}  # fmt: skip


@pytest.mark.parametrize(
    ("code", "domain", "must_include", "must_exclude"),
    [
        ("US", "healthcare", SAFE_HARBOR_TEXT_IDENTIFIERS, {"NRP", "UK_NHS"}),
        ("US-CA", "healthcare", SAFE_HARBOR_TEXT_IDENTIFIERS, {"NRP"}),
        ("US", "legal", {"PERSON", "US_SSN"}, {"MEDICAL_LICENSE"}),
        ("EU", "healthcare", {"PERSON", "EMAIL_ADDRESS", "NRP", "IBAN_CODE", "ES_NIF"}, {"US_SSN"}),
        ("EU-DE", "legal", {"PERSON", "NRP"}, {"US_SSN"}),
        ("UK", "healthcare", {"PERSON", "UK_NHS", "UK_NINO", "UK_POSTCODE", "NRP"}, {"US_SSN"}),
        ("AE-ADGM", "finance", {"PERSON", "IBAN_CODE", "CREDIT_CARD"}, {"US_SSN", "NRP"}),
    ],
)
def test_entity_sets_per_jurisdiction_and_domain(code, domain, must_include, must_exclude):
    entities = set(policies().get(code).entities_for(domain))
    assert must_include <= entities
    assert not (must_exclude & entities)


@pytest.mark.parametrize(
    ("code", "domain", "category", "action"),
    [
        (code, domain, "reidentification", "refuse")
        for code in SHIPPED
        for domain in ("healthcare", "legal", "finance")
    ]
    + [(code, "healthcare", "individualized_diagnosis", "general_only") for code in SHIPPED]
    + [
        ("US", "legal", "individualized_legal_advice", "general_only"),
        ("US-CA", "legal", "individualized_legal_advice", "general_only"),
        ("EU", "legal", "individualized_legal_advice", "general_only"),
        ("UK", "legal", "individualized_legal_advice", "general_only"),
        # Germany's Legal Services Act: the child policy overrides the inherited rule.
        ("EU-DE", "legal", "individualized_legal_advice", "refuse"),
    ],
)
def test_refusal_rules_per_jurisdiction(code, domain, category, action):
    rules = {r.category: r for r in policies().get(code).refusals_for(domain)}
    assert rules[category].action == action
    assert rules[category].text and rules[category].reason


def test_domain_specific_rules_do_not_apply_elsewhere():
    us = policies().get("US")
    assert {r.category for r in us.refusals_for("finance")} == {"reidentification"}
    assert "individualized_diagnosis" not in {r.category for r in us.refusals_for("legal")}


@pytest.mark.parametrize(
    ("code", "domain", "version"),
    [
        ("US", "healthcare", "base-healthcare-1"),
        ("US-CA", "healthcare", "us-ca-healthcare-1"),
        ("US-CA", "legal", "base-legal-1"),
        ("EU", "healthcare", "eu-healthcare-1"),
        ("EU-DE", "healthcare", "eu-healthcare-1"),
        ("UK", "finance", "base-finance-1"),
        ("AE-ADGM", "finance", "base-finance-1"),
    ],
)
def test_disclaimer_versions(code, domain, version):
    disclaimer = policies().get(code).disclaimer_for(domain)
    assert disclaimer.version == version
    assert disclaimer.text


@pytest.mark.parametrize(
    ("code", "days", "restore", "reveal"),
    [
        ("US", 180, True, True),
        ("US-CA", 180, True, True),
        ("EU", 30, True, True),
        ("EU-DE", 30, True, False),
        ("UK", 60, True, True),
        ("AE-ADGM", 180, True, True),
    ],
)
def test_retention_and_content_flags(code, days, restore, reveal):
    policy = policies().get(code)
    assert policy.retention_days == days
    assert policy.requester_may_see_restored_pii is restore
    assert policy.officers_may_reveal_content is reveal


def test_inheritance_chains():
    assert policies().get("US-CA").chain == ("US-CA", "US", "base")
    assert policies().get("EU-DE").chain == ("EU-DE", "EU", "base")
    assert policies().get("UK").chain == ("UK", "base")


# --- loading: versions and refusals -------------------------------------------------------


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target)
    return target


def load(directory: Path):
    return load_policies(directory, domains=DOMAINS, categories_file=CATEGORIES_FILE)


def test_versions_are_content_hashes_that_follow_the_file_and_its_parents(policy_dir):
    before = load(policy_dir)
    assert before.get("US").version == policies().get("US").version
    us = policy_dir / "US.yaml"
    us.write_text(us.read_text().replace("content_days: 180", "content_days: 181"))
    after = load(policy_dir)
    assert after.get("US").version != before.get("US").version
    # US-CA extends US, so its effective policy (and version) changed too; EU did not.
    assert after.get("US-CA").version != before.get("US-CA").version
    assert after.get("US-CA").retention_days == 181
    assert after.get("EU").version == before.get("EU").version


def write(policy_dir: Path, name: str, text: str) -> Path:
    path = policy_dir / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("file", "text", "key", "problem"),
    [
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: base\ncolour: red\n",
            "colour",
            "is not a known key",
        ),
        ("XX.yaml", "jurisdiction: YY\n", "jurisdiction", "must be 'XX', the file's name"),
        ("XX.yaml", "jurisdiction: XX\nextends: nowhere\n", "extends", "'nowhere' is not a policy"),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\ndomains: {offered: [astrology]}\n",
            "domains.offered",
            "'astrology' is not a domain in the catalog",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\npii: {redact: [PERSON, SHOE_SIZE]}\n",
            "pii.redact",
            "'SHOE_SIZE' has no recognizer",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\nrefusals: [{category: astrology, action: refuse, text: t, reason: r}]\n",
            "refusals[0].category",
            "'astrology' is not a category",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\nrefusals: [{category: reidentification, action: shout}]\n",
            "refusals[0].action",
            "must be one of",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\nrefusals: [{category: reidentification, action: refuse}]\n",
            "refusals[0].text",
            "is required unless the action is allow",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\nretention: {content_days: -3}\n",
            "retention.content_days",
            "whole number of days",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nextends: US\ndisclaimers: {legal: {text: no version}}\n",
            "disclaimers.legal",
            "exactly a non-empty 'version' and 'text'",
        ),
        (
            "XX.yaml",
            "jurisdiction: XX\nname: Nowhere\n",
            "domains.offered",
            "is required (not set here)",
        ),
        ("XX.yaml", "jurisdiction: [unclosed\n", "<document>", "is not valid YAML"),
        ("XX.yaml", "jurisdiction: XX\nextends: XX\n", "extends", "inheritance cycle"),
    ],
)
def test_a_malformed_policy_is_refused_naming_the_file_and_key(
    policy_dir, file, text, key, problem
):
    path = write(policy_dir, file, text)
    with pytest.raises(PolicyError) as error:
        load(policy_dir)
    assert str(error.value).startswith(f"{path}: key '{key}': ")
    assert problem in str(error.value)


def test_a_malformed_policy_stops_start_up(policy_dir):
    write(
        policy_dir,
        "EU.yaml",
        (POLICY_DIR / "EU.yaml").read_text() + "retention: {content_days: forever}\n",
    )
    env = {**os.environ, "ASSISTANT_POLICY_DIR": str(policy_dir)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: Invalid policy" in result.stderr
    assert f"{policy_dir / 'EU.yaml'}: key 'retention.content_days'" in result.stderr
