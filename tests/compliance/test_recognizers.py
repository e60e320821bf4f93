"""Each recognizer with text it must catch and text it must leave alone (including identifiers
whose checksum fails)."""

from __future__ import annotations

import pytest

from compliance import pii
from compliance.recognizers import _vin_is_valid

CASES = [
    # (entity type, text, value that must be redacted or None when nothing of that type may be)
    ("US_NPI", "Dr. Lee's NPI is 1234567893.", "1234567893"),
    ("US_NPI", "NPI 1234567890 fails the Luhn check.", None),
    ("US_MBI", "Medicare MBI 1EG4-TE5-MK73 on file.", "1EG4-TE5-MK73"),
    (
        "US_HEALTH_INSURANCE_MEMBER_ID",
        "Member ID XJH123456789 for the health plan.",
        "XJH123456789",
    ),
    ("UK_NINO", "Her National Insurance number is AB 12 34 56 C.", "AB 12 34 56 C"),
    ("UK_NINO", "NI number QQ123456C has an invalid prefix.", None),
    ("UK_NHS", "NHS number 943 476 5919 was given.", "943 476 5919"),
    ("UK_NHS", "NHS number 943 476 5918 fails the check digit.", None),
    ("ES_NIF", "DNI 12345678Z belongs to the client.", "12345678Z"),
    ("ES_NIF", "DNI 12345678A has the wrong check letter.", None),
    ("DE_TAX_ID", "Steuer-ID 86095742719 was sent.", "86095742719"),
    ("DE_TAX_ID", "Steuer-ID 86095742718 fails the checksum.", None),
    ("UK_POSTCODE", "The postcode SW1A 1AA is in Westminster.", "SW1A 1AA"),
    ("UK_VEHICLE_REGISTRATION", "The car's licence plate is AB12 CDE.", "AB12 CDE"),
    ("VEHICLE_ID", "VIN 1HGCM82633A004352 recorded.", "1HGCM82633A004352"),
    ("VEHICLE_ID", "Chassis 1HGCM82633A004352 seen at the scene.", "1HGCM82633A004352"),
    ("VEHICLE_ID", "Chassis 1HGCM82633A004353 has a wrong check digit.", None),
    ("CASE_NUMBER", "Case No. 2:21-cv-01234 is pending.", "2:21-cv-01234"),
    ("CASE_NUMBER", "See 1:19-cr-00567 in the Eastern District.", "1:19-cr-00567"),
    ("CASE_NUMBER", "Claim number CLM-88812-X was filed.", "CLM-88812-X"),
    ("CASE_NUMBER", "In case 2 clients disagree, the rule applies.", None),
    ("AGE_OVER_89", "A 93-year-old woman was admitted.", "93-year-old"),
    ("AGE_OVER_89", "The patient, aged 95, lives alone.", "95"),
    ("AGE_OVER_89", "A 45-year-old man was admitted.", None),
    ("ZIP_CODE", "Her zip code is 94110.", "94110"),
    ("ZIP_CODE", "The clinic is in Oakland, CA 94607.", "94607"),
    ("ZIP_CODE", "The rule took effect in 2024 for 50000 entities.", None),
    ("ACCOUNT_NUMBER", "Her account number 1234 5678 9012 was frozen.", "1234 5678 9012"),
    ("DEVICE_ID", "The pacemaker serial SN-88A7734 was recalled.", "SN-88A7734"),
    ("MEDICAL_RECORD_NUMBER", "Chart for MRN 4455667 was exposed.", "4455667"),
    ("MEDICAL_RECORD_NUMBER", "The rule at 45 CFR 164.404 applies.", None),
    ("MEDICAL_LICENSE", "Prescriber DEA number AB1234563 on the script.", "AB1234563"),
    ("MEDICAL_LICENSE", "Prescriber DEA number AB1234567 fails the checksum.", None),
    ("US_SSN", "SSN 078-05-1120 was on the form.", "078-05-1120"),
    ("US_ITIN", "His ITIN is 912-70-1234.", "912-70-1234"),
    ("US_PASSPORT", "His passport number is 912803456.", "912803456"),
    ("US_DRIVER_LICENSE", "Her driver's license number is D1234567.", "D1234567"),
    ("US_BANK_NUMBER", "Wire it from bank 12345678901 today.", "12345678901"),
    ("PHONE_NUMBER", "Fax: (555) 987-6543 for referrals.", "(555) 987-6543"),
    ("PHONE_NUMBER", "Call me at (555) 123-4567.", "(555) 123-4567"),
    ("PHONE_NUMBER", "Notify within 60 days under 45 CFR 164.404(b).", None),
    ("STREET_ADDRESS", "She lives at 12 Main Street, Springfield.", "12 Main Street, Springfield"),
    (
        "STREET_ADDRESS",
        "Send the records to 64 Rua Papoula 1998\n Apt. 12\n Lisboa\n Portugal 01344",
        "64 Rua Papoula 1998\n Apt. 12\n Lisboa\n Portugal 01344",
    ),
    (
        "STREET_ADDRESS",
        "Jane Roe\n\n18 Via Capo le Case 143\n Suite 9\n Calino",
        "18 Via Capo le Case 143\n Suite 9\n Calino",
    ),
    (
        "STREET_ADDRESS",
        "How do I change my address to 40 Rue Dielhere 446 Suite 976 Ramskapelle for post mail?",
        "40 Rue Dielhere 446 Suite 976 Ramskapelle",
    ),
    ("STREET_ADDRESS", "The deadline is at 60 days after discovery.", None),
    (
        "STREET_ADDRESS",
        "My addresses: 5 Oak Road\n Leeds, LS1 4AB, and 32 Pernilles vei 115 Apt. 714 OSLO",
        "32 Pernilles vei 115 Apt. 714 OSLO",
    ),
    (
        "STREET_ADDRESS",
        "Please update the billing address with PSC 9236, Box 1684\nAPO AP 02137 for this card.",
        "PSC 9236, Box 1684\nAPO AP 02137",
    ),
    (
        "CONTACT_DETAILS",
        "Jane Roe\nSystems administrator\nAcme Ltd\n91 Rua Nova 16\n Lisboa",
        "Systems administrator",
    ),
    ("CONTACT_DETAILS", "Thanks for your help.\n\nWhat is the 60-day rule?", None),
    ("LOCATION", "My friend lives in Hueb with her sister.", "Hueb"),
    ("PERSON", "Hello, my name is tina roelink and I need help.", "tina roelink"),
    ("PERSON", "Please call me when you are here.", None),
    ("PERSON", "Mr. Davis is a 50 year old teacher.", "Mr. Davis"),
    ("STREET_ADDRESS", "The meeting is at 5 pm tomorrow.", None),
    ("STREET_ADDRESS", "Steps:\n1. Notify individuals\n2. Notify HHS", None),
    ("PHONE_NUMBER", "You can call 0477 11 28 98 after six.", "0477 11 28 98"),
    ("PHONE_NUMBER", "061-085-9260x155 mobile", "061-085-9260x155"),
    ("PHONE_NUMBER", "The fine was 10 000 000 euros in 2023.", None),
    ("DATE", "Date: 1991-04-02 04:44:09 was the visit.", "1991-04-02 04:44:09"),
    ("DATE", "Admitted on 03/04/2024 with chest pain.", "03/04/2024"),
    ("DATE", "Notify within 60 days of discovery.", None),
    ("IBAN_CODE", "Pay to DE89 3704 0044 0532 0130 00 please.", "DE89 3704 0044 0532 0130 00"),
    ("IBAN_CODE", "Pay to DE89 3704 0044 0532 0130 01 please.", None),
    ("CREDIT_CARD", "Card 4111 1111 1111 1111 was charged.", "4111 1111 1111 1111"),
    # A number written as a card number is one to a reader, checksum or not.
    ("CREDIT_CARD", "Card 4111 1111 1111 1112 fails the Luhn check.", "4111 1111 1111 1112"),
    ("CREDIT_CARD", "My card 4741205706050306273 is expiring.", "4741205706050306273"),
    ("CREDIT_CARD", "Reference 4111 1111 1111 1112 fails the Luhn check.", None),
    ("CREDIT_CARD", "The card network changed its rules in 2024.", None),
    ("EMAIL_ADDRESS", "Write to jane.roe@example.org.", "jane.roe@example.org"),
    ("IP_ADDRESS", "Logged from 192.168.10.24 at night.", "192.168.10.24"),
    ("URL", "Her blog is https://janeroe.example.com/about.", "https://janeroe.example.com/about"),
    ("NRP", "The patient is a practising Muslim.", "Muslim"),
    ("NRP", "Does German law apply?", None),
    ("PERSON", "My patient John Smith asked.", "John Smith"),
    ("ORGANIZATION", "My patient works for Acme Corporation.", "Acme Corporation"),
    (
        "ORGANIZATION",
        "Must HHS be told under the Privacy Rule by the Financial Intelligence Unit?",
        None,
    ),
    ("PERSON", "Member ID XJH123456789 is on the card.", None),
    ("LOCATION", "She moved to Springfield last year.", "Springfield"),
    ("LOCATION", "Does the rule apply in California?", None),
    ("LOCATION", "I am american but I live in Netherlands.", "Netherlands"),
    ("LOCATION", "I'm in Uppsala for a business trip.", "Uppsala"),
    ("LOCATION", "Does GDPR apply to a clinic in Germany?", None),
    ("AGE", "This 55 year old female complains of pain.", "55"),
    ("AGE", "He retired at the age of 70.", "70"),
    ("AGE", "Keep the records for 6 years after the last visit.", None),
    ("AGE", "Aged receivables over 90 days are written off.", None),
    # Thresholds in rules are nobody's age.
    ("AGE", "A child under the age of 16 needs a parent's consent (Art. 8).", None),
    ("AGE", "Children over 12 years old may consent themselves.", None),
    ("TITLE", "Mike Hermansen, the property appraiser, said no.", "property appraiser"),
    ("TITLE", "Regards, Jane Roe, Compliance Officer, Acme Ltd", "Compliance Officer"),
    ("TITLE", "John Smith, who called yesterday, said no.", None),
    ("TITLE", "Ask Zevia PBC, and the regulator will answer.", None),
    ("ZIP_CODE", "My zip code is M4J 3S3.", "M4J 3S3"),
    ("ZIP_CODE", "Postcode 70-746, Szczecin.", "70-746"),
    ("ZIP_CODE", "The zip code rule changed in 2024.", None),
    ("US_SSN", "His social security number is ZZ 546426 T.", "ZZ 546426 T"),
    ("US_SSN", "Social security rules changed in 2024.", None),
    ("US_DRIVER_LICENSE", "My driver's license number is 5182054.", "5182054"),
    ("US_DRIVER_LICENSE", "Driver's licence rules apply after 18 years.", None),
    ("PHONE_NUMBER", "No message reached my registered 050 362 5848.", "050 362 5848"),
    ("ORGANIZATION", "She spent a year at Diodes Incorporated in Cascais.", "Diodes Incorporated"),
    ("ORGANIZATION", "Nautilus Marine Services PLC hired him.", "Nautilus Marine Services PLC"),
    ("ORGANIZATION", "Does HIPAA apply to a group health plan?", None),
    ("DATE", "Seen in Apr 2000 and again 07/2007.", "Apr 2000"),
    ("DATE", "Seen in Apr 2000 and again 07/2007.", "07/2007"),
    ("DATE", "Served on 24-Mar-1971 at 03:43 PM.", "24-Mar-1971"),
    ("DATE", "Served on 24-Mar-1971 at 03:43 PM.", "03:43 PM"),
    ("DATE", "Logged 2015-09-08 19:27:50.455101 by the portal.", "2015-09-08 19:27:50.455101"),
    ("DATE", "Born Sunday, January 05, 1975 in Leeds.", "Sunday, January 05, 1975"),
    ("DATE", "You may 2024 rules aside; the ratio is 3:1 within 5 business days.", None),
    ("STREET_ADDRESS", "Marital residence: Kieler Strasse 90. Joint account.", "Kieler Strasse 90"),
    (
        "STREET_ADDRESS",
        "Pickup at 488 Schietboompleinstraat 430, Apt. 182, Lavacherie 64532 for her.",
        "488 Schietboompleinstraat 430, Apt. 182, Lavacherie 64532",
    ),
    ("STREET_ADDRESS", "See Section 5 Rule 26 and the 2018 Data Protection Act 2018.", None),
    ("PHONE_NUMBER", "Contact: Tel. 699 956 915 or e-mail.", "699 956 915"),
    ("PHONE_NUMBER", "Best, Felicia Eriksson, 433 5227", "433 5227"),
    ("PHONE_NUMBER", "Under 45 CFR 164.404, notify within 60 days, 2024.", None),
    ("TITLE", "Karl-Heinrich Gabor (Clinical psychologist) was present.", "Clinical psychologist"),
    ("TITLE", "Her occupation: civil drafter, since 2019.", "civil drafter"),
    ("TITLE", "He is applying for the operations director role at a bank.", "operations director"),
    ("TITLE", "Our occupation of the premises ended.", None),
    ("AGE", "Client intake: Emilie Broberg, 81, was terminated.", "81"),
    ("AGE", "Referring the patient (43M, MRN 6437420) to cardiology.", "43"),
    ("AGE", "The fine was $10M, 5M of it suspended.", None),
    ("CASE_NUMBER", "The hearing in HC-2021-025078 is set.", "HC-2021-025078"),
    ("CASE_NUMBER", "Subpoena in 2012-CV-576987 was served.", "2012-CV-576987"),
    ("CASE_NUMBER", "The 2021-22 budget was approved.", None),
    ("ZIP_CODE", "Price Club, OSLO 08717-9639, deposits up.", "08717-9639"),
    ("ZIP_CODE", "Cooksville L5A 1V9 is on file.", "L5A 1V9"),
    ("VEHICLE_ID", "Seen in a car with plate BA23 IQJ at night.", "BA23 IQJ"),
    ("VEHICLE_ID", "The plate count rose to 12 this year.", None),
    ("ACCOUNT_NUMBER", "Prior auth for member ID 381838386515 denied.", "381838386515"),
    ("ACCOUNT_NUMBER", "The member states agreed in 2016.", None),
    ("MEDICAL_RECORD_NUMBER", "Please flag chart MRN 385-31-7112-6.", "385-31-7112-6"),
    ("NRP", "Clinic note: Davi Santos, 21, Polish, presenting with cough.", "Polish"),
    ("NRP", "Run checks on Stefan Naumann, a German candidate applying here.", "German"),
    ("NRP", "Under EU, German, and French law the rule applies.", None),
    ("NRP", "She listed her religion (Jainism) on the form.", "Jainism"),
    ("NRP", "The affiliation rules changed in 2024.", None),
    # A law's name ends at the sentence: "Portugal." is not part of "The CDD Rule".
    ("LOCATION", "Her passport issued by Portugal. The CDD Rule applies.", "Portugal"),
    (
        "STREET_ADDRESS",
        "Ship it to PSC 4410, Box 2231\nAPO AE 09123 by Friday.",
        "PSC 4410, Box 2231\nAPO AE 09123",
    ),
    (
        "STREET_ADDRESS",
        "His unit mail goes to USNS Comfort\nFPO AA 34090.",
        "USNS Comfort\nFPO AA 34090",
    ),
    ("STREET_ADDRESS", "The APO rules changed for 2024 AE shipments.", None),
    (
        "STREET_ADDRESS",
        "Refunds go to P.O. Box 5521, Tulsa, OK 74101.",
        "P.O. Box 5521, Tulsa, OK 74101",
    ),
    ("STREET_ADDRESS", "The PO approved 12 boxes.", None),
    (
        "STREET_ADDRESS",
        "They met at the corner of Calle Mayor 14 and Elm Terrace yesterday.",
        "the corner of Calle Mayor 14 and Elm Terrace",
    ),
    ("STREET_ADDRESS", "A corner of the form and 3 boxes were blank.", None),
    ("STREET_ADDRESS", "The office is on Hold utca 12. in Budapest.", "Hold utca 12"),
    ("STREET_ADDRESS", "She rents a flat on R Augusta 140 in Lisbon.", "R Augusta 140"),
    ("STREET_ADDRESS", "Greek branch: Λ. Κηφισίας 44, Athens.", "Λ. Κηφισίας 44"),
    ("STREET_ADDRESS", "See Rule 26 and Article 30 of the Regulation.", None),
    # Names after a role, a greeting or a closing, or introducing oneself.
    ("PERSON", "Summons served on defendant Oskari Wirkkala at home.", "Oskari Wirkkala"),
    ("PERSON", "Referral - Patient: Thiago R Albuquerque | MRN: 4455667", "Thiago R Albuquerque"),
    ("PERSON", "Dear Ingrid, the hearing moved.", "Ingrid"),
    ("PERSON", "Please sign by Friday. Best, Rasmus Kjeldsen, Surveyor", "Rasmus Kjeldsen"),
    ("PERSON", "Hi, I'm Sigrun, I have a question.", "Sigrun"),
    ("PERSON", "Our client Ing. Babić got a reply.", "Ing. Babić"),
    ("PERSON", "Dear Counsel: the order is attached.", None),
    ("PERSON", "Is a photograph of a patient PHI?", None),
    ("PERSON", "She named him Anselm last spring.", "Anselm"),
    ("PERSON", "My grandmother was called Astrid Moberg.", "Astrid Moberg"),
    ("PERSON", "The scheme is called Safe Harbor and the rule is called HIPAA.", None),
    ("PERSON", "Can the patient Privacy notice be shorter?", None),
    ("PERSON", "Hi, I'm new here, is a customer Due Diligence Rule review due?", None),
    # Companies named after a phrase that says so, or where a person or job title is "at" one.
    (
        "ORGANIZATION",
        "Explained by payroll from The Rusty Anchor Tavern; stub seen.",
        "The Rusty Anchor Tavern",
    ),
    ("ORGANIZATION", "Subpoena served on Kowalczyk's seeks all records.", "Kowalczyk's"),
    ("ORGANIZATION", "He works for the Internal Revenue Service in Ohio.", None),
    ("ORGANIZATION", "Is a business associate bound by the Security Rule?", None),
    (
        "ORGANIZATION",
        "Ana Ruiz, a planner at Bright Meadow Services, called.",
        "Bright Meadow Services",
    ),
    ("ORGANIZATION", "We met Ana Ruiz at Christmas.", None),
    ("ORGANIZATION", "Jane Roe, a nurse at the Veterans Health Administration, asked.", None),
    ("ORGANIZATION", "Do we report it to Adult Protective Services?", None),
    ("ORGANIZATION", "Payment of USD 220,000 to Harbor Foods, held.", "Harbor Foods"),
    ("ORGANIZATION", "She bought gift cards worth $4,800 at Quickmart.", "Quickmart"),
    ("ORGANIZATION", "Jane Doe, a clerk, of Pelican Widgets, appears.", "Pelican Widgets"),
    ("ORGANIZATION", "Is a payment of $500 to HHS allowed?", None),
    ("ORGANIZATION", "Mr. Smith of London called.", None),
    # Places after a cue, whatever the tagger makes of them; countries where someone goes.
    ("LOCATION", "My aunt lives in Kõrveküla now.", "Kõrveküla"),
    ("LOCATION", "We moved here from ΛΕΜΕΣΟΣ last year.", "ΛΕΜΕΣΟΣ"),
    ("LOCATION", "Recent travel to United States; isolation ordered.", "United States"),
    ("LOCATION", "Pt is temporarily abroad in France until May.", "France"),
    ("LOCATION", "Does GDPR apply to a clinic based in Germany?", None),
    ("LOCATION", "Does HIPAA apply in the United States to a clinic?", None),
    ("PERSON", "Mr. Reid flew to Oslo on Monday.", "Mr. Reid"),
    # A signature's place lines below a name.
    ("LOCATION", "Kind regards,\nGabriela Novak\n\nTrondheim\nNorway", "Trondheim\nNorway"),
    ("LOCATION", "Jane Roe\n\nThanks for your help with this.", None),
    ("US_DRIVER_LICENSE", "Bring your driver's license (77120493) to the visit.", "77120493"),
    ("US_DRIVER_LICENSE", "Bring your driver's license (and a bill) to the visit.", None),
    ("ACCOUNT_NUMBER", "Then an ACH of $9,900 to AC-55102938 was flagged.", "AC-55102938"),
    ("ACCOUNT_NUMBER", "She holds accounts 1200-3344-5566 and 7788-9900-1122.", "7788-9900-1122"),
    ("ACCOUNT_NUMBER", "Subscriber Jane Roe, group 55102938, card on file.", "55102938"),
    ("ACCOUNT_NUMBER", "Deposits of $9,500 to 10 accounts in 2023.", None),
    ("ACCOUNT_NUMBER", "A group 2 plan covers 40 members.", None),
    ("VEHICLE_ID", "Sold a car, plate KLE-MN-412, last month.", "KLE-MN-412"),
    ("CASE_NUMBER", "The court set the hearing in 16-4930 for Friday.", "16-4930"),
    ("CASE_NUMBER", "The 2021-22 budget was approved in 2021.", None),
    ("CASE_NUMBER", "Revenue grew in 16-4930 units sold.", None),
    # A name right before what is recorded about a person.
    ("PERSON", "Match: Velimir K. Horvat, DOB 9/14/1935, flagged.", "Velimir K. Horvat"),
    ("PERSON", "We must keep records of Ingrid Solberg's transfers.", "Ingrid Solberg"),
    ("PERSON", "Transfer request: Erzsok Sinko, 48 y/o, from the ICU.", "Erzsok Sinko"),
    ("PERSON", "Does New York's law apply to the clinic?", None),
    ("PERSON", "Is the European Commission's guidance binding?", None),
    ("PERSON", "Referring Dylan Murray (50M, MRN 12345) to cardiology.", "Dylan Murray"),
    ("STREET_ADDRESS", "The pharmacy is on Kask 14 in Tartu.", "Kask 14"),
    ("STREET_ADDRESS", "The update is on Windows 10 and the hearing is on March 5.", None),
    ("STREET_ADDRESS", "Her office is on Level 3 of the tower.", None),
    ("STREET_ADDRESS", "We lived at 56 rue La Boétie for years.", "56 rue La Boétie"),
    ("STREET_ADDRESS", "Keep 5 Calls per day and 3 Rules.", None),
    ("STREET_ADDRESS", "Residing at 1090 43rd Avenue, Whitehorse.", "1090 43rd Avenue, Whitehorse"),
    (
        "STREET_ADDRESS",
        "Pickup at 33494 42 Gladstonos, Suite 961, Geri 04036 for the patient.",
        "33494 42 Gladstonos, Suite 961, Geri 04036",
    ),
    # Where a person or an address is from; a bank's branch; a town before its postal code.
    ("LOCATION", "Skip trace shows a new address in WODONGA, VIC.", "WODONGA, VIC"),
    (
        "LOCATION",
        "A patient from Paso de Carrasco, Canelones called.",
        "Paso de Carrasco, Canelones",
    ),
    ("LOCATION", "Does the GDPR apply to a patient from Germany?", None),
    ("LOCATION", "Cash deposits at the TROMSØ branch were split.", "TROMSØ"),
    ("LOCATION", "Is the Main branch open on Sundays?", None),
    ("LOCATION", "The pharmacy in Drachten zip 9203 AP called.", "Drachten"),
    ("PERSON", "Jana Horvat\nAddress: 12 Main Street", "Jana Horvat"),
    ("DATE", "Hi, my DOB is 5/1/1962 and I need help.", "5/1/1962"),
]


@pytest.mark.parametrize(("entity_type", "text", "value"), CASES)
def test_recognizer(entity_type, text, value):
    found = {(e.entity_type, text[e.start : e.end]) for e in pii.detect(text)}
    if value is None:
        assert not any(kind == entity_type for kind, _ in found), found
    else:
        # Overlapping detections merge, so the value may sit inside a longer span of its type.
        assert any(kind == entity_type and value in span for kind, span in found), found


def test_every_entity_type_has_a_positive_case():
    assert {entity_type for entity_type, _, value in CASES if value} == set(pii.ENTITY_THRESHOLDS)


def test_vin_check_digit():
    assert _vin_is_valid("1HGCM82633A004352")
    assert _vin_is_valid("11111111111111111")
    assert not _vin_is_valid("1HGCM82633A004353")
    assert not _vin_is_valid("1HGCM82633A00435")  # 16 characters
    assert not _vin_is_valid("1HGCM82633A00435I")  # I is never used


# The whole address around a street line, and not a word of the sentence after it.
EXTENTS = [
    (
        "Power of attorney: I appoint my son, of 4410 12 Oak Avenue Apt. 3 Suite 9, Fresno, "
        "United States 93650, as my attorney.",
        "4410 12 Oak Avenue Apt. 3 Suite 9, Fresno, United States 93650",
    ),
    (
        "Client: Jane Roe, 77 Kossuth utca 9.\n Suite 12\n Szeged\n Hungary 6720. Matter: lease",
        "77 Kossuth utca 9.\n Suite 12\n Szeged\n Hungary 6720",
    ),
    (
        "Letterhead: Acme Ltd., 12 Bahnhofstrasse 4 Suite 5 Uster Switzerland, Tel. 044 123 45 67",
        "12 Bahnhofstrasse 4 Suite 5 Uster Switzerland",
    ),
    (
        "The patient lives at 9 Via Roma 3, Pisa 56100, with spouse and two children.",
        "9 Via Roma 3, Pisa 56100",
    ),
    (
        "He moved out of 5 Calle Luna 7 Apt. 2, MADRID 28001 on 2 May 2019.",
        "5 Calle Luna 7 Apt. 2, MADRID 28001",
    ),
    (
        "Please update the address for Jane Roe: 40 Oak Road, Leeds 40211. New phone 0113 496 0000.",
        "40 Oak Road, Leeds 40211",
    ),
    (
        "Her home address (8 Rue Haute 12, Namur) is posted on a blog - can we stop it?",
        "8 Rue Haute 12, Namur",
    ),
    (
        "The will leaves her house at 12 Rue Haute, Namur 5000 to her niece.",
        "12 Rue Haute, Namur 5000",
    ),
    (
        "Acme registered at 9 Via Roma 3, Pisa 56100 (virtual office) with 40 other firms.",
        "9 Via Roma 3, Pisa 56100",
    ),
]


@pytest.mark.parametrize(("text", "address"), EXTENTS)
def test_address_extent(text, address):
    found = [text[e.start : e.end] for e in pii.detect(text) if e.entity_type == "STREET_ADDRESS"]
    assert found == [address]


def test_a_title_takes_no_lowercase_word_after_the_name():
    text = "Mr. Reid flew to Oslo on Monday."
    assert "Mr. Reid flew" not in {text[e.start : e.end] for e in pii.detect(text)}


def test_a_verb_opening_the_sentence_is_no_part_of_a_name():
    text = "Referring Dylan Murray (50M, MRN 12345) to cardiology."
    names = {text[e.start : e.end] for e in pii.detect(text) if e.entity_type == "PERSON"}
    assert names == {"Dylan Murray"}


def test_a_name_stays_on_its_line():
    text = "Jana Horvat\nAddress: 12 Main Street"
    assert "Jana Horvat\nAddress" not in {text[e.start : e.end] for e in pii.detect(text)}


def test_a_date_of_birth_leaves_the_verb_out():
    text = "Hi, my DOB is 5/1/1962 and I need help."
    dates = {text[e.start : e.end] for e in pii.detect(text) if e.entity_type == "DATE"}
    assert dates == {"5/1/1962"}


def test_a_date_after_a_cue_is_no_address():
    text = "She was cleared for return to work on 2010-02-13 with no restrictions."
    assert not any(e.entity_type == "STREET_ADDRESS" for e in pii.detect(text))
