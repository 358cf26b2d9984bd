"""Routing that learns from the operators: a correction in the console becomes a training example
(redacted, erased with the ticket); the retrain job promotes a model only when it is not worse and
refuses one trained on wrong labels, with its figures; an admin rolls back from the admin page; a
broken model never stops routing."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from types import SimpleNamespace
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.domain import learn
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, model_training, routing
from chalicelib.store import audit, routing_model, tickets, training
from chalicelib.store.models import LearningModel
from chalicelib.store.reference import load_reference
from tests.conftest import bearer, unique_phone

JSON_TYPE = {"Content-Type": "application/json"}
FORM = "application/x-www-form-urlencoded"
PAGE = "/staff/quan-tri/dinh-tuyen"


def _clean() -> None:
    """No corrections and no models: other tests' corrections would change what the job trains on."""
    for item in list(LearningModel.query(training.CORRECTIONS)):
        training.delete_of(item.code or "")
        item.delete()
    for item in list(LearningModel.query(routing_model.PK)):
        item.delete()
    routing_model.forget()


@pytest.fixture
def learning(stack: Any) -> Iterator[None]:
    _clean()
    yield
    _clean()  # the rest of the suite routes with the keywords alone


def _report(description: str, name: str = "") -> str:
    fields = {"description": description, "phone": unique_phone(), "name": name}
    code = intake.submit(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _act(client: Any, token: str, code: str, action: str, **fields: Any) -> Any:
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token)).json_body["version"]
    return client.http.post(f"/api/v1/staff/tickets/{code}/actions/{action}", headers=bearer(token, **JSON_TYPE),
                            body=json.dumps({"version": version, **fields}, ensure_ascii=False).encode())


def test_a_correction_in_the_console_becomes_a_redacted_training_example_erased_with_the_ticket(
        client: Any, staff: dict[str, str], learning: None) -> None:
    from chalicelib.services import privacy

    # Given a pothole report the router sent to the roads category, with the reporter's name and phone in it
    code = _report("Tôi là Trần Văn Bảy, đường Lê Lợi có ổ gà rất lớn, xe máy té liên tục, gọi 0912 345 678", "Trần Văn Bảy")
    routed = tickets.get_ticket(code)
    assert routed.category == "giao-thong"
    # When an operator re-categorises it in the console, then transfers it to another agency
    assert _act(client, staff["operator"], code, "categorise", category="ngap-ung").status_code == 200
    assert _act(client, staff["operator"], code, "assign", agency="ubnd-tan-ninh").status_code == 200
    # Then both changes are examples: what the router said, what staff chose, the role, the text without the person
    first, second = training.of_ticket(code)
    assert first.said["category"] == "giao-thong" and first.said["source"] in ("keywords", "model", "both")
    assert first.chose["category"] == "ngap-ung" and first.role == "operator"
    assert second.said["agency"] == first.chose["agency"] and second.chose["agency"] == "ubnd-tan-ninh"
    assert "o ga" in first.text and "0912" not in first.text and "bay" not in first.text.split()
    assert first.text == first.text.lower() and "ổ" not in first.text
    # And erasing the ticket's personal data deletes them
    removed = privacy.anonymise_ticket(tickets.get_ticket(code), datetime.now(timezone.utc), "staff:quantri@demo.1022.vn",
                                       "test")
    assert removed["routing_examples_deleted"] == 2 and training.of_ticket(code) == []


def _corrections(rows: list[dict[str, Any]], shift: int, prefix: str) -> None:
    """Stores one correction per row, labelled `shift` categories away from the truth (0: rightly)."""
    classes = sorted(load_reference().categories)
    now = datetime.now(timezone.utc)
    for i, row in enumerate(rows):
        label = classes[(classes.index(row["category"]) + shift) % len(classes)] if row["category"] in classes \
            else row["category"]
        training.add(f"{prefix}{i:04d}", row["text"].lower(), "web", {"category": row["category"]},
                     {"category": label, "area": row.get("area"), "agency": None}, "operator", now, None)


class Admin:
    """An admin's browser without the browser: the session cookie and the CSRF token."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.cookie = client, f"hl_id={token}; hl_csrf=t"

    def get(self) -> Any:
        return self.client.http.get(PAGE, headers={"Cookie": self.cookie})

    def post(self, **fields: str) -> Any:
        return self.client.http.post(PAGE, headers={"Content-Type": FORM, "Cookie": self.cookie},
                                     body=urlencode({"csrf": "t", **fields}).encode())


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _schedule(client: Any) -> dict[str, Any]:
    """The retrain schedule's run, as EventBridge starts it."""
    return client.lambda_.invoke("retrain_routing", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload


def test_the_job_promotes_only_a_model_not_worse_and_an_admin_rolls_back(client: Any, staff: dict[str, str],
                                                                         learning: None) -> None:
    seed = learn.seed_rows()
    admin, supervisor = Admin(client, staff["admin"]), Admin(client, staff["supervisor"])
    # Given no model yet, an admin asks for a training run; the schedule's next run (not its daily time) trains
    assert admin.post(action="retrain").status_code == 303
    assert "Đang chờ huấn luyện lại" in _text(admin.get().body.decode())
    result = _schedule(client)
    first = routing_model.run(result["version"])
    # Then the model of the seed examples is compared with the keywords alone, and used
    assert first is not None and first.figures["against"] is None and first.actor == "staff:quantri@demo.1022.vn"
    assert first.promoted and result["promoted"], first.reasons
    assert routing_model.pointer().version == first.version and _schedule(client) == {"trained": False}
    # When operators' corrections are deliberately wrong (a quarter of the training messages, from every writer,
    # labelled with another category: each correction counts four packaged examples, so wrong labels weigh as much
    # as the right ones)
    _corrections(seed[::4], shift=1, prefix="WRONG")
    daily = datetime.now(VN_TZ).replace(hour=2, minute=31)
    daily -= timedelta(days=1) if daily > datetime.now(VN_TZ) else timedelta(0)  # the latest 02:31 in Vietnam
    assert model_training.scheduled(daily.replace(hour=5)) == {"trained": False}
    outcome = model_training.scheduled(daily)
    worse = routing_model.run(outcome["version"])
    # Then the daily run refuses the new model with its figures and reasons, and the first one stays in use
    assert worse is not None and not worse.promoted and worse.reasons
    new, old = worse.figures["holdout"]["new"], worse.figures["holdout"]["old"]
    assert (new["accuracy_routed"] < old["accuracy_routed"] or new["wrong_agency_rate"] > old["wrong_agency_rate"]
            or new["triage_rate"] > old["triage_rate"] + model_training.TRIAGE_TOLERANCE)
    assert any(reason.startswith("Tập kiểm tra cố định") for reason in worse.reasons)
    assert worse.figures["slice"]["new"]["n"] > 0 and worse.figures["against"] == first.version
    assert routing_model.pointer().version == first.version
    # And running it again with nothing new trains nothing
    assert model_training.retrain(daily).version == worse.version and len(routing_model.history()) == 2

    # An admin rolls back to the refused model; a second rollback from the same page is refused (409)
    page = admin.get()
    assert page.status_code == 200 and worse.version in _text(page.body.decode())
    moved = admin.post(action="rollback", version=worse.version, expected=first.version)
    assert moved.status_code == 303 and routing_model.pointer().version == worse.version
    stale = admin.post(action="rollback", version=first.version, expected=first.version)
    assert stale.status_code == 409 and routing_model.pointer().version == worse.version
    assert "vừa được đổi" in _text(stale.body.decode())
    assert supervisor.post(action="rollback", version=first.version, expected=worse.version).status_code == 403
    assert supervisor.get().status_code == 200
    assert client.http.get(PAGE, headers={"Cookie": f"hl_id={staff['operator']}; hl_csrf=t"}).status_code == 403
    now = datetime.now(timezone.utc)
    entries, _ = audit.search(now - timedelta(minutes=5), now + timedelta(minutes=1),
                              kinds=frozenset({"routing_model_rollback"}))
    assert [e.detail["version"] for e in entries] == [worse.version] and entries[0].actor == "staff:quantri@demo.1022.vn"

    # When the wrong corrections are replaced by right ones, the next run promotes the better model
    _clean_corrections()
    _corrections(seed[1::4], shift=0, prefix="RIGHT")
    assert admin.post(action="retrain").status_code == 303
    better = routing_model.run(_schedule(client)["version"])
    assert better is not None and better.promoted and better.figures["against"] == worse.version
    assert routing_model.pointer().version == better.version
    shown = _text(admin.get().body.decode())
    assert "Bảng nhầm lẫn" in shown and "đang dùng" in shown and better.version in shown
    # And an admin can turn the model off: routing by the keywords alone
    assert admin.post(action="keywords", expected=better.version).status_code == 303
    assert routing_model.pointer().version is None and routing_model.active_model() is None


def _clean_corrections() -> None:
    for item in list(LearningModel.query(training.CORRECTIONS)):
        training.delete_of(item.code or "")


def test_a_broken_model_never_stops_routing(stack: Any, learning: None) -> None:
    from chalicelib import aws
    from chalicelib.store.photos import bucket

    # Given the active pointer names an artifact that is not a model
    aws.client("s3").put_object(Bucket=bucket(), Key=routing_model.artifact_key("broken"), Body=b"not gzip")
    routing_model.activate("broken", routing_model.artifact_key("broken"), 0, "system:test", datetime.now(timezone.utc))
    # When a ticket is routed, it is routed by the keywords alone
    code = _report("Đường Lê Lợi có ổ gà rất lớn, xe máy té liên tục")
    assert tickets.get_ticket(code).category == "giao-thong"
    assert routing_model.active_model() is None


def test_the_active_model_is_measured_again_and_a_run_reads_only_the_newest_corrections(
        stack: Any, learning: None) -> None:
    ref, now = load_reference(), datetime.now(timezone.utc)
    first = model_training.retrain(now)
    assert first.promoted
    # Given the active model's stored figures claim more than it does (figures from before a deployment)
    item = LearningModel.get(routing_model.PK, f"V#{first.version}")
    perfect = {**first.figures["holdout"]["new"], "accuracy_routed": 1.0, "wrong_agency_rate": 0.0,
               "triage_rate": 0.0, "confidential_false_positives": 0}
    item.update(actions=[LearningModel.figures.set({**first.figures, "holdout": {"new": perfect, "old": perfect}})])
    # When operators correct three tickets and the job runs again
    _corrections(learn.seed_rows()[:3], shift=0, prefix="FRESH")
    assert [c.code for c in training.corrections(newest=2)] == ["FRESH0001", "FRESH0002"]
    second = model_training.retrain(now + timedelta(minutes=1))
    # Then the active model is compared as it routes today, not by its stored figures
    active = learn.load(routing_model.read_artifact(first.key or ""))
    assert second.figures["holdout"]["old"] == learn.evaluate(learn.holdout_rows(), ref, active) != perfect


def test_a_pointer_that_cannot_be_read_keeps_the_model_the_container_has(
        stack: Any, learning: None, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(timezone.utc)
    artifact = learn.train(learn.seed_examples()[:300], load_reference(), "kept", now.isoformat())
    routing_model.activate("kept", routing_model.put_artifact("kept", artifact), 0, "system:test", now)
    clock = [0.0]
    model = routing_model.active_model(clock=lambda: clock[0])
    assert model is not None

    def throttled() -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    # When the pointer cannot be read a minute later, routing keeps the model it had, not the keywords alone
    monkeypatch.setattr(routing_model, "_read_pointer", throttled)
    clock[0] = 61.0
    assert routing_model.active_model(clock=lambda: clock[0]) is model


def test_a_model_changed_during_training_is_not_replaced_and_the_run_is_kept(
        stack: Any, learning: None, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(timezone.utc)
    activate = routing_model.activate

    def admin_first(version: Any, key: Any, expected_seq: int, *args: Any, **kwargs: Any) -> int:
        # an admin turns the model off (keywords only) while the job trains
        activate(None, None, expected_seq, "staff:quantri@demo.1022.vn", now, rollback=True)
        return activate(version, key, expected_seq, *args, **kwargs)

    monkeypatch.setattr(routing_model, "activate", admin_first)
    run = model_training.retrain(now)
    # Then the admin's choice stands, and the run is in the history, not used, with the reason
    assert routing_model.pointer().version is None and routing_model.pointer().seq == 1
    stored = routing_model.run(run.version)
    assert stored is not None and not stored.promoted and not run.promoted
    assert any("vừa được đổi" in reason for reason in stored.reasons)


def test_a_new_deployment_trains_its_first_model_the_first_night_without_any_correction(
        stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment where no training run ever happened and nobody corrected a ticket yet
    monkeypatch.setattr(routing_model, "history", lambda limit=20: [])
    monkeypatch.setattr(training, "count_since", lambda since: 0)
    # Then the daily run has something to do (the packaged labelled sets against keywords alone)
    assert model_training._corrected_since_last_run()
    # And once a run is on record, a night without corrections trains nothing
    last_night = SimpleNamespace(trained_at="2026-11-29T19:30:00+00:00")
    monkeypatch.setattr(routing_model, "history", lambda limit=20: [last_night])
    assert not model_training._corrected_since_last_run()
