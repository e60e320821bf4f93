"""The openai backend against a real OpenAI-compatible server (llama-cpp-python's, on a loopback
port, with the shipped model): streaming, stopping, token counts, API keys, and the failure
classes a worker acts on (transient: retry later; permanent: fail now)."""

from __future__ import annotations

import logging

import pytest

from assistant.backends import BackendError
from assistant.backends.openai_compat import OpenAICompatibleBackend

pytestmark = pytest.mark.slow

SECRET_FACT = "A clinic must file form ZX-41 within 14 days."
MESSAGES = [
    {"role": "system", "content": "Answer from the evidence only, with [n] markers."},
    {
        "role": "user",
        "content": f"Evidence:\n[1] Rule 7: {SECRET_FACT}\n\nQuestion: When must a clinic file?",
    },
]


def test_the_answer_streams_through_on_text_and_is_counted(llama_server):
    backend = OpenAICompatibleBackend(llama_server().profile())
    seen: list[str] = []
    generation = backend.generate(MESSAGES, max_new_tokens=24, on_text=seen.append)
    assert generation.text and seen
    assert seen[-1].strip() == generation.text
    assert all(later.startswith(earlier) for earlier, later in zip(seen, seen[1:], strict=False))
    assert 0 < generation.completion_tokens <= 24
    # The server reports no usage when streaming; the model's own tokenizer counts the prompt.
    assert generation.prompt_tokens == backend.count_tokens(MESSAGES) > 20
    assert generation.model_id == "smollm2-135m-instruct"


def test_generation_stops_when_the_caller_says_so(llama_server):
    backend = OpenAICompatibleBackend(llama_server().profile())
    generation = backend.generate(
        MESSAGES, max_new_tokens=60, stop=lambda text: len(text.split()) >= 2
    )
    assert 2 <= len(generation.text.split()) <= 3


def test_without_a_tokenizer_the_prompt_is_over_counted_not_under(llama_server):
    server = llama_server()
    exact = OpenAICompatibleBackend(server.profile()).count_tokens(MESSAGES)
    estimated = OpenAICompatibleBackend(server.profile(tokenizer=None)).count_tokens(MESSAGES)
    assert estimated >= exact


def test_a_model_the_server_does_not_serve_fails_for_good(llama_server):
    backend = OpenAICompatibleBackend(llama_server().profile(model="no-such-model"))
    with pytest.raises(BackendError, match="does not serve model 'no-such-model'") as failure:
        backend.generate(MESSAGES, max_new_tokens=8)
    assert failure.value.permanent


def test_a_stopped_server_is_transient_after_the_bounded_retries(llama_server, caplog):
    server = llama_server()
    backend = OpenAICompatibleBackend(server.profile(retries=2))
    assert backend.generate(MESSAGES, max_new_tokens=4).text
    server.stop()
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError) as failure:
        backend.generate(MESSAGES, max_new_tokens=4)
    assert not failure.value.permanent
    assert "unreachable" in str(failure.value)
    assert [
        r.getMessage().split("; ")[1] for r in caplog.records if "attempt" in r.getMessage()
    ] == [
        "attempt 1 of 3",
        "attempt 2 of 3",
    ]


def test_the_api_key_comes_from_the_named_variable_or_file(llama_server, monkeypatch, tmp_path):
    server = llama_server(api_key="s3cret-key")
    monkeypatch.setenv("TEST_MODEL_KEY", "s3cret-key")
    from_env = OpenAICompatibleBackend(server.profile(api_key_env="TEST_MODEL_KEY"))
    assert from_env.generate(MESSAGES, max_new_tokens=4).text
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-key\n")
    from_file = OpenAICompatibleBackend(server.profile(api_key_file=str(key_file)))
    assert from_file.generate(MESSAGES, max_new_tokens=4).text

    monkeypatch.setenv("TEST_MODEL_KEY", "wrong-key")
    wrong = OpenAICompatibleBackend(server.profile(api_key_env="TEST_MODEL_KEY"))
    with pytest.raises(BackendError, match="HTTP 401") as failure:
        wrong.generate(MESSAGES, max_new_tokens=4)
    assert failure.value.permanent
    monkeypatch.delenv("TEST_MODEL_KEY")
    with pytest.raises(BackendError, match="TEST_MODEL_KEY") as failure:
        OpenAICompatibleBackend(server.profile(api_key_env="TEST_MODEL_KEY"))
    assert failure.value.permanent


def test_neither_the_prompt_nor_the_answer_is_logged(llama_server, caplog):
    backend = OpenAICompatibleBackend(llama_server().profile())
    with caplog.at_level(logging.DEBUG):
        generation = backend.generate(MESSAGES, max_new_tokens=24)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the client does log its requests: their lines, not their bodies
    assert "ZX-41" not in logged and "clinic" not in logged
    assert generation.text not in logged


def test_profiles_that_differ_only_in_their_settings_get_backends_of_their_own():
    from assistant.backends import backend_for

    profile = {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    patient = backend_for({**profile, "retries": 5, "timeout": 120})
    hasty = backend_for({**profile, "retries": 0, "timeout": 5})
    assert (patient.retries, patient.timeout) == (5, 120.0)
    assert (hasty.retries, hasty.timeout) == (0, 5.0)
    assert backend_for({**profile, "retries": 0, "timeout": 5}) is hasty
