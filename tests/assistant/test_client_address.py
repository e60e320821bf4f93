"""A client that writes its own X-Forwarded-For gets no fresh budget from it: the anonymous
throttle and the login lockout key on the address the service (or its trusted proxy) saw."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

WRONG = {"username": "nobody", "password": "wrong"}


@pytest.fixture
def anon_three_a_minute(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")


def bad_logins(headers: list[str]) -> list[int]:
    client = APIClient()
    return [
        client.post(
            "/api/v1/auth/token", WRONG, format="json", HTTP_X_FORWARDED_FOR=header
        ).status_code
        for header in headers
    ]


def test_a_forged_forwarded_for_does_not_reset_the_anonymous_throttle(anon_three_a_minute):
    codes = bad_logins([f"203.0.113.{i}" for i in range(5)])
    assert codes == [400, 400, 400, 429, 429]


def test_behind_a_trusted_proxy_the_address_it_appended_counts(anon_three_a_minute, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The client forges the first entry; the proxy appends the address it saw.
    assert bad_logins([f"198.51.100.{i}, 192.0.2.7" for i in range(4)]) == [400, 400, 400, 429]
    # Another client behind the same proxy has its own budget.
    assert bad_logins(["192.0.2.8"]) == [400]


def test_the_login_lockout_keys_on_the_same_address(settings):
    from django.test import RequestFactory

    from assistant.authentication import client_address

    request = RequestFactory().post(
        "/api/v1/auth/token", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert client_address(request) == "10.0.0.1"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(request) == "203.0.113.9"
    assert settings.AXES_CLIENT_IP_CALLABLE == "assistant.authentication.client_address"
