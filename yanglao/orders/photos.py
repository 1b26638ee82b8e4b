"""Visit photos: checked to be pictures, and given a perceptual hash so that the same photo handed in for
another visit is found even after it was re-saved, resized or re-compressed (DOMAIN.md §5 fraud checks).

The hash is a difference hash (dHash): the picture shrunk to 9×8 grey pixels, one bit per pair of
horizontal neighbours (is the left one brighter?). Re-encoding changes few bits; a different scene
changes about half. Two photos within PHOTO_DISTANCE bits are taken to be the same picture."""

from __future__ import annotations

from typing import IO, Any

from PIL import Image, UnidentifiedImageError

from yanglao.core.errors import InvalidInput

LARGEST_BYTES = 10 * 1024 * 1024
PHOTO_DISTANCE = 4  # of 64 bits


def perceptual_hash(upload: IO[bytes] | Any) -> str:
    """The 64-bit dHash of an uploaded picture as 16 hex digits; refuses what is not a picture."""
    size = getattr(upload, "size", None)
    if size is not None and size > LARGEST_BYTES:
        raise InvalidInput("照片不能超过 10 MB", field="photo")
    try:
        with Image.open(upload) as picture:
            picture.draft("L", (64, 64))  # JPEG decodes at a reduced size: fast on phone photos
            grey = picture.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidInput("上传的文件不是可识别的图片（支持 JPEG、PNG）", field="photo") from None
    pixels = grey.tobytes()  # one byte per grey pixel, row by row
    bits = 0
    for row in range(8):
        for column in range(8):
            left, right = pixels[row * 9 + column], pixels[row * 9 + column + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    """How many of the 64 bits differ between two hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
