from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.phones import last4, normalise_phone


@pytest.mark.parametrize("typed", ["0912345678", "0912.345.678", "0912-345-678", "0912 345 678", "+84912345678",
                                   "84912345678", "+84 (0) 912 345 678", "0084912345678", "(+84) 912 345 678"])
def test_every_common_spelling_normalises_to_e164(typed: str) -> None:
    assert normalise_phone(typed) == "+84912345678"


@pytest.mark.parametrize("old,new", [("01662345678", "+84362345678"), ("01202345678", "+84702345678"),
                                     ("01232345678", "+84832345678"), ("01862345678", "+84562345678"),
                                     ("01992345678", "+84592345678"), ("+841692345678", "+84392345678")])
def test_pre_2018_eleven_digit_numbers_map_to_today(old: str, new: str) -> None:
    assert normalise_phone(old) == new


def test_landlines_are_accepted() -> None:
    assert normalise_phone("0276 3822 001") == "+842763822001"


@pytest.mark.parametrize("garbage", ["", "abc", "12345", "0912345", "09123456789012", "0086912345678",
                                     "+1 202 555 0100", "0891234567", "1022", "0912-ABC-678"])
def test_garbage_is_rejected_with_a_bilingual_message(garbage: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        normalise_phone(garbage, field="caller")
    (error,) = failed.value.errors
    assert error.field == "caller" and "Số điện thoại" in error.vi and "phone" in error.en


def test_last4() -> None:
    assert last4("+84912345678") == "5678"
