"""The local transformers backend with the real SmolLM2 model: stopping on the caller's word,
and a shared prompt prefix computed once without changing what is generated."""

from __future__ import annotations

import pytest

from assistant.backends.transformers_local import TransformersBackend

pytestmark = pytest.mark.slow

MESSAGES = [
    {"role": "system", "content": "Answer from the evidence only. " * 10},
    {
        "role": "user",
        "content": "Evidence:\n[1] Rule 1: A clinic must file within 14 days.\n\nQuestion: When?",
    },
    {"role": "assistant", "content": "A clinic must file within 14 days [1]."},
    {
        "role": "user",
        "content": "Evidence:\n[1] Rule 2: A bank must report within 30 days.\n\nQuestion: When must a bank report?",
    },
]


@pytest.fixture(scope="module")
def backend():
    return TransformersBackend.for_model("smollm2-135m-instruct")


def test_a_shared_prefix_is_computed_once_and_generates_the_same_text(backend):
    plain = backend.generate(MESSAGES, max_new_tokens=16)
    first = backend.generate(MESSAGES, max_new_tokens=16, shared_prefix=3)
    again = backend.generate(MESSAGES, max_new_tokens=16, shared_prefix=3)
    assert plain.text == first.text == again.text
    assert plain.prompt_tokens == first.prompt_tokens
    assert len(backend._prefixes) >= 1


def test_generation_stops_when_the_caller_says_so(backend):
    seen: list[str] = []

    def stop(text: str) -> bool:
        seen.append(text)
        return len(text.split()) >= 2

    stopped = backend.generate(MESSAGES, max_new_tokens=40, stop=stop)
    assert len(stopped.text.split()) <= 3
    assert stopped.completion_tokens < 40 and seen
