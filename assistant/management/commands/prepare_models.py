from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assistant.backends import BackendError
from assistant.backends.packaged import PREPARED_MODELS
from assistant.backends.transformers_local import prepare


class Command(BaseCommand):
    help = (
        "Prepare the offline models: check that llama.cpp loads the packaged SmolLM2 GGUF, "
        "convert it once to safetensors for the transformers backend, and check that the "
        "embedding model and the spaCy model load. Safe to run repeatedly."
    )

    def handle(self, *args, **options) -> None:
        from compliance import pii
        from domains.embeddings import DEFAULT_EMBEDDING_MODEL, embed

        steps = [
            (f"generative model {name} (llama.cpp)", lambda name=name: self._llama_cpp(name))
            for name in PREPARED_MODELS
        ]
        steps += [
            (f"generative model {name} (transformers)", lambda name=name: self._generative(name))
            for name in PREPARED_MODELS
        ]
        steps.append(
            (
                f"embedding model {DEFAULT_EMBEDDING_MODEL}",
                lambda: self._embedding(embed, DEFAULT_EMBEDDING_MODEL),
            )
        )
        steps.append((f"spaCy model {pii.SPACY_MODEL} for Presidio", lambda: self._spacy(pii)))
        with tqdm(total=len(steps), desc="Preparing models", unit="model") as bar:
            for label, step in steps:
                bar.set_postfix_str(label)
                started = time.perf_counter()
                try:
                    detail = step()
                except BackendError as exc:
                    raise CommandError(f"{label}: {exc}") from exc
                except Exception as exc:
                    raise CommandError(f"{label}: {type(exc).__name__}: {exc}") from exc
                tqdm.write(f"  ok  {label}: {detail} ({time.perf_counter() - started:.1f} s)")
                bar.update(1)
        self.stdout.write(self.style.SUCCESS("All models are ready for offline use."))

    def _generative(self, name: str) -> str:
        from assistant.backends.transformers_local import TransformersBackend

        directory = prepare(name, report=lambda message: tqdm.write(f"      {message}"))
        backend = TransformersBackend(name)
        generation = backend.generate([{"role": "user", "content": "Say OK."}], max_new_tokens=4)
        return f"{directory}, version {backend.model_version}, generated {generation.completion_tokens} tokens"

    def _llama_cpp(self, name: str) -> str:
        from assistant.backends.llama_cpp import LlamaCppBackend, prepared_gguf

        path, _ = prepared_gguf(name, report=lambda message: tqdm.write(f"      {message}"))
        backend = LlamaCppBackend(name)
        generation = backend.generate([{"role": "user", "content": "Say OK."}], max_new_tokens=4)
        return f"{path}, version {backend.model_version}, generated {generation.completion_tokens} tokens"

    def _embedding(self, embed, name: str) -> str:
        vector = embed(["breach notification"], model=name)[0]
        return f"{vector.shape[0]} dimensions"

    def _spacy(self, pii) -> str:
        from compliance.policy import policies

        needed = sorted({t for p in policies().policies.values() for t in p.all_entities()})
        try:
            pii.self_test(needed)
        except pii.PiiSelfTestError as exc:
            raise CommandError(str(exc)) from exc
        return f"self-test detected all {len(needed)} entity types the policies name"
