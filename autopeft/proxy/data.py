"""Tokenised splits and batching: tokenise once, pad dynamically, bucket by length.

A :class:`TokenizedSplit` holds every example's token ids back to back in one int32 array
(with offsets), so it stores compactly in a ``.npz`` file and loads in milliseconds.
Training batches come from length bucketing: the examples are shuffled, cut into pools of
``POOL_BATCHES`` batches, sorted by length within a pool, split into batches and the batches
shuffled, so a batch pads to a length close to its own examples' lengths. Evaluation sorts
everything by length. Each batch is padded only to its longest example.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: Batches per length-bucketing pool.
POOL_BATCHES = 50
#: Examples per tokenizer call when tokenising a split.
TOKENIZE_CHUNK = 2048


@dataclass
class TokenizedSplit:
    """Token ids (flat int32 + offsets), optional token-type ids, and labels of one split."""

    ids: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    token_types: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def save(self, path: Path) -> None:
        arrays = {"ids": self.ids, "offsets": self.offsets, "labels": self.labels}
        if self.token_types is not None:
            arrays["token_types"] = self.token_types
        tmp = path.with_name(f"{path.name}.{np.random.randint(1 << 30)}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)  # atomic: concurrent workers never read a half-written file

    @classmethod
    def load(cls, path: Path) -> "TokenizedSplit":
        with np.load(path) as data:
            return cls(
                ids=data["ids"],
                offsets=data["offsets"],
                labels=data["labels"],
                token_types=data["token_types"] if "token_types" in data.files else None,
            )


def segments(example: dict, text_fields: Sequence[str]) -> tuple[str, str | None]:
    """The (first, second) text segments: one field alone; otherwise every field but the last
    joined with ``": "`` paired with the last (WiC: ``"word: sentence1"`` + ``sentence2``)."""
    if len(text_fields) == 1:
        return example[text_fields[0]], None
    return ": ".join(example[f] for f in text_fields[:-1]), example[text_fields[-1]]


def tokenize(examples: list[dict], text_fields: Sequence[str], tokenizer: Any, max_length: int, kind: str) -> TokenizedSplit:
    """Tokenise every example, truncated to ``max_length`` tokens, without padding."""
    want_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    ids: list[list[int]] = []
    types: list[list[int]] = []
    for start in range(0, len(examples), TOKENIZE_CHUNK):
        chunk = examples[start : start + TOKENIZE_CHUNK]
        pairs = [segments(example, text_fields) for example in chunk]
        first = [a for a, _ in pairs]
        second = [b for _, b in pairs] if len(text_fields) > 1 else None
        encoded = tokenizer(
            first,
            second,
            truncation=True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=want_types,
        )
        ids.extend(encoded["input_ids"])
        if want_types:
            types.extend(encoded["token_type_ids"])
    lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.fromiter((token for row in ids for token in row), dtype=np.int32, count=int(offsets[-1]))
    flat_types = np.fromiter((t for row in types for t in row), dtype=np.int8, count=int(offsets[-1])) if want_types else None
    label_dtype = np.float32 if kind == "regression" else np.int64
    labels = np.asarray([example["label"] for example in examples], dtype=label_dtype)
    return TokenizedSplit(ids=flat, offsets=offsets, labels=labels, token_types=flat_types)


def fixed_subset(size: int, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` examples: a fixed (seed-independent) random subset, so every
    trial of a study trains and evaluates on the same examples; all of them when ``limit`` is None."""
    if limit is None or limit >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(0).permutation(size)[:limit])


def bucketed_batches(indices: np.ndarray, lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of training batches with length bucketing (see module docstring)."""
    order = indices[rng.permutation(len(indices))]
    pool = batch_size * POOL_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batches(indices: np.ndarray, lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation batches: examples sorted by length, longest first (peak memory shows early)."""
    order = indices[np.argsort(-lengths[indices], kind="stable")]
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(split: TokenizedSplit, batch: np.ndarray, pad_id: int) -> dict[str, Any]:
    """Tensors of one batch padded to its longest example: input_ids, attention_mask,
    token_type_ids (when the tokenizer makes them) and labels."""
    import torch

    starts = split.offsets[batch]
    ends = split.offsets[batch + 1]
    width = int((ends - starts).max())
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    types = np.zeros((len(batch), width), dtype=np.int64) if split.token_types is not None else None
    for row, (start, end) in enumerate(zip(starts, ends)):
        n = end - start
        ids[row, :n] = split.ids[start:end]
        mask[row, :n] = 1
        if types is not None:
            types[row, :n] = split.token_types[start:end]
    out = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask), "labels": torch.from_numpy(split.labels[batch])}
    if types is not None:
        out["token_type_ids"] = torch.from_numpy(types)
    return out

