"""Background images: the type read from the bytes, decoded under a pixel limit."""

import hashlib
import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, UnidentifiedImageError

from tenantry.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


class UnsupportedImage(UnsupportedMediaType):
    code = "UNSUPPORTED_IMAGE_TYPE"
    default_detail = "Send a PNG, JPEG, WebP or GIF image."


class ImageTooLarge(PayloadTooLarge):
    code = "IMAGE_TOO_LARGE"
    default_detail = "The image has too many pixels."


class InvalidImage(BadRequest):
    code = "INVALID_IMAGE"
    default_detail = "The image could not be decoded: it is truncated or corrupt."


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    sha256: str
    data: bytes


def check(data: bytes, max_pixels: int) -> CheckedImage:
    """Decode `data` fully (CPU-bound: call it in a thread); its type comes from its bytes."""
    if not data:
        raise InvalidImage("The body is empty: send the image's bytes.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data), formats=list(FORMATS)) as image:
                if image.width * image.height > max_pixels:
                    raise ImageTooLarge(
                        f"The image is {image.width}x{image.height}; at most {max_pixels} "
                        "pixels are accepted."
                    )
                image.load()
                image_format = image.format
        except UnidentifiedImageError as error:
            raise UnsupportedImage from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooLarge from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise InvalidImage from error
    assert image_format in FORMATS
    return CheckedImage(FORMATS[image_format], hashlib.sha256(data).hexdigest(), data)
