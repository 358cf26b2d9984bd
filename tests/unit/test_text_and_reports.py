from __future__ import annotations

import unicodedata

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.reference import parse_reference
from chalicelib.domain.reports import validate_submission
from chalicelib.domain.text import fold, nfc
from chalicelib.store.reference import seed_document

REF = parse_reference(seed_document())


def test_folding_handles_d_stroke_and_case() -> None:
    assert fold("Đường Đống Đa bị NGẬP") == "duong dong da bi ngap"
    assert fold(unicodedata.normalize("NFD", "phản ánh")) == "phan anh"


def test_nfd_input_is_stored_as_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "  Phản ánh đường ngập ")
    assert nfc(decomposed) == "Phản ánh đường ngập"


def test_a_valid_report_is_normalised() -> None:
    raw = {"description": unicodedata.normalize("NFD", "Đèn đường hỏng"), "phone": "0912.345.678",
           "category": "chieu-sang", "area": "long-hoa", "consent_publish": "on", "lat": "11.31", "lon": "106.1"}
    submission = validate_submission(raw, REF)
    assert submission.description == "Đèn đường hỏng" and submission.phone == "+84912345678"
    assert submission.consent_publish is True and submission.lat == pytest.approx(11.31)


def test_every_bad_field_is_named_at_once() -> None:
    raw = {"description": "x" * 5001, "phone": "12", "category": "bay-bay", "area": "sao-hoa",
           "email": "not-an-email", "name": "N" * 101, "lat": "95"}
    with pytest.raises(ValidationFailed) as failed:
        validate_submission(raw, REF)
    fields = {e.field for e in failed.value.errors}
    assert fields == {"description", "phone", "category", "area", "email", "name", "lat"}
    assert all(e.vi and e.en for e in failed.value.errors)


@pytest.mark.parametrize("description", [None, "", "   \n\t "])
def test_missing_or_blank_description_is_refused(description: object) -> None:
    with pytest.raises(ValidationFailed) as failed:
        validate_submission({"description": description, "phone": "0912345678"}, REF)
    assert [e.field for e in failed.value.errors] == ["description"]


def test_exactly_5000_characters_is_fine() -> None:
    assert len(validate_submission({"description": "ă" * 5000, "phone": "0912345678"}, REF).description) == 5000


def test_a_reference_document_with_errors_is_refused_whole() -> None:
    doc = seed_document()
    doc["categories"][0]["agency"] = "so-khong-ton-tai"
    doc["categories"][1]["sla_working_days"] = 0
    with pytest.raises(ValidationFailed) as failed:
        parse_reference(doc)
    assert len(failed.value.errors) == 2



def test_sms_on_escalation_is_opt_in_per_contact_and_needs_a_valid_phone() -> None:
    doc = seed_document()
    plain = parse_reference(doc)
    assert plain.agencies["so-y-te"].supervisor_sms_escalations is False  # absent: e-mail only
    assert plain.agencies["so-xay-dung"].supervisor_phone == "+84901022001"  # the seed's opted-in supervisor
    doc["agencies"][1]["supervisor_sms_escalations"] = "yes"
    doc["agencies"][2].update(supervisor_sms_escalations=True, supervisor_phone="")
    doc["agencies"][3]["supervisor_phone"] = "12345"
    doc["hotline_supervisor_phone"] = ""
    with pytest.raises(ValidationFailed) as failed:
        parse_reference(doc)
    where = [e.field for e in failed.value.errors]
    assert sorted(where) == sorted([f"agencies.{doc['agencies'][1]['id']}.supervisor_sms_escalations",
                                    f"agencies.{doc['agencies'][2]['id']}.supervisor_phone",
                                    f"agencies.{doc['agencies'][3]['id']}.supervisor_phone",
                                    "hotline_supervisor_phone"])
