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


def _orientation(exif: bytes) -> int | None:
    """The Orientation tag (0x0112) of an APP1 EXIF payload, or None."""
    if not exif.startswith(b"Exif\x00\x00"):
        return None
    tiff = exif[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
    for n in range(count):
        tag, kind, _, value = struct.unpack(order + "HHIH", tiff[ifd + 2 + 12 * n: ifd + 12 + 12 * n])
        if tag == 0x0112 and kind == 3 and 1 <= value <= 8:
            return value
    return None


def _orientation_segment(orientation: int) -> bytes:
    """A minimal APP1 EXIF segment holding only the Orientation, so portrait photos stay upright."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) \
        + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _next_marker(data: bytes, i: int) -> int:
    """The index of the marker after entropy-coded data starting at `i` (0xFF00 is a stuffed byte,
    0xFFD0-0xFFD7 are restart markers inside the scan)."""
    while i < len(data) - 1:
        if data[i] == 0xFF and data[i + 1] not in (0x00, 0xFF) and not 0xD0 <= data[i + 1] <= 0xD7:
            return i
        i += 1
    raise NotAnImage("JPEG without an end marker")


def _strip_jpeg(data: bytes) -> bytes:
    """Keeps the frame, tables and scans up to the end-of-image marker; drops APPn, comments and
    anything after the image (embedded previews, maker trailers, motion-photo videos)."""
    out, orientation = bytearray(), None
    i = 2
    while True:
        if i + 1 >= len(data) or data[i] != 0xFF:
            raise NotAnImage("broken JPEG marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            head = b"\xff\xd8" + (_orientation_segment(orientation) if orientation else b"")
            return head + bytes(out) + b"\xff\xd9"
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[i:i + 2]
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        segment = data[i:i + 2 + length]
        if len(segment) < 2 + length or length < 2:
            raise NotAnImage("truncated JPEG")
        if marker == 0xE1 and orientation is None:
            orientation = _orientation(segment[4:])
        if marker not in _JPEG_DROP:
            out += segment
        i += 2 + length
        if marker == 0xDA:  # start of scan: the compressed data runs to the next marker
            end = _next_marker(data, i)
            out += data[i:end]
            i = end


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
    try:
        if kind == "image/jpeg":
            return _strip_jpeg(data), kind
        if kind == "image/png":
            return _strip_png(data), kind
    except (IndexError, struct.error) as exc:
        raise NotAnImage(f"damaged {kind}") from exc
    raise NotAnImage(kind or "unknown")
