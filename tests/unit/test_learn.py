"""The learned router: training, the artifact, prediction, evaluation figures and the promotion rule."""
from __future__ import annotations

import gzip
import json

import pytest

from chalicelib.domain import learn
from chalicelib.domain.classify import classify
from chalicelib.domain.reference import parse_reference
from chalicelib.store.reference import seed_document

REF = parse_reference(seed_document())
NOW = "2026-11-30T02:30:00+07:00"


@pytest.fixture(scope="module")
def artifact() -> dict:
    return learn.train(learn.seed_examples(), REF, "test-1", NOW)


def test_the_artifact_is_compact_json_and_the_same_for_the_same_input(artifact: dict) -> None:
    text = json.dumps(artifact, sort_keys=True)
    stored = gzip.compress(json.dumps(artifact, separators=(",", ":")).encode("utf-8"))
    assert len(stored) < 400_000  # gzipped in S3, read by every routing container once a version
    assert artifact["kind"] == "nb-v1" and artifact["version"] == "test-1" and artifact["trained_at"] == NOW
    assert artifact["n_examples"] == len(learn.seed_examples()) and set(artifact["classes"]) == set(REF.categories)
    again = learn.train(learn.seed_examples(), REF, "test-1", NOW)
    assert json.dumps(again, sort_keys=True) == text


def test_the_model_ranks_categories_with_probabilities(artifact: dict) -> None:
    model = learn.load(json.loads(json.dumps(artifact)))
    ranked = model.predict("đèn đường hư cả tháng nay tối om", REF)
    assert ranked[0][0] == "chieu-sang"
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    assert abs(sum(p for _, p in ranked) - 1.0) < 1e-6
    assert learn.load(artifact) is model  # cached by version


def test_a_broken_artifact_is_refused() -> None:
    with pytest.raises(ValueError):
        learn.load({"kind": "nb-v1", "version": "broken-1", "classes": ["a"]})
    with pytest.raises(ValueError):
        learn.load({"kind": "other", "version": "x"})


def test_corrections_teach_the_model_a_new_wording() -> None:
    wording = "cay xanh nga chan ngang loi di"
    before = learn.load(learn.train(learn.seed_examples(), REF, "t-before", NOW)).predict(wording, REF)
    corrections = [learn.Example(f"{wording} o khu pho {n}", "moi-truong", correction=True) for n in range(6)]
    after = learn.load(learn.train(learn.seed_examples() + corrections, REF, "t-after", NOW)).predict(wording, REF)
    assert dict(after)["moi-truong"] > dict(before)["moi-truong"]
    assert after[0][0] == "moi-truong"


def test_evaluate_counts_routed_triage_wrong_agency_and_confidential_mistakes() -> None:
    rows = [{"text": "đèn đường hư tối om", "category": "chieu-sang", "area": None},
            {"text": "xin chao", "category": "khac", "area": None},
            {"text": "nha ben canh danh bai toi khuya, on qua", "category": "moi-truong", "area": None}]
    figures = learn.evaluate(rows, REF, None)
    assert figures["n"] == 3 and figures["routed"] == 2 and figures["triage_rate"] == round(1 / 3, 4)
    assert figures["accuracy_routed"] == 0.5
    assert figures["confidential_false_positives"] == 1
    assert figures["wrong_agency_rate"] == round(1 / 3, 4)
    assert figures["confusion"] == {"moi-truong -> an-ninh-trat-tu": 1}


def test_promotion_refuses_a_worse_model_and_says_why_in_vietnamese() -> None:
    old = {"accuracy_routed": 0.95, "wrong_agency_rate": 0.03, "confidential_false_positives": 0, "triage_rate": 0.1}
    assert learn.not_worse(dict(old), old) == (True, [])
    assert learn.not_worse({**old, "accuracy_routed": 0.948}, old)[0]  # within the tolerance
    ok, reasons = learn.not_worse({"accuracy_routed": 0.90, "wrong_agency_rate": 0.05,
                                   "confidential_false_positives": 1, "triage_rate": 0.1}, old)
    assert not ok and len(reasons) == 3
    assert "Độ chính xác" in reasons[0] and "cơ quan" in reasons[1] and "mật" in reasons[2]


def test_promotion_refuses_a_model_that_only_adds_triage() -> None:
    old = {"accuracy_routed": 0.95, "wrong_agency_rate": 0.03, "confidential_false_positives": 0, "triage_rate": 0.1}
    ok, reasons = learn.not_worse({**old, "accuracy_routed": 0.97, "triage_rate": 0.2}, old)
    assert not ok and "chờ phân loại" in reasons[0]
    assert learn.not_worse({**old, "triage_rate": 0.2, "wrong_agency_rate": 0.01}, old)[0]  # paid for: fewer misroutes
    assert learn.not_worse({**old, "triage_rate": 0.14}, old)[0]  # within five points


def test_the_training_pool_is_every_labelled_file() -> None:
    files = sorted(learn.DATA.glob("routing_train*.jsonl"))
    lines = sum(1 for path in files for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    assert len(files) >= 2 and len(learn.seed_examples()) == lines


def test_the_packaged_sets_are_there() -> None:
    assert len(learn.seed_examples()) >= 300
    assert len(learn.holdout_rows()) >= 100
    seed_texts = {e.text for e in learn.seed_examples()}
    assert not seed_texts & {r["text"] for r in learn.holdout_rows()}


def test_classify_without_a_model_is_keywords_only(artifact: dict) -> None:
    decided = classify("duong bi ngap", REF)
    assert (decided.category, decided.source) == ("ngap-ung", "keywords")
    staff = classify("duong bi ngap", REF, category="giao-thong")
    assert (staff.source, staff.confidence) == ("staff", 1.0)
    both = classify("Đường bị ngập sâu sau mưa, xe chết máy hàng loạt", REF, model=learn.load(artifact))
    assert (both.category, both.source) == ("ngap-ung", "both") and 0 < both.confidence <= 1


def test_a_rare_word_only_one_correction_had_never_enters_the_model() -> None:
    # Given a staff correction whose (redacted) text still carries an unusual word — a neighbour's name
    ref = parse_reference(seed_document())
    seeds = learn.seed_examples()
    rare = learn.Example("ong Xuyenthao hang xom do rac ra kenh", "moi-truong", correction=True)
    artifact = learn.train([*seeds, rare], ref, "v-rare", "2026-11-30T00:00:00+00:00")
    # Then no feature of the model names it; the same word from three corrections is common enough to learn
    assert not [f for f in artifact["counts"] if "xuyenthao" in f]
    common = [learn.Example(f"Xuyenthao {n} do rac ra kenh", "moi-truong", correction=True) for n in range(3)]
    again = learn.train([*seeds, *common], ref, "v-common", "2026-11-30T00:00:00+00:00")
    assert "w:xuyenthao" in again["counts"]
