"""Hashes of fetched content, computed in memory: cryptographic digests of every body, and a PDQ perceptual hash
of images, so that content can be checked against lists of known-bad hashes without being kept.

PDQ is Meta's open photo-similarity hash (256 bits, compared by Hamming distance), the one ThreatExchange and the
Hasher-Matcher-Actioner (HMA) exchange. The hash comes from the ``pdqhash`` package (bindings of the reference
C++ code), fed the way python-threatexchange's ``pdq_hasher`` feeds it: the decoded first frame as 8-bit RGB,
alpha dropped, no EXIF rotation, at full resolution. Hashes are therefore comparable with ThreatExchange's.

Nothing here writes to disk: the body is decoded from memory, with only the decoder of the format its magic bytes
name (so no plugin that shells out or spools to a temporary file is ever tried).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

PDQ_DEFAULT_THRESHOLD = 31  # python-threatexchange's PDQ_CONFIDENT_MATCH_THRESHOLD, HMA's default
PDQ_MIN_QUALITY = 50  # python-threatexchange's PdqSignal.QUALITY_THRESHOLD: below it a hash is too unreliable
PDQ_BITS = 256
PDQ_HEX_LENGTH = PDQ_BITS // 4
MAX_PDQ_PIXELS = 64_000_000  # larger images get no PDQ (pdq None)
# Larger images are scaled down (longest side PDQ_WORKING_SIDE) before PDQ: pdqhash works in floats at full size
# (an 8000 x 8000 PNG of a few KB takes gigabytes); PDQ itself reduces every image to 64 x 64, so the hash of
# the scaled image stays within a few bits of the full one.
PDQ_FULL_SIZE_PIXELS = 2048 * 2048
PDQ_WORKING_SIDE = 1024

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp", "bmp")
_PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP"}
_BMP_INFO_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

PDQ_PACKAGES = "pdqhash, numpy and pillow"


class PdqUnavailableError(RuntimeError):
    """PDQ was asked for but its packages (pdqhash, numpy, pillow) cannot be imported."""


@dataclass(frozen=True, slots=True)
class ContentHashes:
    """Hashes of one body. ``pdq`` / ``pdq_quality`` are None unless the body is a decodable image and PDQ was
    asked for; ``image_format`` is the format sniffed from the magic bytes (set even when decoding failed)."""

    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    size: int
    image_format: str | None = None

    @property
    def pdq_reliable(self) -> bool:
        """A PDQ hash whose quality reaches PDQ_MIN_QUALITY (one with unknown quality counts as reliable)."""
        return self.pdq is not None and (self.pdq_quality is None or self.pdq_quality >= PDQ_MIN_QUALITY)


def sniff_image_format(body: bytes) -> str | None:
    """The image format named by the body's magic bytes: png, jpeg, gif, webp, bmp, or None."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if body.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if body.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(body) >= 12 and body.startswith(b"RIFF") and body[8:12] == b"WEBP":
        return "webp"
    # "BM" alone is too common a start for text; the DIB header size that follows it is one of a few values
    if len(body) >= 18 and body.startswith(b"BM") and int.from_bytes(body[14:18], "little") in _BMP_INFO_HEADER_SIZES:
        return "bmp"
    return None


def hash_content(body: bytes, content_type: str | None = None, *, pdq: bool = True) -> ContentHashes:
    """md5, sha1 and sha256 of ``body`` always; its PDQ hash and quality too when ``pdq`` is true and the body is
    an image (PNG, JPEG, GIF, WebP or BMP by its magic bytes) that decodes.

    ``content_type`` is a hint only and never decides: a PNG served as text/html is hashed as an image, an HTML
    page served as image/png is not. A corrupt, truncated or oversized image gives ``pdq=None``; this function
    never raises for what the body holds. It raises PdqUnavailableError only when an image needs PDQ and the
    PDQ packages are not installed (``require_pdq()`` checks that up front).
    """
    del content_type  # accepted for the caller's convenience; the magic bytes decide
    body = bytes(body) if not isinstance(body, bytes) else body
    image_format = sniff_image_format(body)
    pdq_hex = quality = None
    if pdq and image_format is not None:
        result = pdq_hash_image(body, image_format)
        if result is not None:
            pdq_hex, quality = result
    return ContentHashes(
        md5=hashlib.md5(body, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(body, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(body).hexdigest(),
        pdq=pdq_hex,
        pdq_quality=quality,
        size=len(body),
        image_format=image_format,
    )


def pdq_available() -> bool:
    """Whether the PDQ packages import."""
    try:
        require_pdq()
    except PdqUnavailableError:
        return False
    return True


def require_pdq() -> None:
    """Raise PdqUnavailableError, naming the missing package, unless PDQ hashing can run."""
    _pdq_modules()


def _pdq_modules():
    missing = []
    try:
        import numpy
    except ImportError:
        missing.append("numpy")
    try:
        import PIL.Image
    except ImportError:
        missing.append("pillow")
    try:
        import pdqhash
    except ImportError:
        missing.append("pdqhash")
    if missing:
        raise PdqUnavailableError(
            f"PDQ hashing needs the Python package(s) {', '.join(missing)} "
            f"(`pip install pdqhash numpy pillow`, or reinstall linksweep: they are among its dependencies)"
        )
    return numpy, PIL.Image, pdqhash


def pdq_hash_image(body: bytes, image_format: str | None = None) -> tuple[str, int] | None:
    """(PDQ hex, quality 0-100) of an image held in memory, or None when it does not decode (or has more than
    MAX_PDQ_PIXELS pixels). ``image_format`` restricts decoding to that format; by default it is sniffed."""
    np, image_module, pdqhash = _pdq_modules()
    image_format = image_format or sniff_image_format(body)
    if image_format not in _PILLOW_FORMATS:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF and palette warnings
            with image_module.open(io.BytesIO(body), formats=[_PILLOW_FORMATS[image_format]]) as image:
                width, height = image.size
                if width <= 0 or height <= 0 or width * height > MAX_PDQ_PIXELS:
                    return None
                if width * height > PDQ_FULL_SIZE_PIXELS:  # JPEG decodes at a fraction of its size (draft)
                    image.thumbnail((PDQ_WORKING_SIDE, PDQ_WORKING_SIDE))
                image.load()
                rgb = image if image.mode == "RGB" else image.convert("RGB")
                array = np.asarray(rgb, dtype=np.uint8)
        if array.ndim != 3 or array.shape[2] != 3:
            return None
        bits, quality = pdqhash.compute(array)
    except Exception:  # any decoder failure (OSError, SyntaxError, ValueError, ...) means no PDQ
        return None
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


def validate_pdq_hex(value: str) -> str:
    """The hash lowercased, or ValueError unless it is 64 hex digits."""
    if len(value) != PDQ_HEX_LENGTH or not _HEX_DIGITS.issuperset(value):
        raise ValueError(f"not a PDQ hash (64 hex digits): {value[:80]!r}")
    return value.lower()


def hamming_distance(hex_a: str, hex_b: str) -> int:
    """Number of differing bits between two 256-bit PDQ hashes given as 64 hex digits."""
    a = int(validate_pdq_hex(hex_a), 16)
    b = int(validate_pdq_hex(hex_b), 16)
    return (a ^ b).bit_count()
