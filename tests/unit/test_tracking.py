from __future__ import annotations

import random
import re

from chalicelib.domain.tracking import ALPHABET, new_code, parse_code


def test_codes_never_contain_characters_confused_on_the_phone() -> None:
    for confusable in "0O1IL":
        assert confusable not in ALPHABET
    codes = {new_code("TN") for _ in range(2000)}
    assert all(re.fullmatch(r"TN-[2-9A-HJKMNP-Z]{6}", c) for c in codes)
    assert len(codes) == 2000  # 31^6 codes: no collision expected in a few thousand


def test_a_seeded_generator_gives_repeatable_codes() -> None:
    rng = random.Random(7)
    assert new_code("TN", rng.choice) == new_code("TN", random.Random(7).choice)


def test_citizens_can_type_the_code_loosely() -> None:
    for typed in ("TN-7KXQ4M", "tn-7kxq4m", "tn 7kxq 4m", "TN7KXQ4M", " TN.7KXQ4M "):
        assert parse_code(typed, "TN") == "TN-7KXQ4M"


def test_wrong_prefix_length_or_characters_are_not_codes() -> None:
    for typed in ("", "TN-7KXQ4", "TN-7KXQ4MM", "HN-7KXQ4M", "TN-7KXQ0M", "TN-7KXQIM", "TN-7KXQ4M; drop"):
        assert parse_code(typed, "TN") is None
