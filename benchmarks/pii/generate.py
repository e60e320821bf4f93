"""Generate a synthetic PII gold set with presidio-evaluator's sentence generator.

Not part of the product and not imported by it: run it in a separate virtual environment that has
``presidio-evaluator`` (its pins clash with the service's), then commit the JSON it writes, so that
``pii_benchmark`` needs nothing beyond the service's own dependencies::

    python3 -m venv var/pii-gen && var/pii-gen/bin/pip install presidio-evaluator==0.3.2
    var/pii-gen/bin/python benchmarks/pii/generate.py --templates benchmarks/pii/templates/tune.txt \
        --locale en_GB --seed 11 --count 300 --output benchmarks/pii/tune-own-en_GB.json

``--templates presidio:tune`` and ``presidio:test`` name the two halves of presidio-evaluator's own
template file, split by a hash of each line so that neither half depends on the file's order.
The output is presidio-research's generated format (``full_text``, ``spans`` with
``entity_type``, ``entity_value``, ``start_position``, ``end_position``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

from faker.providers import BaseProvider

# Placeholders of our own templates that presidio-evaluator has no provider for, and the gold type
# each value is scored as.
EXTRA_TYPES = {
    "hospital_name": "ORGANIZATION",
    "company": "ORGANIZATION",
    "religion": "NRP",
    "medical_record_number": "MEDICAL_RECORD_NUMBER",
    "docket_number": "CASE_NUMBER",
    "account_number": "ACCOUNT_NUMBER",
    "date": "DATE_TIME",
    "month_year": "DATE_TIME",
    "time": "DATE_TIME",
    "street_address": "STREET_ADDRESS",
    "zip_plus4": "ZIP_CODE",
    "license_plate": "VEHICLE_ID",
}

DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d.%m.%Y",
    "%A, %B %d, %Y",
    "%B %d",
    "%d-%b-%Y",
)


class CaseFileProvider(BaseProvider):
    """Identifiers that clinical notes, dockets and AML case notes carry."""

    def medical_record_number(self) -> str:
        return self.random_element(
            (
                self.numerify("########"),
                self.bothify("MRN-#######"),
                self.bothify("??#######").upper(),
                self.numerify("###-##-####-#"),
            )
        )

    def docket_number(self) -> str:
        year = self.random_int(10, 26)
        return self.random_element(
            (
                f"{self.random_int(1, 9)}:{year}-cv-{self.numerify('#####')}",
                f"20{year}-CV-{self.numerify('######')}",
                f"{year}-{self.numerify('####')}",
                f"CL-20{year}-{self.numerify('#####')}",
                f"HC-20{year}-{self.numerify('######')}",
            )
        )

    def account_number(self) -> str:
        return self.random_element(
            (
                self.numerify("#" * self.random_int(8, 12)),
                self.numerify("####-####-####"),
                self.bothify("AC-########"),
            )
        )

    def date(self) -> str:
        return self.generator.date_between("-80y", "today").strftime(
            self.random_element(DATE_FORMATS)
        )

    def month_year(self) -> str:
        when = self.generator.date_between("-30y", "today")
        return when.strftime(self.random_element(("%B %Y", "%b %Y", "%m/%Y")))

    def time(self) -> str:
        return self.generator.date_time().strftime(
            self.random_element(("%H:%M", "%I:%M %p", "%I %p"))
        )

    def zip_plus4(self) -> str:
        return self.numerify("#####-####")


def presidio_half(half: str) -> list[str]:
    """One half of presidio-evaluator's templates; a line's half depends only on its text."""
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        presidio_templates_file_path,
    )

    lines = [
        line.strip()
        for line in presidio_templates_file_path.read_text().splitlines()
        if line.strip()
    ]
    wanted = 0 if half == "tune" else 1
    return [
        # The file writes line breaks as a literal backslash-n; its generator would also turn the
        # ">" of a quoted e-mail line into a placeholder brace, so those two lines are left out.
        line.replace("\\n", "\n")
        for line in lines
        if hashlib.sha256(line.encode()).digest()[0] % 2 == wanted and not {"<", ">"} & set(line)
    ]


def load_templates(source: str) -> list[str]:
    if source in ("presidio:tune", "presidio:test"):
        return presidio_half(source.split(":")[1])
    templates = []
    for number, line in enumerate(Path(source).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{{" not in line:
            sys.exit(f"{source}:{number}: a template needs at least one {{{{placeholder}}}}")
        templates.append(line)
    return templates


def generate(templates: list[str], locale: str, seed: int, count: int) -> list[dict]:
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    mapping = {**PresidioSentenceFaker.ENTITY_TYPE_MAPPING, **EXTRA_TYPES}
    faker = PresidioSentenceFaker(
        locale=locale,
        lower_case_ratio=0.05,
        sentence_templates=templates,
        entity_type_mapping=mapping,
        random_seed=seed,
    )
    faker.add_provider(CaseFileProvider)
    random.seed(seed)
    samples = faker.generate_new_fake_sentences(num_samples=count)
    return [
        {
            "full_text": sample.full_text,
            "spans": [
                {
                    "entity_type": span.entity_type,
                    "entity_value": span.entity_value,
                    "start_position": span.start_position,
                    "end_position": span.end_position,
                }
                for span in sample.spans
            ],
            "template_id": sample.template_id,
        }
        for sample in samples
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--templates", required=True, help="a file, or presidio:tune / presidio:test"
    )
    parser.add_argument("--locale", default="en_US")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    records = generate(load_templates(args.templates), args.locale, args.seed, args.count)
    args.output.write_text(
        json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(
        f"{args.output}: {len(records)} texts from {args.templates} ({args.locale}, seed {args.seed})"
    )


if __name__ == "__main__":
    main()
