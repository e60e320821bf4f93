"""In CI (REQUIRE_SERVICES=1) the suite must run against the real PostgreSQL and Redis; if they
are not there, these tests fail instead of the suite quietly falling back to SQLite."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import services_required

pytestmark = pytest.mark.skipif(not services_required(), reason="REQUIRE_SERVICES is not set")


@pytest.mark.django_db
def test_the_database_is_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_the_broker_is_a_reachable_redis():
    import redis

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=3).ping() is True
