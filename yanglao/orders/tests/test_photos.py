"""The perceptual hash of visit photos: the same picture re-saved, resized or re-compressed keeps its hash
(within photos.PHOTO_DISTANCE bits), a different picture does not, and what is not a picture is refused
beside the photo field."""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yanglao.core.errors import InvalidInput
from yanglao.orders import photos


def picture(seed: int, *, size: tuple[int, int] = (1200, 900), fmt: str = "JPEG", quality: int = 92) -> bytes:
    """A photo-like picture made in memory: a smooth landscape of light and dark patches, different for
    each seed, saved at the given size, format and quality."""
    chooser = random.Random(seed)
    grid = Image.new("RGB", (9, 8))
    for y in range(8):
        level = chooser.randrange(30, 226)
        for x in range(9):
            # Neighbours differ clearly, as the edges of real objects do.
            step = chooser.choice([-1, 1]) * chooser.randrange(45, 90)
            level = level + step if 20 <= level + step <= 235 else level - step
            grid.putpixel((x, y), (level, max(0, level - 25), min(255, level + 20)))
    image = grid.resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_the_same_picture_re_encoded_or_resized_keeps_its_hash():
    original = photos.perceptual_hash(upload(picture(1)))
    variants = [
        picture(1, size=(600, 450), quality=60),  # sent again at half size, compressed harder
        picture(1, size=(300, 225), quality=35),  # a thumbnail
        picture(1, size=(1600, 1200), fmt="PNG"),  # re-saved as PNG, larger
    ]
    for data in variants:
        assert photos.hamming(original, photos.perceptual_hash(upload(data))) <= photos.PHOTO_DISTANCE
    assert len(original) == 16 and int(original, 16) >= 0


def test_different_pictures_have_hashes_far_apart():
    hashes = [photos.perceptual_hash(upload(picture(seed))) for seed in (1, 2, 3)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert photos.hamming(a, b) > 3 * photos.PHOTO_DISTANCE


def test_a_file_that_is_not_a_picture_is_refused_beside_the_photo_field():
    with pytest.raises(InvalidInput, match="不是可识别的图片") as refused:
        photos.perceptual_hash(
            upload(b"%PDF-1.7 not a photo", name="report.pdf", content_type="application/pdf")
        )
    assert refused.value.field == "photo"
    truncated = picture(1)[:200]  # a picture cut off in transfer
    with pytest.raises(InvalidInput) as refused:
        photos.perceptual_hash(upload(truncated))
    assert refused.value.field == "photo"


def test_a_picture_over_ten_megabytes_is_refused_before_it_is_read():
    too_big = upload(picture(1))
    too_big.size = photos.LARGEST_BYTES + 1
    with pytest.raises(InvalidInput, match="10 MB") as refused:
        photos.perceptual_hash(too_big)
    assert refused.value.field == "photo"
