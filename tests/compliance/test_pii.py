from __future__ import annotations

import socket

import pytest

from compliance import pii


def redact(text: str) -> pii.Screening:
    return pii.screen_input(text, pii.PseudonymVault())


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        ("My patient John Smith has a question.", "John Smith", "PERSON"),
        ("Chart for MRN 4455667 was exposed.", "4455667", "MEDICAL_RECORD_NUMBER"),
        ("medical record number: AB-99812 was emailed", "AB-99812", "MEDICAL_RECORD_NUMBER"),
        ("She was born 03/04/1961 in a small town.", "03/04/1961", "DATE"),
        ("The visit on March 3, 2024 went fine.", "March 3, 2024", "DATE"),
        ("Call me at (555) 123-4567 tomorrow.", "(555) 123-4567", "PHONE_NUMBER"),
        ("Reach our London office on +44 20 7946 0958.", "+44 20 7946 0958", "PHONE_NUMBER"),
        ("Write to jane.roe@example.org please.", "jane.roe@example.org", "EMAIL_ADDRESS"),
        ("His SSN is 078-05-1120.", "078-05-1120", "US_SSN"),
        ("She lives at 12 Main Street, Springfield.", "12 Main Street", "STREET_ADDRESS"),
        ("The server at 192.168.10.24 logged it.", "192.168.10.24", "IP_ADDRESS"),
        ("Card 4111 1111 1111 1111 was charged.", "4111 1111 1111 1111", "CREDIT_CARD"),
    ],
)
def test_identifier_is_replaced_by_a_typed_placeholder(text, value, entity_type):
    screening = redact(text)
    assert value not in screening.text
    assert f"<{entity_type}_1>" in screening.text
    assert screening.counts.get(entity_type) == 1


@pytest.mark.parametrize(
    "text",
    [
        "How long does a covered entity have to notify individuals within 60 days under 45 CFR 164.404(b)?",
        "Does GDPR Art. 33(1) require notice within 72 hours in Germany?",
        "May a lawyer in California reveal information under Rule 1.6 annually?",
        "What does 31 CFR 1020.320 require for suspicious activity reports in the United States?",
        # Guidance cited by its number, which reads as a month and year.
        "According to EDPB Recommendations 01/2020, what must a transfer assessment include?",
        "Does EDPB Opinion 08/2024 allow a pay or consent model?",
    ],
)
def test_regulatory_questions_without_personal_data_are_left_intact(text):
    screening = redact(text)
    assert screening.text == text
    assert screening.entities == []


def test_a_month_and_year_not_citing_a_document_is_still_a_date():
    screening = redact("The patient was admitted on 01/2020 after the guidelines changed.")
    assert "01/2020" not in screening.text
    assert screening.counts.get("DATE") == 1


@pytest.mark.parametrize(
    "text",
    [
        # spaCy tagged "Health Insurance Portability" as an organisation in both.
        "Health Insurance Portability and Accountability Act (HIPAA) requires notice.",
        "A HIPAA covered entity under Health Insurance Portability and Accountability Act must notify.",
        "Under the Proceeds of Crime Act 2002 a bank must not tip off its customer.",
        # German statutes: one compound word or an abbreviation (tagged a place and a person).
        "Does the Geldwäschegesetz oblige a bank to appoint an AML officer?",
        "Is a breach of confidentiality a criminal offence under the StGB for a lawyer?",
        "Does the Patientendaten-Schutz-Gesetz govern access to the electronic record?",
    ],
)
def test_the_names_of_laws_are_never_redacted(text):
    assert pii.screen_output(text).text == text


def test_an_employer_is_still_redacted_beside_the_name_of_a_law():
    screening = pii.screen_output(
        "Under Health Insurance Portability and Accountability Act (HIPAA), my patient told Acme "
        "Corporation about the breach."
    )
    assert screening.counts == {"ORGANIZATION": 1}
    assert "Health Insurance Portability and Accountability Act" in screening.text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A model wrote this; the tagger took the capitals for an acronym.
        (
            "The chart of ISAAC DAVIS was sent to the wrong clinic.",
            "The chart of <PERSON_REDACTED> was sent to the wrong clinic.",
        ),
        ("PATIENT: MARIA GONZALEZ, seen today.", "PATIENT: <PERSON_REDACTED>, seen today."),
        # A law named in the same text does not shield the name.
        (
            "Under UK GDPR, ISAAC DAVIS asked for his records.",
            "Under UK GDPR, <PERSON_REDACTED> asked for his records.",
        ),
        (
            "Max Müller fragt, ob das Geldwäschegesetz gilt.",
            "<PERSON_REDACTED> fragt, ob das Geldwäschegesetz gilt.",
        ),
    ],
)
def test_names_written_in_capitals_are_redacted(text, redacted):
    assert pii.screen_output(text).text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "Under the HIPAA PRIVACY RULE, HHS OCR enforces 45 CFR PART 164.",
        "NOTICE OF PRIVACY PRACTICES must be given at the first service delivery.",
        "FINCEN and the OCC expect a SAR within 30 CALENDAR DAYS.",
        # Read in title case ("Uk Gdpr") for names in capitals, it passed for a person.
        "If an encrypted laptop was stolen, must we tell patients under UK GDPR?",
    ],
)
def test_rules_and_regulators_in_capitals_are_left_alone(text):
    assert pii.screen_output(text).text == text


def test_same_value_gets_the_same_placeholder_and_different_values_do_not():
    vault = pii.PseudonymVault()
    first = pii.screen_input("John Smith saw Mary Jones.", vault)
    second = pii.screen_input("Later, John Smith called again.", vault)
    assert first.text == "<PERSON_1> saw <PERSON_2>."
    assert second.text == "Later, <PERSON_1> called again."
    assert vault.originals() == {"<PERSON_1>": "John Smith", "<PERSON_2>": "Mary Jones"}


def test_vault_survives_a_json_round_trip():
    vault = pii.PseudonymVault()
    pii.screen_input("John Smith, MRN 4455667.", vault)
    restored = pii.PseudonymVault.from_json(vault.to_json())
    assert restored.originals() == vault.originals()
    assert restored.placeholder_for("PERSON", "john  smith") == "<PERSON_1>"


def test_output_screening_keeps_placeholders_and_redacts_new_values_without_keeping_them():
    screening = pii.screen_output(
        "Notify <PERSON_1> within 60 days. Jane Doe at 555-987-6543 agreed."
    )
    assert (
        screening.text
        == "Notify <PERSON_1> within 60 days. <PERSON_REDACTED> at <PHONE_NUMBER_REDACTED> agreed."
    )
    assert screening.counts == {"PERSON": 1, "PHONE_NUMBER": 1}


def test_detection_failure_raises_without_quoting_the_text(monkeypatch):
    class BrokenAnalyzer:
        @property
        def nlp_engine(self):
            raise RuntimeError("John Smith could not be parsed")

    monkeypatch.setattr(pii, "analyzer", lambda: BrokenAnalyzer())
    with pytest.raises(pii.PiiDetectionError) as error:
        pii.detect("John Smith")
    assert "John Smith" not in str(error.value)
    assert error.value.__cause__ is None


def test_detection_never_reaches_for_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # URLs and e-mail addresses are the recognizers that consult the public suffix list.
    screening = redact(
        "Mail bob@clinic.example.co.uk or see https://records.example.com/bob today."
    )
    assert "bob@clinic.example.co.uk" not in screening.text
    assert "EMAIL_ADDRESS" in screening.counts


def test_every_entity_type_a_policy_may_name_has_a_threshold_and_back():
    from compliance.entities import ENTITY_TYPES

    assert set(ENTITY_TYPES) == set(pii.ENTITY_THRESHOLDS)


def test_only_the_requested_entity_types_are_redacted():
    text = "John Smith, MRN 4455667, wrote from john@example.org."
    screening = pii.screen_input(text, pii.PseudonymVault(), entities=["EMAIL_ADDRESS"])
    assert screening.text == "John Smith, MRN 4455667, wrote from <EMAIL_ADDRESS_1>."


def test_an_entity_type_without_a_recognizer_fails_instead_of_being_skipped():
    with pytest.raises(pii.PiiDetectionError, match="no recognizer for entity types SHOE_SIZE"):
        pii.detect("size 44", entities=["PERSON", "SHOE_SIZE"])


def test_jurisdiction_adjectives_are_not_redacted_as_groups():
    text = "Does German law let a Muslim patient's data be shared?"
    screening = pii.screen_input(text, pii.PseudonymVault(), entities=["NRP"])
    assert "German law" in screening.text
    assert "Muslim" not in screening.text


def test_restoring_puts_back_only_the_requesters_own_values():
    from compliance.pseudonyms import restore

    vault = pii.PseudonymVault()
    redacted = pii.screen_input("John Smith called.", vault).text
    answer = f"Tell {redacted.split()[0]} that <PERSON_REDACTED> called."
    assert restore(answer, vault) == "Tell John Smith that <PERSON_REDACTED> called."


def test_self_test_covers_every_entity_type_and_passes():
    assert set(pii.SELF_TEST_SAMPLES) == set(pii.ENTITY_THRESHOLDS)
    pii.self_test(list(pii.ENTITY_THRESHOLDS))


def test_self_test_names_a_type_nothing_detects(monkeypatch):
    monkeypatch.setitem(pii.SELF_TEST_SAMPLES, "US_SSN", "No number here at all.")
    with pytest.raises(pii.PiiSelfTestError, match="not detected: US_SSN"):
        pii.self_test(["PERSON", "US_SSN"])
    with pytest.raises(pii.PiiSelfTestError, match="no sample for SHOE_SIZE"):
        pii.self_test(["SHOE_SIZE"])


def test_a_worker_refuses_to_start_when_a_policy_type_is_not_detected(monkeypatch):
    from assistant.worker_boot import check_pii_detection

    check_pii_detection()
    monkeypatch.setitem(pii.SELF_TEST_SAMPLES, "ZIP_CODE", "Nothing to find.")
    with pytest.raises(pii.PiiSelfTestError, match="ZIP_CODE"):
        check_pii_detection()


def test_questions_about_the_rules_pass_through_unchanged():
    """Over-redaction harms answers: questions that name rules, regulators and regimes but no
    person must reach the model as they were written."""
    from compliance.policy import policies
    from tests.compliance import test_refusals as questions

    rule_questions = (
        questions.INDIVIDUALIZED_DIAGNOSIS_NEAR_MISSES
        + questions.INDIVIDUALIZED_LEGAL_ADVICE_NEAR_MISSES
        + questions.REIDENTIFICATION_NEAR_MISSES
    )
    for code in ("US", "EU", "UK"):
        entities = policies().get(code).all_entities()
        for question in rule_questions:
            assert (
                pii.screen_input(question, pii.PseudonymVault(), entities=entities).text == question
            )


def test_streaming_prefix_holds_back_the_last_words_and_never_cuts_inside_a_value():
    from compliance.pii import screen_output_prefix

    text = "Notify the patient, John Smith, within sixty days of the"
    screened, covered = screen_output_prefix(text, holdback_words=3)
    assert text[covered:] == "days of the"
    assert screened.text == "Notify the patient, <PERSON_REDACTED>, within sixty"
    # A name that reaches into the held-back words is held back whole.
    partial, covered = screen_output_prefix("Please call Dr. John Smith today", holdback_words=2)
    assert "John" not in partial.text and "Smith" not in partial.text
    assert screen_output_prefix("Too short", holdback_words=3)[1] == 0
