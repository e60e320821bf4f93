"""Errors and YAML loading shared by the project's configuration files (policies, refusal
categories, domain definitions): every problem names the file and the key."""

from __future__ import annotations

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
