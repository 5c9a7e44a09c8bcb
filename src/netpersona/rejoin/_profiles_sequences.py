"""Item sequences of a profile set, fetched from its engine when wanted.

The item sequences are by far the largest part of a profile set (645 million items for a
library of the paper's size), so :class:`~netpersona.rejoin._profiles.ProfileArrays` may leave
them in the engine: :class:`SequenceLoader` fetches some users' sequences (step 5's candidates)
or streams all of them in batches (the learned matcher's bigrams and last items).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from netpersona.rejoin._profiles import Profiles


@dataclass
class SequenceLoader:
    """Fetches item sequences of a profile set from its engine: all users (``None``) or some
    (sorted distinct rows), as CSR ``(indptr, items)``."""

    profiles: Profiles
    lengths: np.ndarray

    def batches(self, max_items: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every sequence in one streamed pass, as ``(rows, indptr, items)`` batches of users
        (in the engine's order) holding about ``max_items`` items on average."""
        eng, table = self.profiles.engine, self.profiles.table("sequences")
        mean = max(float(self.lengths.mean()) if len(self.lengths) else 1.0, 1.0)
        for batch in eng.fetch_batches(
            f"SELECT uid, items FROM {table}", max(1, int(max_items / mean))
        ):
            if not batch.num_rows:
                continue
            items = batch.column("items")
            counts = pc.list_value_length(items).to_numpy(zero_copy_only=False).astype(np.int64)
            indptr = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
            flat = items.flatten().to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
            yield batch.column("uid").to_numpy(zero_copy_only=False).astype(np.int64), indptr, flat

    def __call__(self, users: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        eng, table = self.profiles.engine, self.profiles.table("sequences")
        if users is None:
            seq = eng.fetch_arrow(f"SELECT uid, items FROM {table}")
            rows = np.arange(len(self.lengths))
        else:
            rows = np.asarray(users, dtype=np.int64)
            view = f"{self.profiles.name}__wanted_users"
            eng.register_arrow(view, pa.table({"uid": pa.array(rows, pa.int32())}))
            try:
                seq = eng.fetch_arrow(
                    f"SELECT uid, items FROM {table} WHERE uid IN (SELECT uid FROM {view})"
                )
            finally:
                eng.execute(f"DROP VIEW IF EXISTS {view}")
        lengths = self.lengths[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        values = np.zeros(indptr[-1], dtype=np.int32)
        if seq.num_rows:
            # rows may arrive in any order (engines return parallel chunks): each fetched
            # sequence is copied to its row's place, users without a row keep length 0
            items = seq.column("items").combine_chunks()
            flat = items.flatten().to_numpy().astype(np.int32, copy=False)
            counts = pc.list_value_length(items).to_numpy(zero_copy_only=False).astype(np.int64)
            starts = indptr[np.searchsorted(rows, seq.column("uid").to_numpy())]
            if len(counts) == len(rows) and np.array_equal(starts, indptr[:-1]):
                values = flat  # already in row order
            else:
                offsets = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
                values[np.repeat(starts, counts) + offsets] = flat
        return indptr, values
