from __future__ import annotations

import pytest

from compliance.jurisdictions import applies_to, jurisdiction_names, lineage


def test_lineage_lists_the_code_and_its_regions():
    assert lineage("US-CA") == ["US-CA", "US"]
    assert lineage("EU") == ["EU"]


@pytest.mark.parametrize(
    ("tags", "requested", "expected"),
    [
        (["US"], "US", True),
        (["US"], "US-CA", True),
        (["US-CA"], "US", False),
        (["EU"], "EU-DE", True),
        (["EU", "UK"], "UK", True),
        (["US"], "EU", False),
        (["*"], "AE-ADGM", True),
    ],
)
def test_passage_applies_to_its_regions_and_their_sub_regions(tags, requested, expected):
    assert applies_to(tags, requested) is expected


def test_unknown_codes_are_not_known():
    assert "EU-DE" in jurisdiction_names()
    assert "XX" not in jurisdiction_names()
    assert "base" not in jurisdiction_names()
