"""Write a Hugging Face Llama-family model (a fine-tuned, merged copy of a packaged GGUF model)
back into GGUF, so that the default backend, llama.cpp, serves it.

The packaged GGUF is the template: its metadata (architecture, hyper-parameters, tokenizer and
chat template) is copied as it is, and each of its tensors is replaced by the fine-tuned weight
of the same role, in float32; llama.cpp then re-encodes the file to 8-bit blocks as it does the
packaged model (``llama_cpp.prepared_gguf``). llama.cpp stores the query and key projections
with their rows interleaved per head (its converter's ``permute``), which transformers undoes
when it reads a GGUF file; the same permutation is applied here on the way back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from assistant.backends import BackendError

# Metadata the writer sets itself, or that no longer describes the written file.
_SKIPPED_KEYS = ("GGUF.", "general.architecture", "general.file_type", "general.quantization")


def _permuted(weights: np.ndarray, n_head: int) -> np.ndarray:
    rows = weights.shape[0] // n_head // 2
    return (
        weights.reshape(n_head, 2, rows, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)
    )


def gguf_weights(
    state: Mapping[str, np.ndarray], template: Path
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The tensors of ``template`` (a GGUF file), each taken from ``state`` (a Hugging Face
    state dict of the same model, as float32 arrays), and the template's tensor names that
    ``state`` has no weight for."""
    import gguf

    reader = gguf.GGUFReader(template)
    architecture = str(reader.fields["general.architecture"].contents())
    heads = int(reader.fields[f"{architecture}.attention.head_count"].contents())
    kv_heads = int(reader.fields[f"{architecture}.attention.head_count_kv"].contents())
    blocks = int(reader.fields[f"{architecture}.block_count"].contents())
    arch = next(a for a, name in gguf.MODEL_ARCH_NAMES.items() if name == architecture)
    names = gguf.get_tensor_name_map(arch, blocks)
    by_gguf_name: dict[str, np.ndarray] = {}
    for hf_name, value in state.items():
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            continue
        array = np.asarray(value, dtype=np.float32)
        if name.endswith("attn_q.weight"):
            array = _permuted(array, heads)
        elif name.endswith("attn_k.weight"):
            array = _permuted(array, kv_heads)
        by_gguf_name[name] = array
    tensors: dict[str, np.ndarray] = {}
    missing: list[str] = []
    for tensor in reader.tensors:
        if tensor.name in by_gguf_name:
            tensors[tensor.name] = by_gguf_name[tensor.name]
        else:
            missing.append(tensor.name)
    return tensors, missing


def write_gguf(
    state: Mapping[str, np.ndarray],
    template: Path,
    target: Path,
    *,
    report: Callable[[str], None] = lambda _: None,
) -> None:
    """Write ``state`` as a float32 GGUF file at ``target``, with ``template``'s metadata."""
    import gguf

    tensors, missing = gguf_weights(state, template)
    if missing:
        raise BackendError(
            f"the fine-tuned weights lack {len(missing)} tensors of {template.name} "
            f"(first: {missing[0]})",
            permanent=True,
        )
    reader = gguf.GGUFReader(template)
    architecture = str(reader.fields["general.architecture"].contents())
    staging = target.with_name(f"{target.name}.{os.getpid()}.partial")
    writer = gguf.GGUFWriter(staging, architecture)
    for field in reader.fields.values():
        if field.name.startswith(_SKIPPED_KEYS):
            continue
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub_type)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for tensor in reader.tensors:
        # GGUF lists a tensor's dimensions fastest first; numpy wants them the other way.
        expected = tuple(int(d) for d in reversed(tensor.shape.tolist()))
        array = tensors[tensor.name]
        if array.shape != expected:
            raise BackendError(
                f"tensor {tensor.name}: shape {array.shape}, expected {expected}", permanent=True
            )
        writer.add_tensor(tensor.name, np.ascontiguousarray(array))
    report(f"writing {target.name} ({len(tensors)} tensors)")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    staging.rename(target)
