"""Shared fixtures. Integration tests run against the moto server with the infra/ stack,
created exactly as `make run` creates it (devstack.emulator.bring_up)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
pytest_plugins = ("tests.iam_recorder",)  # what each handler calls on AWS, for tests/package/test_iam.py


class ScanForbidden(AssertionError):
    pass


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """The local AWS stack (moto on 127.0.0.1, any free port) with reference data seeded."""
    from devstack.emulator import bring_up

    local = bring_up(port=0, stack_name="hotline1022-test")
    from devstack.emulator import stage_environment

    stage_environment("dev")
    from chalicelib import aws
    from chalicelib.config import settings
    from chalicelib.store.reference import save_reference, seed_document

    settings.cache_clear()

    def refuse_scan(**_: Any) -> None:
        raise ScanForbidden("a DynamoDB Scan was attempted")

    # No Scan on any request or worker path: any test that triggers one fails.
    aws.botocore_session().register("before-call.dynamodb.Scan", refuse_scan)
    from tests.iam_recorder import install

    install(aws.botocore_session())
    save_reference(seed_document(), expected_version=None)
    yield local
    local.stop()


@pytest.fixture(scope="session")
def providers(stack: Any) -> Iterator[Any]:
    """Fake Zalo / android-gateway / eSMS APIs on loopback, with secrets and the Zalo token in SSM."""
    import os
    import time

    from devstack.fakes import seed_provider_secrets, start_fakes

    fakes = start_fakes()
    os.environ.update(fakes.environment())
    from chalicelib.config import settings

    settings.cache_clear()  # the gateway's URL is a setting, read once
    seed_provider_secrets(fakes, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    yield fakes
    fakes.stop()


@pytest.fixture(scope="session")
def client(stack: Any) -> Iterator[Any]:
    """chalice.test.Client on the real app, with the dev stage's environment."""
    from chalice.test import Client

    import app

    with Client(app.app, stage_name="dev", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def staff(stack: Any) -> dict[str, str]:
    """ID tokens of the demo staff accounts (created in the emulator's Cognito pool as `make run`
    does), by role: operator, officer (Sở Xây dựng), police_officer (Công an tỉnh), supervisor, admin."""
    from chalicelib import identity
    from devstack.seed import DEMO_PASSWORD, seed_staff

    people = {person["email"]: person for person in seed_staff()}
    names = {"tongdai@demo.1022.vn": "operator", "soxaydung@demo.1022.vn": "officer",
             "congan@demo.1022.vn": "police_officer", "giamsat@demo.1022.vn": "supervisor",
             "quantri@demo.1022.vn": "admin"}
    tokens = {}
    for email, name in names.items():
        assert email in people
        signed_in = identity.sign_in(email, DEMO_PASSWORD)
        assert signed_in.id_token
        tokens[name] = signed_in.id_token
    return tokens


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture
def sqs(stack: Any) -> Any:
    import boto3

    return boto3.client("sqs")


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receives and deletes every message now in the queue; returns their bodies parsed."""
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def unique_phone() -> str:
    """A valid Viettel number no other test uses (phone history queries stay per test)."""
    import random

    return "091" + "".join(random.choice("0123456789") for _ in range(7))
