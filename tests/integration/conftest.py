"""A fresh moto store per test with the real tables (`store`), the app behind chalice.test on it
(`client`, the one `Client` in process), the counting trigger run on demand (`pipeline`) and
the deployable package, built once per run (`packaged`)."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from moto import mock_aws

from chalicelib import composition
from chalicelib.core.clock import FixedClock, parse_instant
from chalicelib.core.config import load_settings
from chalicelib.usage import running_counters
from infra.files import create_bucket
from infra.tables import create_tables
from local_stack import moto_store
from tests.conftest import Client, in_process
from tests.streams import StreamTap, deliver
from tests.support import moto_client
from tests.support.infra import STAGE

DEFAULT_NOW = "2024-05-15T10:00:00+08:00"  # the store's clock until a test moves it


class Store:
    """Handle on the moto-backed store of one test: clock, settings, stream ARN."""

    def __init__(self, clock: FixedClock, stream_arn: str | None):
        self.clock = clock
        self.stream_arn = stream_arn
        self.settings = composition.services().settings

    def at(self, instant: str | datetime) -> None:
        self.clock.set(parse_instant(instant) if isinstance(instant, str) else instant)


@pytest.fixture
def store(monkeypatch):
    """Fresh moto DynamoDB with the deployable tables, services bound, clock fixed."""
    # A session stack started earlier in this process (tests/e2e, same xdist worker) points
    # AWS_ENDPOINT_URL at its moto server, where mock_aws would let every call through over HTTP,
    # queued behind that stack's own threads: this store is always the in-process one.
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.delenv(name, raising=False)
    # The local stack's moto, as the e2e stack installs it anyway: on stock moto a transaction copies
    # its table (test_paging's 200-item walk: 74 s instead of ~2); tests/integration/test_moto_store.py
    # proves the answers the same.
    moto_store.install()
    with mock_aws():
        settings = load_settings(
            {"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "navi-test", "AWS_REGION": "cn-north-1"}
        )
        arns = create_tables(moto_client("dynamodb"), settings)
        create_bucket(moto_client("s3"), settings)
        clock = FixedClock(parse_instant(DEFAULT_NOW))
        composition.install(composition.Services(settings=settings, clock=clock))
        yield Store(clock, arns["facts"])
        composition.reset()


@pytest.fixture
def client(store):
    """The app behind chalice's in-process test client, on the moto store."""
    from chalice.test import Client as ChaliceClient

    import app as app_module

    with ChaliceClient(app_module.app, stage_name="local") as test_client:
        yield Client(in_process(test_client.http))


@pytest.fixture
def settle(store):
    """A function that runs the stream trigger over everything written since the test began."""
    tap = StreamTap(store.stream_arn)
    return lambda: deliver(
        lambda event: running_counters.handle_stream_batch(event, store.clock.now()), tap.take()
    )


@pytest.fixture
def pipeline(store, client, settle):
    """client + settle (the stream trigger over everything written so far) + store."""
    return client, settle, store


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """(`make package STAGE=prod` result, its SAM template, its CloudFormation translation), built once per run.

    A packaging is about a minute of CPU, and two at once would share .chalice/deployments: the
    xdist workers of a run take turns on one lock, and the first packages for all of them.
    """
    from infra.package import Packaged, package

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's own directory, above each worker's
    done = shared / "packaged.json"
    with open(shared / "packaged.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            fields = json.loads(done.read_text())
            result = Packaged(**{k: v if k == "seconds" else Path(v) for k, v in fields.items()})
        else:
            result = package(STAGE, "cn-north-1", shared / "package")
            done.write_text(
                json.dumps(
                    {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(result).items()}
                )
            )
    return result, json.loads(result.sam.read_text()), json.loads(result.cloudformation.read_text())
