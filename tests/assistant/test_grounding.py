"""Grounded answers, piece by piece: the evidence chosen from passages, the check of each draft
sentence against it, and the answer as delivered. Each check has a sentence that must be
dropped and one that must pass."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from assistant.grounding.answerable import asks_for, asks_for_unit, gives
from assistant.grounding.beyond_rules import beyond_rules, beyond_rules_lead
from assistant.grounding.claims import modalities, negated, numbers, references
from assistant.grounding.compose import (
    ABSTENTION,
    MORE_QUOTES_LEAD,
    QUOTES_LEAD,
    abstained,
    delivered,
)
from assistant.grounding.coverage import corpus_names, missing_names, not_mentioned_lead
from assistant.grounding.evidence import Evidence, EvidenceSettings, choose, units_of
from assistant.grounding.offtopic import off_topic
from assistant.grounding.prompt import grounded_messages
from assistant.grounding.verify import DraftWatch, draft_sentences, verify
from domains.embeddings import DEFAULT_EMBEDDING_MODEL, embed


@dataclass(frozen=True)
class P:
    source_id: str
    citation: str
    text: str
    title: str = ""
    score: float = 0.6


BREACH = P(
    "hc-hipaa-164-404-b",
    "45 CFR 164.404(b)",
    "After discovering a breach of unsecured protected health information (PHI), a HIPAA covered "
    "entity must notify each affected individual without unreasonable delay and in no case later "
    "than 60 calendar days after discovery of the breach.",
)
EXEMPT = P(
    "x",
    "Example Code 30.2",
    "A clinic need not log disclosures made for treatment. A clinic must not sell health records.",
)
GDPR = P(
    "gdpr-33-1",
    "GDPR Art. 33(1)",
    "In the case of a personal data breach, the controller shall without undue delay and, where "
    "feasible, not later than 72 hours after having become aware of it, notify the supervisory "
    "authority.",
)
QUESTION = "How long does a covered entity have to notify individuals of a breach of unsecured PHI?"


def evidence(*passages: P) -> list[Evidence]:
    return [Evidence(n, p, 0, len(p.text), 1.0) for n, p in enumerate(passages, start=1)]


def check(draft: str, *passages: P) -> list[tuple[str, tuple]]:
    return [(s.reason or "kept", s.evidence) for s in verify(draft, evidence(*passages)).sentences]


# --- verification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "outcome"),
    [
        ("A covered entity must notify affected individuals within 60 days [1].", "kept"),
        ("A covered entity must notify each affected individual within sixty days [1].", "kept"),
        ("A covered entity has 7 days to notify affected individuals [1].", "number"),
        (
            "A covered entity must notify each affected individual within 60 business days [1].",
            "number",
        ),
        (
            "A covered entity must notify each individual at least 60 days after discovery [1].",
            "number",
        ),
    ],
)
def test_numbers_durations_and_bounds_must_be_the_evidences(draft, outcome):
    assert check(draft, BREACH)[0][0] == outcome


@pytest.mark.parametrize(
    ("draft", "outcome"),
    [
        ("A clinic need not log disclosures made for treatment [1].", "kept"),
        ("A clinic must log disclosures made for treatment [1].", "modality"),
        ("A clinic must not sell health records [1].", "kept"),
        ("A clinic may sell health records [1].", "modality"),
    ],
)
def test_must_must_not_may_and_need_not_must_agree_with_the_evidence(draft, outcome):
    assert check(draft, EXEMPT)[0][0] == outcome


def test_a_negation_the_evidence_does_not_make_is_dropped():
    kept = "The controller shall notify the supervisory authority not later than 72 hours [1]."
    negating = "The controller does not notify the supervisory authority within 72 hours [1]."
    assert check(kept, GDPR)[0][0] == "kept"
    assert check(negating, GDPR)[0][0] == "negation"


@pytest.mark.parametrize(
    ("draft", "outcome"),
    [
        ("Under 45 CFR 164.404(b), notify each affected individual within 60 days [1].", "kept"),
        ("Under 45 CFR 164.410, notify each affected individual within 60 days [1].", "reference"),
    ],
)
def test_rule_references_must_be_in_the_evidence_or_its_label(draft, outcome):
    assert check(draft, BREACH)[0][0] == outcome


def test_a_reference_to_an_article_covers_its_paragraphs():
    draft = "Under Article 33, the controller shall notify the supervisory authority within 72 hours [1]."
    assert check(draft, GDPR)[0][0] == "kept"


def test_a_sentence_that_restates_nothing_of_the_evidence_is_dropped():
    draft = "This includes emails sent to media outlets serving the covered entity's state [1]."
    assert check(draft, BREACH)[0][0] == "coverage"


def test_a_sentence_citing_the_wrong_number_rests_on_the_evidence_it_agrees_with():
    draft = "A covered entity must notify affected individuals within 60 calendar days [2]."
    assert check(draft, BREACH, EXEMPT) == [("kept", (1,))]


def test_fragments_and_the_models_abstention_are_dropped_with_their_reasons():
    outcome = check("Yes [1]. The evidence does not answer this question.", BREACH)
    assert [reason for reason, _ in outcome] == ["fragment", "model_abstained"]


def test_a_verdict_is_taken_off_and_a_restated_question_is_no_evidence():
    bar = P(
        "t",
        "45 CFR 160.414",
        "No action under this subpart may be entertained unless commenced by the Secretary within 6 years from the date of the violation.",
    )
    outcome = verify(
        "Yes, there is a time bar on HHS starting a penalty action over an old violation [1]. "
        "No, no action may be entertained unless commenced by the Secretary within 6 years [1].",
        evidence(bar),
    ).sentences
    assert [s.reason or "kept" for s in outcome] == ["coverage", "kept"]
    assert (
        outcome[1].text
        == "No action may be entertained unless commenced by the Secretary within 6 years."
    )


def test_markers_after_the_full_stop_belong_to_the_sentence_before_them():
    assert draft_sentences("Notify within 60 days. [1] Keep records.") == [
        ("Notify within 60 days.", [1]),
        ("Keep records.", []),
    ]


def test_the_audit_summary_has_counts_and_reasons_and_no_text():
    verification = verify(
        "A covered entity must notify individuals within 60 days [1]. A hospital has 7 days to notify patients [1].",
        evidence(BREACH),
    )
    assert verification.summary() == {"sentences": 2, "kept": 1, "dropped": {"number": 1}}


def test_the_draft_watch_stops_at_the_first_sentence_that_fails():
    watch = DraftWatch(evidence(BREACH))
    assert not watch("A covered entity must notify affected individuals within 60 days [1].")
    assert watch("A hospital has 7 days [1]. It")
    wandering = "This is a medical device company's policy on how much time can be taken off of a patient's due date"
    assert DraftWatch(evidence(BREACH))(wandering)
    assert not DraftWatch(evidence(BREACH))(BREACH.text[:150])
    patient = DraftWatch(evidence(BREACH), max_sentences=1)
    assert patient("A covered entity must notify affected individuals within 60 days [1]. The")


# --- claims ---------------------------------------------------------------------------------


def test_numbers_are_read_with_their_unit_qualifier_bound_and_currency():
    (deadline,) = numbers("in no case later than 60 calendar days")
    assert (deadline.value, deadline.unit, deadline.qualifier, deadline.bound) == (
        "60",
        "day",
        "calendar",
        "upper",
    )
    amounts = numbers("$10,000, EUR 20 million or 4 % of turnover; six years")
    assert [(n.value, n.currency, n.percent, n.unit) for n in amounts] == [
        ("10000", "$", False, ""),
        ("20000000", "€", False, ""),
        ("4", "", True, ""),
        ("6", "", False, "year"),
    ]
    assert numbers("§ 164.404")[0].value == "164.404"


def test_modalities_and_negation():
    assert modalities("A clinic must not sell records but may share them") == {
        "prohibition",
        "permission",
    }
    assert modalities("The processor need not notify") == {"exemption"}
    assert not negated("in no case later than 60 days")
    assert negated("This requirement does not apply to treatment")
    assert references("See Article 33(1) and 45 CFR 164.404(b)") == [
        "art. 33(1)",
        "45 cfr 164.404(b)",
    ]


# --- evidence -------------------------------------------------------------------------------

NOTICE_CONTENTS = (
    "(c) Implementation specifications: Content of notification --\n\n"
    "(1) Elements. The notification required by paragraph (a) of this section shall include, "
    "to the extent possible:\n\n"
    "(A) A brief description of what happened, including the date of the breach;\n\n"
    "(B) Contact procedures, which shall include a toll-free telephone number.\n\n"
    "(2) Plain language requirement. The notification shall be written in plain language."
)


def test_a_list_is_a_unit_with_its_lead_in_and_a_heading_joins_the_sentence_after_it():
    units = [NOTICE_CONTENTS[s:e] for s, e in units_of(NOTICE_CONTENTS)]
    lead_in_with_items = next(u for u in units if u.startswith("(1) Elements."))
    assert lead_in_with_items.endswith("toll-free telephone number.")
    # The heading of (c) is read with the first sentence under it, not alone.
    assert not any(
        u == "(c) Implementation specifications: Content of notification --" for u in units
    )
    assert any(u.startswith("(2) Plain language requirement. The notification") for u in units)


def test_a_list_ends_at_the_next_sibling_of_its_lead_in_not_at_a_deeper_list():
    text = (
        "(3) When a specification is addressable, a covered entity must--\n\n"
        "(i) Assess whether it is reasonable; and\n\n"
        "(ii) As applicable--\n\n"
        "(A) Implement it; or\n\n"
        "(B) If it is not reasonable--\n\n"
        "(1) Document why; and\n\n"
        "(2) Implement an equivalent alternative measure.\n\n"
        "(4) Other standards apply."
    )
    units = [text[s:e] for s, e in units_of(text)]
    whole = max((u for u in units if u.startswith("(3) When")), key=len)
    assert whole.endswith("equivalent alternative measure.")
    inner = max((u for u in units if u.startswith("(ii) As applicable")), key=len)
    assert inner.endswith("equivalent alternative measure.")
    assert "(4)" not in whole + inner


def embedder(texts):
    return embed(texts, model=DEFAULT_EMBEDDING_MODEL)


def test_evidence_is_chosen_from_the_passages_and_a_short_passage_is_quoted_whole():
    choice = choose(QUESTION, [GDPR, BREACH], embed=embedder)
    assert choice.units[0].passage is BREACH
    assert choice.units[0].text == BREACH.text
    assert [e.number for e in choice.units] == list(range(1, len(choice.units) + 1))


def test_no_evidence_when_the_best_is_weak():
    choice = choose(
        "What is the best recipe for sourdough bread?",
        [P("g", "GDPR Art. 33(1)", GDPR.text, score=0.1)],
        embed=embedder,
        settings=EvidenceSettings(min_score=0.9),
    )
    assert (choice.units, choice.unanswered) == ([], "weak")


def test_no_evidence_when_the_question_asks_for_an_amount_the_sources_do_not_state():
    duty = P(
        "d",
        "GwG § 43(1)",
        "Obliged entities must report suspicious transactions to the FIU without delay.",
    )
    fine = choose("What maximum fine applies for failing to report?", [duty], embed=embedder)
    assert fine.unanswered == "no_answer_of_kind"
    timing = choose("How soon must a suspicious transaction be reported?", [duty], embed=embedder)
    assert timing.units and not timing.unanswered


def test_what_a_question_asks_for():
    assert asks_for("How long do we have to notify?") == "duration"
    assert asks_for("What maximum fine can the regulator impose?") == "amount"
    assert asks_for("What percentage of shares makes a beneficial owner?") == "percentage"
    assert asks_for("How many identifiers must be removed?") == "count"
    assert asks_for("Must a business associate notify the covered entity?") is None
    assert asks_for("How much extra time can we take for a complex request?") == "duration"
    assert asks_for("How much longer may the controller take?") == "duration"
    assert asks_for("How much did the authority fine the bank?") == "amount"
    assert asks_for("What determines how much security I need for client files?") is None
    assert gives("not later than 72 hours after", "duration")
    assert not gives("Article 33 applies to controllers", "count")
    # "Annual turnover" sets an amount, not a time limit.
    assert not gives("fines up to 4 % of the total worldwide annual turnover", "duration")


def test_how_often_is_answered_by_a_recurrence_not_by_a_period():
    assert asks_for("How often must we redo our security risk analysis?") == "frequency"
    assert asks_for("Must a DPIA be redone at some fixed interval?") == "frequency"
    assert asks_for("How long must records be kept?") == "duration"
    assert gives("at least once every three years", "frequency")
    assert gives("not more frequently than once every 12 months", "frequency")
    assert gives("staff must receive annual AML training", "frequency")
    # A retention period, a review "as needed" or a sum per year states no recurrence.
    assert not gives("retain the documentation for six years", "frequency")
    assert not gives("review and modify the measures as needed", "frequency")
    assert not gives("up to 4 % of the total worldwide annual turnover", "frequency")


def test_what_is_the_case_now_in_practice_proposed_or_decided_is_beyond_any_rule():
    assert beyond_rules("Which countries currently have an adequacy decision?") == "now"
    assert beyond_rules("How many months does the Commission usually take to decide?") == (
        "practice"
    )
    assert beyond_rules("What do fines come to on average?") == "practice"
    assert beyond_rules("Under the 2021 proposed changes to the Privacy Rule, ...?") == "proposed"
    assert beyond_rules("Under the HITECH proposed accounting rule, how far back?") == "proposed"
    assert beyond_rules("How much did the Irish authority fine <ORGANIZATION_1> in 2023?") == (
        "enforcement"
    )
    assert beyond_rules("How many fines has the ICO issued?") == "enforcement"
    # Steps of the rules themselves, which the sources answer.
    assert beyond_rules("What must HHS's notice of proposed penalty tell us?") is None
    assert beyond_rules("How long do other authorities have to object to a draft decision?") is None
    assert beyond_rules("What is the latest date the press release can go out?") is None
    assert beyond_rules("How many days have we got to answer a request?") is None
    assert beyond_rules("Must we usually obtain consent before disclosure?") is None
    assert beyond_rules_lead("proposed") == (
        "The sources for this domain state the rules in force; they do not say what a proposal "
        "that is not in force would require, so they do not answer this question."
    )


def test_a_number_of_hours_is_not_answered_in_years_but_may_be_in_days():
    assert asks_for_unit("Within how many hours must the processor tell us?") == "hour"
    assert asks_for_unit("How many calendar days do we have?") == "day"
    # A count per year is no duration.
    assert asks_for_unit("How many patients a year must a hospital treat?") is None
    assert asks_for_unit("How long must records be kept?") is None
    assert gives("must be notified within 72 hours", "duration", "day")
    assert gives("within one month of receipt of the request", "duration", "day")
    assert not gives("records must be kept for six years", "duration", "hour")
    # Without a number of a neighbouring unit, words of timing are no answer to "how many".
    assert not gives("must tell the controller without undue delay", "duration", "hour")
    assert gives("must tell the controller without undue delay", "duration")


def test_evidence_in_years_does_not_answer_how_many_hours():
    records = P(
        "r",
        "45 CFR 164.530(j)",
        "A covered entity must retain the documentation for six years from the date of its creation.",
    )
    # Weakness aside (min_score 0): only the unit decides.
    settings = EvidenceSettings(min_score=0.0)
    hours = choose(
        "Within how many hours must the documentation be retained?",
        [records],
        embed=embedder,
        settings=settings,
    )
    assert hours.unanswered == "no_answer_of_kind"
    years = choose(
        "For how many years must the documentation be retained?",
        [records],
        embed=embedder,
        settings=settings,
    )
    assert years.units and not years.unanswered


# --- what the sources mention ---------------------------------------------------------------

CORPUS = corpus_names(
    [
        "45 CFR 164.404(b)\nA covered entity shall provide the notification without unreasonable "
        "delay and in no case later than 60 calendar days after discovery of a breach.",
        "GDPR Art. 33(1)\nThe controller shall notify the supervisory authority under "
        "Regulation (EU) 2016/679; the Court may review it.",
        "POCA s. 330\nThe Proceeds of Crime Act 2002 makes failing to disclose an offence. "
        "Anti-money laundering supervisors under the HIPAA rules.",
        "45 CFR 164.400\nNotification in the case of breach, whatever California law adds.",
    ]
)


@pytest.mark.parametrize(
    "question, missing",
    [
        (
            "Under CIRCIA, how many hours does a hospital have to report a ransom payment?",
            ["CIRCIA"],
        ),
        ("Under OSHA's recordkeeping rules, how long must logs be kept?", ["OSHA"]),
        ("Under ONC's information blocking rule, which exceptions apply?", ["ONC"]),
        ("What must a notice contain under the FTC Health Breach Notification Rule?", ["FTC"]),
        ("What consent does 42 CFR Part 2 require before records are shared?", ["42 CFR"]),
        ("Does Section 1557 require taglines in our notices?", ["Section 1557"]),
        # Named in the corpus, spelled out, in part or in the plural: nothing is missing.
        ("Under POCA, whom must an employee report suspicions to?", []),
        ("Under HIPAA, when is notice due under 45 CFR 164.404(b)?", []),
        ("Under GDPR Art. 33(1)(a), whom does the controller notify?", []),
        ("What does the Anti-Money Laundering Act require?", []),
        # A placeholder of the redaction is never a name to look up.
        ("Under the <ORGANIZATION_1> Act, must <ORGANIZATION_2>'s rules apply?", []),
        # An acronym that is not given as the law asked about says nothing.
        ("Our EHR was breached by a ransomware gang; when must we notify under HIPAA?", []),
        # A law spelled out counts by its distinctive words together, in any order, or by
        # initials the corpus writes.
        (
            "Under the Corporate Transparency Act, how many days does a new LLC have?",
            ["the Corporate Transparency Act"],
        ),
        (
            "Under the German Federal Data Protection Act, when is a DPO due?",
            ["the German Federal Data Protection Act"],
        ),
        ("Under the HIPAA Breach Notification Rule, when is notice due?", []),
        ("What does the Health Insurance Portability and Accountability Act say?", []),
        ("What must we report under the Proceeds of Crime Act?", []),
        # A two-word name is not looked up: the regulation rarely writes its common name.
        ("Does the Security Rule cover paper records?", []),
        # A place given as the maker of a law counts when the corpus names it, or when it is a
        # country the service covers.
        ("How many days does Texas law give a hospital to notify?", ["Texas"]),
        ("What does the Florida medical board require us to keep?", ["Florida"]),
        ("Under California law, when is notice due?", []),
        ("Under English law, may we keep the file?", []),
        ("Our clinic in Texas had a breach; when must we notify?", []),
        # Guidance by its number, and a court ruling by its case: the corpus must cite them.
        (
            "According to EDPB Recommendations 01/2020, what must we assess?",
            ["EDPB", "Recommendations 01/2020"],
        ),
        ("Does Regulation (EU) 2016/679 apply?", []),
        ("After the General Court's Latombe judgment, may we rely on it?", ["Latombe"]),
        ("Under the Court's <PERSON_1> ruling, is an IP address personal data?", ["<PERSON_1>"]),
        ("What did the Court's judgment say?", []),
        ("May we enforce <PERSON_1>'s judgment against the firm under HIPAA?", []),
    ],
)
def test_a_law_or_rule_the_sources_never_mention_is_missing(question, missing):
    assert missing_names(question, CORPUS) == missing


def test_the_lead_names_what_is_missing_but_repeats_no_number():
    assert not_mentioned_lead(["CIRCIA"]).startswith(
        "The sources for this domain do not mention CIRCIA, so"
    )
    assert not_mentioned_lead(["ONC", "FTC"]).startswith(
        "The sources for this domain do not mention ONC or FTC"
    )
    assert not any(c.isdigit() for c in not_mentioned_lead(["42 CFR", "NIS2"]))


# --- prompt and delivery --------------------------------------------------------------------


def test_the_prompt_gives_the_model_only_the_numbered_evidence_and_drops_examples_to_fit():
    example = {
        "evidence": [{"citation": "Example Code 1", "text": "A clinic must file within 14 days."}],
        "question": "When?",
        "answer": "A clinic must file within 14 days [1].",
    }

    def words(messages):
        return sum(len(m["content"].split()) for m in messages)

    messages, included = grounded_messages(
        system_prompt="You help.",
        examples=[example, example],
        evidence=evidence(BREACH, GDPR),
        question=QUESTION,
        count_tokens=words,
        max_input_tokens=10_000,
    )
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert messages[-1]["content"].startswith("Evidence:\n[1] 45 CFR 164.404(b): After discovering")
    assert messages[-1]["content"].endswith(f"Question: {QUESTION}")
    small, kept = grounded_messages(
        system_prompt="You help.",
        examples=[example, example],
        evidence=evidence(BREACH, GDPR),
        question=QUESTION,
        count_tokens=words,
        max_input_tokens=words(messages) - 5,
    )
    assert len(small) < len(messages) and kept == included


def test_delivery_quotes_the_evidence_the_verified_sentences_rest_on_renumbered():
    verification = verify(
        "A covered entity must notify affected individuals within 60 days [2].",
        evidence(GDPR, BREACH),
    )
    delivery = delivered(verification, evidence(GDPR, BREACH))
    assert delivery.grounding == "verified"
    assert delivery.text == (
        "A covered entity must notify affected individuals within 60 days [1].\n\n"
        f'[1] 45 CFR 164.404(b): "{BREACH.text}"\n\n'
        # The evidence no kept sentence cites is still quoted, after the cited.
        f'{MORE_QUOTES_LEAD}\n[2] {GDPR.citation}: "{" ".join(GDPR.text.split())}"'
    )
    assert [c["citation"] for c in delivery.citations()] == ["45 CFR 164.404(b)", GDPR.citation]
    assert delivery.citations()[0]["quote"] == BREACH.text


def test_without_a_verified_sentence_the_evidence_is_quoted_alone():
    verification = verify("A hospital has 7 days [1].", evidence(BREACH))
    delivery = delivered(verification, evidence(BREACH))
    assert delivery.grounding == "quoted"
    assert delivery.text.startswith(f"{QUOTES_LEAD}\n\n[1] 45 CFR 164.404(b): ")
    assert "7 days" not in delivery.text


def test_an_abstention_says_what_was_searched():
    delivery = abstained(searched="the Healthcare sources that apply in US")
    assert delivery.text == f"{ABSTENTION} Searched: the Healthcare sources that apply in US."
    assert (delivery.grounding, delivery.quotes) == ("abstained", [])


@pytest.mark.parametrize(
    "question, nearest, expected",
    [
        ("x?", 0.9, True),  # too few words, however near
        ("12345", 0.3, True),
        ("What is the capital of Mongolia?", 0.05, True),
        ("What is the capital of Mongolia?", 0.2, False),
        ("HIPAA fines?", 0.4, False),
        ("Can we fax records to <PERSON_1>?", 0.15, False),
    ],
)
def test_off_topic_needs_two_words_and_some_nearness_to_the_sources(question, nearest, expected):
    assert off_topic(question, nearest) is expected
