from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from compliance.pii_eval import Score


def test_tokens_count_as_found_only_when_a_detected_span_covers_them():
    text = "Call John Smith at 555-123-4567 now"
    gold = [(5, 15, "PERSON"), (19, 31, "PHONE_NUMBER")]
    score = Score()
    score.add(text, gold, detected=[(5, 9), (19, 31), (32, 35)])
    # gold tokens: John Smith 555 123 4567 -> found John, 555, 123, 4567
    assert (score.gold_tokens, score.found_tokens) == (5, 4)
    # detected tokens: John, 555, 123, 4567, now -> correct 4
    assert (score.detected_tokens, score.correct_tokens) == (5, 4)
    assert score.recall_by_type() == {"PERSON": 0.5, "PHONE_NUMBER": 1.0}
    assert score.f_beta(2) == pytest.approx(5 * 0.8 * 0.8 / (4 * 0.8 + 0.8))


def test_pii_detect_writes_one_line_of_spans_per_input_line(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"text": "Mail jane@example.org today."})
        + "\n"
        + json.dumps({"text": "No data."})
        + "\n"
    )
    target = tmp_path / "out.jsonl"
    call_command("pii_detect", "--input", str(source), "--output", str(target), verbosity=0)
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[1] == {"spans": []}
    (span,) = lines[0]["spans"]
    assert (span["start"], span["end"], span["entity_type"]) == (5, 21, "EMAIL_ADDRESS")
    assert 0 < span["score"] <= 1


def test_pii_detect_follows_the_jurisdictions_entity_set(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "My client is Muslim."}) + "\n")
    target = tmp_path / "out.jsonl"
    call_command(
        "pii_detect",
        "--input",
        str(source),
        "--output",
        str(target),
        "--jurisdiction",
        "US",
        verbosity=0,
    )
    assert json.loads(target.read_text()) == {"spans": []}
    call_command(
        "pii_detect",
        "--input",
        str(source),
        "--output",
        str(target),
        "--jurisdiction",
        "EU",
        verbosity=0,
    )
    assert json.loads(target.read_text())["spans"][0]["entity_type"] == "NRP"


def test_pii_detect_names_the_bad_line(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "ok"}\n{"txt": "wrong key"}\n')
    with pytest.raises(CommandError, match=r"in.jsonl:2: each line must be"):
        call_command(
            "pii_detect", "--input", str(source), "--output", str(tmp_path / "o"), verbosity=0
        )
    with pytest.raises(CommandError, match="unknown jurisdiction 'MARS'"):
        call_command(
            "pii_detect",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o"),
            "--jurisdiction",
            "MARS",
        )


def test_benchmark_prints_both_detectors_and_their_ratio(tmp_path, capsys):
    gold = tmp_path / "gold.json"
    text = "Please call Maria Garcia at (555) 123-4567."
    gold.write_text(
        json.dumps(
            [
                {
                    "full_text": text,
                    "spans": [
                        {
                            "entity_type": "PERSON",
                            "entity_value": "Maria Garcia",
                            "start_position": 12,
                            "end_position": 24,
                        },
                        {
                            "entity_type": "PHONE_NUMBER",
                            "entity_value": "(555) 123-4567",
                            "start_position": 28,
                            "end_position": 42,
                        },
                    ],
                }
            ]
        )
    )
    call_command("pii_benchmark", "--gold", str(gold), verbosity=0)
    out = capsys.readouterr().out
    assert "1 texts, 5 gold PII tokens" in out
    assert "plain Presidio" in out and "ours" in out and "ratio ours/plain" in out
    assert "PHONE_NUMBER" in out


def test_pii_benchmark_scores_each_part_and_all_parts(tmp_path, capsys):
    record = {
        "full_text": "Write to jane@example.org now",
        "spans": [
            {
                "entity_type": "EMAIL_ADDRESS",
                "entity_value": "jane@example.org",
                "start_position": 9,
                "end_position": 25,
            }
        ],
    }
    tune, held_out = tmp_path / "tune.json", tmp_path / "held-out.json"
    tune.write_text(json.dumps([record]))
    held_out.write_text(json.dumps([record, record]))
    call_command("pii_benchmark", "--gold", str(tune), "--gold", str(held_out), verbosity=0)
    out = capsys.readouterr().out
    assert "all parts: 3 texts" in out
    assert "tune.json" in out and "held-out.json" in out
    assert "throughput ours/plain" in out


def test_pii_benchmark_names_the_bad_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(CommandError, match="bad.json: not a presidio-research gold file"):
        call_command("pii_benchmark", "--gold", str(bad), verbosity=0)
