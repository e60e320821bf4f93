"""The personal-data entity types this service can detect. Policies name the ones they redact;
a policy naming a type that is not here is refused at load, never silently ignored."""

from __future__ import annotations

ENTITY_TYPES: dict[str, str] = {
    "PERSON": "names of people",
    "LOCATION": "places smaller than a state or country (cities, towns)",
    "STREET_ADDRESS": "street addresses",
    "CONTACT_DETAILS": "the lines of a signature or contact block above an address (name, job title, company)",
    "DATE": "calendar dates of events in a person's life",
    "PHONE_NUMBER": "telephone and fax numbers",
    "EMAIL_ADDRESS": "e-mail addresses",
    "URL": "web addresses",
    "IP_ADDRESS": "IP addresses",
    "US_SSN": "US Social Security numbers",
    "US_ITIN": "US individual taxpayer identification numbers",
    "US_PASSPORT": "US passport numbers",
    "US_DRIVER_LICENSE": "US driver's licence numbers",
    "US_BANK_NUMBER": "US bank account numbers",
    "MEDICAL_RECORD_NUMBER": "medical record numbers",
    "MEDICAL_LICENSE": "medical licence numbers (DEA)",
    "CREDIT_CARD": "payment card numbers",
    "IBAN_CODE": "international bank account numbers",
    "UK_NHS": "UK NHS numbers",
    "NRP": "nationality, religious or political group (GDPR special categories)",
    "ORGANIZATION": "companies and other private organisations, e.g. employers (not regulators)",
    "ZIP_CODE": "ZIP and postal codes",
    "AGE_OVER_89": "ages over 89",
    "AGE": "a person's age, at any age",
    "TITLE": "job titles written beside a person's name",
    "VEHICLE_ID": "vehicle identification numbers and licence plates",
    "DEVICE_ID": "device identifiers and serial numbers",
    "CASE_NUMBER": "court case, docket, matter and claim numbers",
    "ACCOUNT_NUMBER": "account numbers",
    "US_NPI": "US National Provider Identifiers (checksum)",
    "US_MBI": "US Medicare beneficiary identifiers",
    "US_HEALTH_INSURANCE_MEMBER_ID": "health plan member and subscriber IDs",
    "UK_NINO": "UK National Insurance numbers",
    "UK_POSTCODE": "UK postcodes",
    "UK_VEHICLE_REGISTRATION": "UK vehicle registrations",
    "ES_NIF": "Spanish national identity numbers (DNI/NIF, check letter)",
    "DE_TAX_ID": "German tax identification numbers (checksum)",
}

# How a count of each type reads in a sentence: "1 name, 2 record numbers".
ENTITY_NOUNS: dict[str, tuple[str, str]] = {
    "PERSON": ("name", "names"),
    "LOCATION": ("place", "places"),
    "STREET_ADDRESS": ("street address", "street addresses"),
    "CONTACT_DETAILS": ("contact detail", "contact details"),
    "DATE": ("date", "dates"),
    "PHONE_NUMBER": ("phone number", "phone numbers"),
    "EMAIL_ADDRESS": ("e-mail address", "e-mail addresses"),
    "URL": ("web address", "web addresses"),
    "IP_ADDRESS": ("IP address", "IP addresses"),
    "MEDICAL_RECORD_NUMBER": ("record number", "record numbers"),
    "CREDIT_CARD": ("card number", "card numbers"),
    "NRP": ("special-category detail", "special-category details"),
    "ORGANIZATION": ("organisation", "organisations"),
    "ZIP_CODE": ("ZIP code", "ZIP codes"),
    "AGE_OVER_89": ("age over 89", "ages over 89"),
    "AGE": ("age", "ages"),
    "TITLE": ("job title", "job titles"),
    "CASE_NUMBER": ("case number", "case numbers"),
    "ACCOUNT_NUMBER": ("account number", "account numbers"),
}


def describe_counts(counts: dict[str, int]) -> str:
    """``{"PERSON": 1, "MEDICAL_RECORD_NUMBER": 1}`` as "1 name, 1 record number". A type with
    no noun of its own reads as its description ("1 of US Social Security numbers")."""
    order = list(ENTITY_TYPES)
    parts = []
    # Most frequent first; ties in the order of ENTITY_TYPES (names before numbers).
    ranked = sorted(
        counts.items(),
        key=lambda item: (-item[1], order.index(item[0]) if item[0] in order else len(order)),
    )
    for entity_type, count in ranked:
        if entity_type in ENTITY_NOUNS:
            singular, plural = ENTITY_NOUNS[entity_type]
            parts.append(f"{count} {singular if count == 1 else plural}")
        else:
            description = ENTITY_TYPES.get(entity_type, entity_type).split(" (")[0]
            parts.append(f"{count} of {description}")
    return ", ".join(parts)
