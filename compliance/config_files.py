"""Errors and YAML loading shared by the project's configuration files (policies, refusal
categories, domain definitions): every problem names the file and the key. Also the JSON Lines
reader of the command-line input files, whose problems name the file and the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(Exception):
    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: key '{key}': {problem}")
        self.path = path
        self.key = key


def parse_yaml(path: Path, content: str | bytes, error: type[ConfigFileError]) -> Any:
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise error(path, "<document>", f"is not valid YAML{where}") from exc


class JsonLinesError(Exception):
    pass


def read_json_lines(path: Path, *, skip_blank: bool = True) -> list[tuple[int, Any]]:
    """(line number, parsed value) for each line of a JSON Lines file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JsonLinesError(f"{path}: cannot be read ({exc})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if skip_blank and not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise JsonLinesError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    return records
