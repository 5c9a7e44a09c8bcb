"""URL text for URL ids, built once per id and kept: the dictionary of each output batch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from netpersona.synth._sites import SiteUniverse


class UrlVocabulary:
    """Turns a batch's URL ids into dictionary indices plus the batch's (compact) dictionary.

    The text of a URL id is built the first time a batch uses it and cached, so popular URLs
    (which every batch uses) are built once per run; the cache holds at most every URL of the
    universe (a few million strings).
    """

    def __init__(self, universe: SiteUniverse) -> None:
        self.universe = universe
        self._slot = np.full(universe.n_urls, -1, dtype=np.int64)  # id -> position in cache
        self._chunks: list[pa.StringArray] = []
        self._cached = 0
        self._mark = np.zeros(universe.n_urls, dtype=bool)
        self._local = np.zeros(universe.n_urls, dtype=np.int32)

    def encode(self, url_ids: np.ndarray) -> tuple[np.ndarray, pa.StringArray]:
        """Indices into a dictionary of the distinct URL texts of ``url_ids``."""
        self._mark[url_ids] = True
        used = np.flatnonzero(self._mark)
        self._mark[used] = False
        self._local[used] = np.arange(len(used), dtype=np.int32)
        indices = self._local[url_ids]
        new = used[self._slot[used] < 0]
        if len(new):
            self._chunks.append(self.universe.urls(new))
            self._slot[new] = self._cached + np.arange(len(new))
            self._cached += len(new)
            if len(self._chunks) > 8:  # keep lookups cheap: few, large chunks
                self._chunks = [pa.concat_arrays(self._chunks)]
        store = pa.chunked_array(self._chunks, type=pa.string())
        dictionary = store.take(pa.array(self._slot[used])).combine_chunks()
        # two ids may spell the same URL (say /favicon.ico on one host): one dictionary entry
        unique = pc.dictionary_encode(dictionary)
        remap = unique.indices.to_numpy(zero_copy_only=False)
        if len(unique.dictionary) < len(dictionary):
            indices = remap.astype(np.int32)[indices]
            dictionary = unique.dictionary
        return indices, dictionary
