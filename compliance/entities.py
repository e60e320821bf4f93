"""The personal-data entity types this service can detect. Policies name the ones they redact;
a policy naming a type that is not here is refused at load, never silently ignored."""

from __future__ import annotations

ENTITY_TYPES: dict[str, str] = {
    "PERSON": "names of people",
    "LOCATION": "places smaller than a state or country (cities, towns)",
    "STREET_ADDRESS": "street addresses",
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
}
