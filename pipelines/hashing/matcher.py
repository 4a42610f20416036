"""Matching the content hashes of fetched bodies (pipelines/hashing/content.py) against the entries of
content-hash lists (read by pipelines.lists, formats `hashes-<algo>`): md5, sha1 and sha256 exactly, PDQ within a
Hamming distance.

PDQ matching (Hamming distance <= threshold, default 31) uses a multi-index: the 256 bits are cut into 16 chunks
of 16 bits, each chunk value indexed. Two hashes within distance d differ in fewer than ``r + 1`` bits in at least
one chunk, r = d // 16 (if all 16 chunks differed in r + 1 bits or more, the distance would be >= 16 (r + 1) > d).
So probing every chunk's exact value and its values within r bit flips (r = 1 for d <= 31: 17 probes a chunk,
272 in all) finds every list hash within d; candidates are then checked exactly. Random 100k lists give a few
hundred candidates a query. Tiny lists and thresholds above 47 are searched by brute force (vectorised).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pipelines.hashing.content import PDQ_DEFAULT_THRESHOLD, PDQ_MIN_QUALITY, ContentHashes
from pipelines.lists import HASH_ALGOS, check_hash

PDQ_CHUNKS = 16  # 16-bit chunks of the 256-bit hash
PDQ_MAX_PROBE_RADIUS = 2  # bit flips probed per chunk: thresholds up to 16 * 3 - 1 = 47 use the index
PDQ_BRUTE_FORCE_MAX = 256  # lists with at most this many distinct PDQ hashes are scanned, not indexed

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


@dataclass(frozen=True, slots=True)
class ContentHit:
    list_name: str
    list_version: object
    algo: str
    hash: str  # the list's hash (for PDQ, not the content's own)
    label: str | None
    distance: int  # 0 for md5 / sha1 / sha256; the Hamming distance for PDQ


class ContentHashMatcher:
    """Match ContentHashes against list entries ``(list_name, version, algo, hash, label)``.

    md5 / sha1 / sha256 are exact lookups. PDQ hits are list hashes within ``threshold`` bits (default
    PDQ_DEFAULT_THRESHOLD = 31, inclusive), found through a 16-chunk multi-index (see the module docstring).
    By default a content PDQ hash whose quality is below PDQ_MIN_QUALITY (50) is not matched at all: such hashes
    come from flat or near-blank images and match unrelated content; pass ``min_quality=0`` to match them anyway.
    A hash with unknown quality (None) is matched.
    """

    def __init__(self, entries: Iterable[tuple[str, object, str, str, str | None]]):
        self._exact: dict[str, dict[str, list[int]]] = {algo: defaultdict(list) for algo in ("md5", "sha1", "sha256")}
        self._entries: list[tuple[str, object, str, str, str | None]] = []
        pdq_owner: dict[str, list[int]] = {}
        seen: set[tuple[str, object, str, str]] = set()
        for position, item in enumerate(entries):
            list_name, version, algo, value, label = item
            algo = str(algo).lower()
            if algo not in HASH_ALGOS:
                raise ValueError(f"entry {position} ({list_name}): unknown hash algorithm {algo!r}")
            normalized, reason = check_hash(str(value).strip(), algo)
            if normalized is None:
                raise ValueError(f"entry {position} ({list_name}): {reason}: {str(value)[:80]!r}")
            key = (list_name, version, algo, normalized)
            if key in seen:
                continue
            seen.add(key)
            index = len(self._entries)
            self._entries.append((list_name, version, algo, normalized, label))
            if algo == "pdq":
                pdq_owner.setdefault(normalized, []).append(index)
            else:
                self._exact[algo][normalized].append(index)
        self._pdq_owner = pdq_owner
        self._pdq_hashes = list(pdq_owner)
        count = len(self._pdq_hashes)
        self._pdq_bytes = np.frombuffer(bytes.fromhex("".join(self._pdq_hashes)), dtype=np.uint8).reshape(count, 32)
        self._indexed = count > PDQ_BRUTE_FORCE_MAX
        if self._indexed:
            self._build_index()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def pdq_indexed(self) -> bool:
        """Whether PDQ searches go through the multi-index (lists above PDQ_BRUTE_FORCE_MAX distinct hashes)."""
        return self._indexed

    def counts(self) -> dict[str, int]:
        out = {algo: sum(len(owners) for owners in table.values()) for algo, table in self._exact.items()}
        out["pdq"] = sum(len(owners) for owners in self._pdq_owner.values())
        return out

    def _build_index(self) -> None:
        count = len(self._pdq_hashes)
        chunks = self._pdq_bytes.view(">u2").astype(np.int64)  # (count, 16) chunk values, 0..65535
        self._order = np.empty((PDQ_CHUNKS, count), dtype=np.int32)
        self._offsets = np.empty((PDQ_CHUNKS, 65537), dtype=np.int32)
        for chunk in range(PDQ_CHUNKS):
            values = chunks[:, chunk]
            self._order[chunk] = np.argsort(values, kind="stable")
            self._offsets[chunk, 0] = 0
            np.cumsum(np.bincount(values, minlength=65536), out=self._offsets[chunk, 1:])
        self._order_flat = self._order.ravel()
        self._probe_masks = [_flip_masks(radius) for radius in range(PDQ_MAX_PROBE_RADIUS + 1)]

    def pdq_search(self, pdq_hex: str, threshold: int = PDQ_DEFAULT_THRESHOLD, *, brute_force: bool = False):
        """List hashes within ``threshold`` bits of ``pdq_hex``, as (hash, distance), nearest first."""
        if not 0 <= threshold <= 256:
            raise ValueError(f"PDQ threshold must be between 0 and 256, not {threshold}")
        normalized, reason = check_hash(pdq_hex, "pdq")
        if normalized is None:
            raise ValueError(f"not a PDQ hash: {reason}")
        if not self._pdq_hashes:
            return []
        query = np.frombuffer(bytes.fromhex(normalized), dtype=np.uint8)
        radius = threshold // PDQ_CHUNKS
        if brute_force or not self._indexed or radius > PDQ_MAX_PROBE_RADIUS:
            candidates = np.arange(len(self._pdq_hashes))
        else:
            candidates = self._candidates(query, radius)
        if candidates.size == 0:
            return []
        distances = _POPCOUNT[np.bitwise_xor(self._pdq_bytes[candidates], query)].sum(axis=1)
        keep = distances <= threshold
        found = sorted(zip(distances[keep].tolist(), candidates[keep].tolist(), strict=True))
        return [(self._pdq_hashes[index], distance) for distance, index in found]

    def _candidates(self, query: np.ndarray, radius: int) -> np.ndarray:
        """Indexes of the list hashes that share, in some chunk, a value within ``radius`` flips of the query's."""
        values = query.view(">u2").astype(np.int64)  # (16,)
        probes = values[:, None] ^ self._probe_masks[radius][None, :]  # (16, probes per chunk)
        rows = np.arange(PDQ_CHUNKS)[:, None]
        starts = self._offsets[rows, probes].ravel().astype(np.int64)
        ends = self._offsets[rows, probes + 1].ravel().astype(np.int64)
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        bases = starts + np.repeat(np.arange(PDQ_CHUNKS, dtype=np.int64) * len(self._pdq_hashes), probes.shape[1])
        run_starts = np.cumsum(lengths) - lengths
        positions = np.repeat(bases - run_starts, lengths) + np.arange(total)
        return np.unique(self._order_flat[positions])

    def match(
        self,
        hashes: ContentHashes,
        *,
        threshold: int = PDQ_DEFAULT_THRESHOLD,
        min_quality: int = PDQ_MIN_QUALITY,
    ) -> list[ContentHit]:
        """Every list entry the content matches: exact digests first, then PDQ hits nearest first. The PDQ hash is
        skipped when its quality is below ``min_quality`` (see the class docstring)."""
        hits: list[ContentHit] = []
        for algo in ("md5", "sha1", "sha256"):
            value = getattr(hashes, algo, None)
            if value:
                for index in self._exact[algo].get(value.lower(), ()):
                    hits.append(self._hit(index, 0))
        quality_ok = hashes.pdq_quality is None or hashes.pdq_quality >= min_quality
        if hashes.pdq and quality_ok and self._pdq_hashes:
            for value, distance in self.pdq_search(hashes.pdq, threshold):
                hits.extend(self._hit(index, distance) for index in self._pdq_owner[value])
        return hits

    def _hit(self, index: int, distance: int) -> ContentHit:
        list_name, version, algo, value, label = self._entries[index]
        return ContentHit(list_name, version, algo, value, label, distance)


def _flip_masks(radius: int) -> np.ndarray:
    """All 16-bit masks with at most ``radius`` bits set (0 first)."""
    masks = [0]
    for bits in range(1, radius + 1):
        masks.extend(sum(1 << bit for bit in combo) for combo in itertools.combinations(range(16), bits))
    return np.array(masks, dtype=np.int64)
