"""Content hashes (cryptographic digests and PDQ) and the in-memory matcher of content against hash lists.

Every image here is synthetic and benign (gradients, flat shapes, seeded noise drawn with Pillow), and every list
hash is random or derived from those images: no real image or real hash list is used.
"""

from __future__ import annotations

import hashlib
import io
import random
import sys
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageDraw

from pipelines.hashing import content as content_hashes
from pipelines.hashing.content import (
    PDQ_DEFAULT_THRESHOLD,
    PDQ_MIN_QUALITY,
    ContentHashes,
    PdqUnavailableError,
    hamming_distance,
    hash_content,
    sniff_image_format,
)
from pipelines.hashing.matcher import PDQ_BRUTE_FORCE_MAX, ContentHashMatcher, ContentHit
from pipelines.lists import parse_hash_list
from tests.pipelines.lists.formats.test_hashes import MD5_A, MD5_B, SHA1_A, SHA256_A, random_pdq

# ------------------------------------------------------------------------------------------------ helpers


def synthetic_scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A gradient background with a dozen seeded flat rectangles and ellipses and a little seeded noise."""
    rng = random.Random(seed)
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    red = 255 * x * rng.random() + 0 * y
    green = 255 * y + 0 * x
    blue = 255 * (1 - x) * rng.random() + 0 * y
    image = Image.fromarray(np.stack([red, green, blue], axis=2).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = [x0, y0, x0 + rng.randrange(40, 250), y0 + rng.randrange(40, 200)]
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    noise = np.random.default_rng(seed).integers(-12, 13, size=(height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def flip_bits(pdq_hex: str, count: int, rng: random.Random) -> str:
    value = int(pdq_hex, 16)
    for bit in rng.sample(range(256), count):
        value ^= 1 << bit
    return f"{value:064x}"


def flip_spread(pdq_hex: str, count: int, rng: random.Random) -> str:
    """Flip ``count`` bits spread round-robin over the 16 16-bit chunks: the multi-index's worst case, where as many
    chunks as possible differ (at 31, every chunk differs and the closest differs in 1 bit)."""
    value = int(pdq_hex, 16)
    chunks = list(range(16))
    rng.shuffle(chunks)
    per_chunk = [rng.sample(range(16), 16) for _ in range(16)]
    for i in range(count):
        chunk = chunks[i % 16]
        value ^= 1 << (chunk * 16 + per_chunk[chunk][i // 16])
    return f"{value:064x}"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.fixture(scope="module")
def scene_png() -> bytes:
    return encode(synthetic_scene(1), "PNG")


# ------------------------------------------------------------------------------------------------ digests


@pytest.mark.parametrize("body", [b"", b"hello, world\n", bytes(range(256)) * 100])
def test_digests_equal_hashlib_and_size_is_recorded(body):
    hashes = hash_content(body, "application/octet-stream")
    assert hashes.md5 == hashlib.md5(body).hexdigest()
    assert hashes.sha1 == hashlib.sha1(body).hexdigest()
    assert hashes.sha256 == hashlib.sha256(body).hexdigest()
    assert hashes.size == len(body)
    assert (hashes.pdq, hashes.pdq_quality, hashes.image_format) == (None, None, None)


def test_digests_of_an_image_are_of_its_bytes(scene_png):
    hashes = hash_content(scene_png, "image/png")
    assert hashes.sha256 == hashlib.sha256(scene_png).hexdigest()
    assert hashes.size == len(scene_png)


def test_bytes_like_bodies_are_accepted():
    assert hash_content(bytearray(b"abc"), None).md5 == hashlib.md5(b"abc").hexdigest()


# ------------------------------------------------------------------------------------------------ PDQ


def test_pdq_of_a_synthetic_image(scene_png):
    hashes = hash_content(scene_png, "image/png")
    assert hashes.image_format == "png"
    assert len(hashes.pdq) == 64 and int(hashes.pdq, 16) >= 0 and hashes.pdq == hashes.pdq.lower()
    assert PDQ_MIN_QUALITY <= hashes.pdq_quality <= 100
    assert hashes.pdq_reliable


def test_pdq_hex_is_threatexchanges_encoding(scene_png):
    """Bits in pdqhash's order, most significant first, as python-threatexchange's pdq_hasher writes them."""
    array = np.asarray(Image.open(io.BytesIO(scene_png)).convert("RGB"))
    bits, quality = pdqhash.compute(array)
    expected = f"{int(''.join(str(bit) for bit in bits), 2):064x}"
    hashes = hash_content(scene_png, None)
    assert (hashes.pdq, hashes.pdq_quality) == (expected, quality)


def test_resized_and_reencoded_image_stays_within_threshold(scene_png):
    original = hash_content(scene_png, "image/png")
    small_jpeg = encode(synthetic_scene(1).resize((320, 240), Image.Resampling.LANCZOS), "JPEG", quality=70)
    resized = hash_content(small_jpeg, "image/jpeg")
    assert resized.image_format == "jpeg"
    distance = hamming_distance(original.pdq, resized.pdq)
    assert distance <= PDQ_DEFAULT_THRESHOLD
    assert distance <= 12  # measured 4 when written; a large jump means the hashing path changed


@pytest.mark.parametrize(("fmt", "options"), [("GIF", {}), ("WEBP", {"quality": 80}), ("BMP", {})])
def test_other_image_formats_hash_close_to_the_original(scene_png, fmt, options):
    original = hash_content(scene_png, None)
    other = hash_content(encode(synthetic_scene(1), fmt, **options), None)
    assert other.image_format == fmt.lower()
    assert hamming_distance(original.pdq, other.pdq) <= PDQ_DEFAULT_THRESHOLD


def test_a_different_image_is_far(scene_png):
    original = hash_content(scene_png, None)
    for seed in (2, 3, 4):
        other = hash_content(encode(synthetic_scene(seed), "PNG"), None)
        assert hamming_distance(original.pdq, other.pdq) > PDQ_DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda png: png[: len(png) // 2],  # truncated
        lambda png: png[:8] + b"\x00" * 64,  # PNG signature, garbage after it
        lambda png: png[:30] + bytes(random.Random(1).getrandbits(8) for _ in range(2000)),  # mangled data
        lambda png: b"\xff\xd8\xff\xe0" + b"not really a jpeg",
        lambda png: b"GIF89a" + b"\x00",
        lambda png: b"RIFF\x10\x00\x00\x00WEBPVP8 ",
    ],
)
def test_a_corrupt_image_gives_no_pdq_and_never_raises(scene_png, corrupt):
    body = corrupt(scene_png)
    hashes = hash_content(body, "image/png")
    assert hashes.pdq is None and hashes.pdq_quality is None
    assert hashes.image_format is not None
    assert hashes.sha256 == hashlib.sha256(body).hexdigest()


def test_a_non_image_gives_no_pdq_whatever_its_content_type():
    for body in (b"<!doctype html><p>hello</p>", b"BM is also how this text starts", b"%PDF-1.7\n"):
        hashes = hash_content(body, "image/png")
        assert (hashes.pdq, hashes.image_format) == (None, None)


def test_magic_bytes_decide_not_the_content_type(scene_png):
    assert hash_content(scene_png, "text/html").pdq is not None
    assert hash_content(scene_png, None).pdq is not None


def test_pdq_can_be_switched_off(scene_png):
    hashes = hash_content(scene_png, "image/png", pdq=False)
    assert (hashes.pdq, hashes.pdq_quality) == (None, None)
    assert hashes.image_format == "png"


def test_sniffing():
    assert sniff_image_format(encode(Image.new("RGB", (8, 8)), "BMP")) == "bmp"
    assert sniff_image_format(b"BMnot-a-bitmap-header-at-all") is None
    assert sniff_image_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_image_format(b"") is None


def test_flat_and_tiny_images_hash_with_low_quality():
    for image in (Image.new("RGB", (200, 150), (120, 130, 140)), Image.new("RGB", (3, 3), (200, 0, 0))):
        hashes = hash_content(encode(image, "PNG"), None)
        assert hashes.pdq is not None and hashes.pdq_quality < PDQ_MIN_QUALITY
        assert not hashes.pdq_reliable


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "1"])
def test_every_pixel_mode_hashes(mode):
    image = synthetic_scene(7, (160, 120)).convert(mode)
    hashes = hash_content(encode(image, "PNG"), None)
    assert hashes.pdq is not None and len(hashes.pdq) == 64


def test_oversized_images_get_no_pdq(monkeypatch, scene_png):
    monkeypatch.setattr(content_hashes, "MAX_PDQ_PIXELS", 1000)
    hashes = hash_content(scene_png, None)
    assert hashes.pdq is None and hashes.image_format == "png"


def test_missing_pdq_package_is_a_clear_error(monkeypatch, scene_png):
    monkeypatch.setitem(sys.modules, "pdqhash", None)  # import pdqhash now raises ImportError
    assert not content_hashes.pdq_available()
    with pytest.raises(PdqUnavailableError, match="pdqhash"):
        content_hashes.require_pdq()
    with pytest.raises(PdqUnavailableError, match="pdqhash"):
        hash_content(scene_png, "image/png")
    assert hash_content(b"plain text", None).pdq is None  # no image: PDQ not needed
    assert hash_content(scene_png, None, pdq=False).md5 == hashlib.md5(scene_png).hexdigest()


def test_hamming_distance():
    zero, ones = "0" * 64, "f" * 64
    assert hamming_distance(zero, zero) == 0
    assert hamming_distance(zero, ones) == 256
    assert hamming_distance("8" + "0" * 63, zero) == 1
    assert hamming_distance("A" * 64, "a" * 64) == 0
    for bad in ("0" * 63, "g" * 64, "0" * 65, ""):
        with pytest.raises(ValueError):
            hamming_distance(bad, zero)


# ------------------------------------------------------------------------------------------------ matcher


def content(**overrides) -> ContentHashes:
    fields = {"md5": "0" * 32, "sha1": "0" * 40, "sha256": "0" * 64, "pdq": None, "pdq_quality": None, "size": 1}
    fields.update(overrides)
    return ContentHashes(**fields)


def test_exact_hits_for_each_algorithm(tmp_path):
    body = b"synthetic a"
    hashes = hash_content(body, "text/plain")
    md5_report = parse_hash_list(write(tmp_path, "m.txt", f"{MD5_A} label-m\n{MD5_B}\n"), "md5")
    matcher = ContentHashMatcher(
        [
            *md5_report.matcher_entries("list-m", 3),
            ("list-s1", 1, "sha1", SHA1_A.upper(), "label-s1"),
            ("list-s256", 2, "sha256", SHA256_A, None),
            ("other", 1, "sha256", hashlib.sha256(b"synthetic b").hexdigest(), None),
        ]
    )
    assert matcher.counts() == {"md5": 2, "sha1": 1, "sha256": 2, "pdq": 0}
    hits = matcher.match(hashes)
    assert sorted(hits, key=lambda hit: hit.algo) == [
        ContentHit("list-m", 3, "md5", MD5_A, "label-m", 0),
        ContentHit("list-s1", 1, "sha1", SHA1_A, "label-s1", 0),
        ContentHit("list-s256", 2, "sha256", SHA256_A, None, 0),
    ]
    assert matcher.match(hash_content(b"synthetic z", None)) == []


def test_pdq_hit_within_threshold_with_distance_and_miss_beyond():
    rng = random.Random(6)
    listed = random_pdq(rng)
    matcher = ContentHashMatcher([("bank", 1, "pdq", listed, "synthetic")])
    at_31, at_32 = flip_bits(listed, 31, rng), flip_bits(listed, 32, rng)
    assert matcher.match(content(pdq=at_31, pdq_quality=90)) == [ContentHit("bank", 1, "pdq", listed, "synthetic", 31)]
    assert matcher.match(content(pdq=at_32, pdq_quality=90)) == []
    assert [hit.distance for hit in matcher.match(content(pdq=at_32, pdq_quality=90), threshold=32)] == [32]
    assert matcher.match(content(pdq=at_31, pdq_quality=90), threshold=10) == []
    assert [hit.distance for hit in matcher.match(content(pdq=listed, pdq_quality=90))] == [0]


def test_low_quality_pdq_is_skipped_by_default():
    listed = random_pdq(random.Random(7))
    matcher = ContentHashMatcher([("bank", 1, "pdq", listed, None)])
    assert matcher.match(content(pdq=listed, pdq_quality=PDQ_MIN_QUALITY - 1)) == []
    assert len(matcher.match(content(pdq=listed, pdq_quality=PDQ_MIN_QUALITY))) == 1
    assert len(matcher.match(content(pdq=listed, pdq_quality=0), min_quality=0)) == 1
    assert len(matcher.match(content(pdq=listed, pdq_quality=None))) == 1  # unknown quality is matched


def test_a_hash_in_several_lists_hits_each_once():
    listed = random_pdq(random.Random(8))
    matcher = ContentHashMatcher(
        [("a", 1, "pdq", listed, None), ("b", 2, "pdq", listed, "x"), ("a", 1, "pdq", listed.upper(), None)]
    )
    hits = matcher.match(content(pdq=listed, pdq_quality=100))
    assert sorted((hit.list_name, hit.list_version) for hit in hits) == [("a", 1), ("b", 2)]


def test_image_to_list_end_to_end(tmp_path, scene_png):
    original = hash_content(scene_png, "image/png")
    other = hash_content(encode(synthetic_scene(9), "PNG"), None)
    report = parse_hash_list(write(tmp_path, "bank.txt", f"{original.pdq} synthetic-scene-1\n{other.pdq}\n"), "pdq")
    matcher = ContentHashMatcher(report.matcher_entries("bank", 1))
    resized = hash_content(
        encode(synthetic_scene(1).resize((320, 240), Image.Resampling.LANCZOS), "JPEG", quality=70), "image/jpeg"
    )
    hits = matcher.match(resized)
    assert [(hit.hash, hit.label) for hit in hits] == [(original.pdq, "synthetic-scene-1")]
    assert hits[0].distance == hamming_distance(original.pdq, resized.pdq)
    assert matcher.match(hash_content(encode(synthetic_scene(10), "PNG"), None)) == []


def test_bad_matcher_entries_are_rejected():
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        ContentHashMatcher([("x", 1, "crc32", "00", None)])
    with pytest.raises(ValueError, match="md5 needs 32"):
        ContentHashMatcher([("x", 1, "md5", SHA1_A, None)])
    matcher = ContentHashMatcher([])
    assert matcher.match(content(pdq="0" * 64, pdq_quality=100)) == []
    with pytest.raises(ValueError):
        matcher.pdq_search("0" * 64, threshold=-1)


def oracle(listed: list[str], query: str, threshold: int) -> list[tuple[str, int]]:
    found = [(hamming_distance(query, value), value) for value in set(listed)]
    return sorted((value, distance) for distance, value in found if distance <= threshold)


@pytest.mark.parametrize("clustered", [False, True])
def test_multi_index_agrees_with_brute_force(clustered):
    """~2,000 list hashes with planted near neighbours of the queries (random flips at distances 0 to 50, and flips
    spread over every chunk at the radius boundaries); the index, the vectorised brute force and a pure-Python scan
    agree for thresholds on both sides of the chunk sizes."""
    rng = random.Random(11 if clustered else 10)
    if clustered:  # skewed like real lists: hashes around a few centres share chunk values
        centres = [random_pdq(rng) for _ in range(20)]
        listed = [flip_bits(rng.choice(centres), rng.randrange(0, 60), rng) for _ in range(1800)]
    else:
        listed = [random_pdq(rng) for _ in range(1800)]
    queries = [random_pdq(rng) for _ in range(40)] + rng.sample(listed, 10)
    for query in queries:
        listed.extend(flip_bits(query, distance, rng) for distance in rng.sample(range(51), 5))
        listed.extend(flip_spread(query, distance, rng) for distance in (15, 16, 17, 31, 32, 47, 48))
    matcher = ContentHashMatcher([("bank", 1, "pdq", value, None) for value in listed])
    assert matcher.pdq_indexed and len(set(listed)) > PDQ_BRUTE_FORCE_MAX
    planted_hits = 0
    for query in queries:
        for threshold in (0, 1, 15, 16, 17, 31, 32, 47, 48, 64):
            indexed = matcher.pdq_search(query, threshold)
            brute = matcher.pdq_search(query, threshold, brute_force=True)
            expected = oracle(listed, query, threshold)
            assert sorted(indexed) == sorted(brute) == expected, (query, threshold)
            assert [d for _, d in indexed] == sorted(d for _, d in indexed)  # nearest first
            if threshold == PDQ_DEFAULT_THRESHOLD:
                planted_hits += len(indexed)
    assert planted_hits >= 100  # the planted neighbours were found, not just agreed upon as empty


def test_tiny_lists_use_brute_force_and_agree():
    rng = random.Random(12)
    listed = [random_pdq(rng) for _ in range(20)]
    matcher = ContentHashMatcher([("bank", 1, "pdq", value, None) for value in listed])
    assert not matcher.pdq_indexed
    query = flip_bits(listed[3], 20, rng)
    assert matcher.pdq_search(query) == oracle(listed, query, PDQ_DEFAULT_THRESHOLD) == [(listed[3], 20)]


def test_a_huge_image_is_hashed_in_bounded_memory():
    """A 62 KB PNG of 8000 x 8000 pixels (an image bomb a crawled server can send) took 1.9 GB and 13 s inside
    pdqhash at full size: large images are scaled down before hashing. Measured in a fresh process."""
    import subprocess

    script = """
import io
from PIL import Image
image = Image.new("L", (8000, 8000))
image.paste(255, (0, 0, 4000, 8000))
out = io.BytesIO(); image.save(out, "PNG"); body = out.getvalue(); del image, out
from pipelines.hashing.content import pdq_hash_image
def kib(field):  # VmRSS / VmHWM of this process; ru_maxrss would include the peak of pytest's image before exec
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":"))
open("/proc/self/clear_refs", "w").write("5")  # resets VmHWM to the current RSS
before = kib("VmRSS")
result = pdq_hash_image(body)
print(len(body), result is not None, (kib("VmHWM") - before) // 1024)
"""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    size, hashed, grown_mib = done.stdout.split()
    assert int(size) < 200_000 and hashed == "True"
    assert int(grown_mib) < 300, grown_mib  # the decoded grey image alone is 61 MiB


def test_scaling_a_large_image_down_keeps_its_pdq_close():
    image = Image.new("RGB", (3000, 2400))
    draw = ImageDraw.Draw(image)
    for index in range(12):
        draw.ellipse([index * 230, index * 170, index * 230 + 700, index * 170 + 500], fill=(index * 20, 90, 200))
    big = hash_content(_png(image), "image/png")
    small = hash_content(_png(image.resize((750, 600))), "image/png")
    assert big.pdq is not None and hamming_distance(big.pdq, small.pdq) <= 12


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
