"""Every page carries a Content-Security-Policy that lets only the service's own scripts run:
external files from itself, or inline ones bearing this response's nonce."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_the_portal_page_runs_only_its_own_nonced_script(catalog_domains, clinician):
    client = Client()
    client.force_login(clinician)
    response = client.get("/")
    assert response.status_code == 200
    directives = policy(response)
    script_src = directives["script-src"]
    nonces = [s for s in script_src if s.startswith("'nonce-")]
    assert script_src[0] == "'self'" and len(nonces) == 1
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    nonce = nonces[0][len("'nonce-") : -1]
    tags = SCRIPT_TAG.findall(response.content.decode())
    inline = [t for t in tags if "src=" not in t and 'type="application/json"' not in t]
    assert inline and all(f'nonce="{nonce}"' in t for t in inline)
    # Each response has its own nonce.
    assert policy(client.get("/"))["script-src"] != script_src


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/docs"])
def test_pages_without_inline_scripts_load_theirs_from_the_service(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    for tag in SCRIPT_TAG.findall(response.content.decode()):
        assert "src=" in tag or "nonce=" in tag or "application/json" in tag, tag
