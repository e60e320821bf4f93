"""The local backends with the real SmolLM2 model: the same prompt tokens from both, stopping
on the caller's word, and a shared prompt prefix computed once without changing what is
generated."""

from __future__ import annotations

import pytest

from assistant.backends import BackendError, backend_for
from assistant.backends.llama_cpp import LlamaCppBackend, prepared_gguf
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
OTHER = [*MESSAGES[:3], {"role": "user", "content": "Evidence:\n[1] Rule 3: Keep it.\n\nQ: Who?"}]


@pytest.fixture(scope="module", params=["transformers", "llama_cpp"])
def backend(request):
    return backend_for({"backend": request.param, "model": "smollm2-135m-instruct"})


def test_both_backends_read_the_same_prompt_tokens():
    llama = LlamaCppBackend.for_model("smollm2-135m-instruct")
    transformers = TransformersBackend.for_model("smollm2-135m-instruct")
    expected = transformers._encode(MESSAGES)["input_ids"][0].tolist()
    assert llama.tokenizer.tokens(MESSAGES) == expected
    assert llama.count_tokens(MESSAGES) == transformers.count_tokens(MESSAGES) == len(expected)


def test_a_shared_prefix_is_computed_once_and_generates_the_same_text(backend):
    plain = backend.generate(MESSAGES, max_new_tokens=16)
    first = backend.generate(MESSAGES, max_new_tokens=16, shared_prefix=3)
    # Another prompt in between: the kept prefix must come back, not the last prompt's state.
    backend.generate(OTHER, max_new_tokens=4)
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


def test_llama_cpp_streams_the_completion_so_far():
    backend = LlamaCppBackend.for_model("smollm2-135m-instruct")
    seen: list[str] = []
    generation = backend.generate(MESSAGES, max_new_tokens=12, on_text=seen.append)
    assert len(seen) == generation.completion_tokens
    assert seen[-1].strip() == generation.text


def test_a_prompt_longer_than_the_context_fails_for_good(settings):
    backend = LlamaCppBackend.for_model("smollm2-135m-instruct")
    long = [{"role": "user", "content": "word " * (backend.llm.n_ctx() + 10)}]
    with pytest.raises(BackendError, match="exceed the context") as failure:
        backend.generate(long, max_new_tokens=8)
    assert failure.value.permanent


def test_the_packaged_model_is_re_encoded_once_and_versioned(settings, tmp_path):
    settings.MODEL_CACHE_DIR = tmp_path
    path, version = prepared_gguf("smollm2-135m-instruct")
    assert path.parent == tmp_path and path.name.endswith(".q8_0.gguf")
    modified = path.stat().st_mtime_ns
    assert prepared_gguf("smollm2-135m-instruct") == (path, version)
    assert path.stat().st_mtime_ns == modified
    assert version.startswith("sha256:") and len(version) == len("sha256:") + 16


def test_a_model_that_is_not_a_gguf_file_is_refused(tmp_path):
    with pytest.raises(BackendError, match="is neither a packaged model"):
        LlamaCppBackend(str(tmp_path / "missing.gguf"))
