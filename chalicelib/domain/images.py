"""Photos citizens attach: which files are accepted, and removing GPS and other metadata from
anything shown publicly. Pure Python (no imaging library in the Lambda zip): JPEG keeps only its
image segments, PNG only its image chunks. HEIC is accepted for staff but never published."""
from __future__ import annotations

import struct

MAX_PHOTOS = 5
MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/heif": ".heic"}
PUBLISHABLE = {"image/jpeg", "image/png"}


class NotAnImage(ValueError):
    """The bytes are not the image type they claim to be."""


def sniff(data: bytes) -> str | None:
    """Returns the content type the bytes really are (JPEG, PNG, HEIC/HEIF), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
        return "image/heic"
    return None


# JPEG segments that carry metadata: APP1 (EXIF, XMP), APP2-APP15 (ICC aside, vendor data), COM.
_JPEG_DROP = set(range(0xE1, 0xF0)) | {0xFE}


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(b"\xff\xd8")
    i = 2
    while i < len(data):
        if data[i] != 0xFF:
            raise NotAnImage("broken JPEG marker")
        marker = data[i + 1]
        if marker == 0xD9:  # end of image
            out += data[i:i + 2]
            return bytes(out)
        if marker == 0xDA:  # start of scan: the compressed image runs to the end
            out += data[i:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[i:i + 2]
            i += 2
            continue
        if i + 4 > len(data):
            raise NotAnImage("truncated JPEG")
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        segment = data[i:i + 2 + length]
        if marker not in _JPEG_DROP:
            out += segment
        i += 2 + length
    raise NotAnImage("JPEG without image data")


_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs"}


def _strip_png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    i = 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        kind = data[i + 4:i + 8]
        chunk = data[i:i + 12 + length]
        if len(chunk) < 12 + length:
            raise NotAnImage("truncated PNG")
        if kind in _PNG_KEEP:  # drops eXIf, tEXt, zTXt, iTXt, tIME and anything private
            out += chunk
        i += 12 + length
        if kind == b"IEND":
            return bytes(out)
    raise NotAnImage("PNG without IEND")


def strip_metadata(data: bytes) -> tuple[bytes, str]:
    """Returns (the image without metadata, its content type). Raises NotAnImage for anything
    but a JPEG or PNG (HEIC is not published)."""
    kind = sniff(data)
    if kind == "image/jpeg":
        return _strip_jpeg(data), kind
    if kind == "image/png":
        return _strip_png(data), kind
    raise NotAnImage(kind or "unknown")
