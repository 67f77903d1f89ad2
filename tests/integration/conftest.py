"""A fresh moto store per test with the real tables (`store`), the app behind chalice.test on it
(`client`, the one `Client` in process) and the counting trigger run on demand (`pipeline`)."""
from __future__ import annotations

from datetime import datetime

import boto3
import pytest
from moto import mock_aws

from chalicelib.core import runtime
from chalicelib.core.clock import FixedClock, parse_instant
from chalicelib.core.config import load_settings
from chalicelib.usage import counters
from infra.files import create_bucket
from infra.tables import create_tables
from tests.conftest import Client, in_process
from tests.streams import StreamTap, deliver

DEFAULT_NOW = "2024-05-15T10:00:00+08:00"  # the store's clock until a test moves it


class Store:
    """Handle on the moto-backed store of one test: clock, settings, stream ARN."""

    def __init__(self, clock: FixedClock, stream_arn: str | None):
        self.clock = clock
        self.stream_arn = stream_arn
        self.settings = runtime.services().settings

    def at(self, instant: str | datetime) -> None:
        self.clock.set(parse_instant(instant) if isinstance(instant, str) else instant)


@pytest.fixture
def store():
    """Fresh moto DynamoDB with the deployable tables, services bound, clock fixed."""
    with mock_aws():
        settings = load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "navi-test",
                                  "AWS_REGION": "cn-north-1"})
        arns = create_tables(boto3.client("dynamodb", region_name="cn-north-1"), settings)
        create_bucket(boto3.client("s3", region_name="cn-north-1"), settings)
        clock = FixedClock(parse_instant(DEFAULT_NOW))
        runtime.install(runtime.Services(settings=settings, clock=clock))
        yield Store(clock, arns["facts"])
        runtime.reset()


@pytest.fixture
def client(store):
    """The app behind chalice's in-process test client, on the moto store."""
    from chalice.test import Client as ChaliceClient

    import app as app_module
    with ChaliceClient(app_module.app, stage_name="local") as test_client:
        yield Client(in_process(test_client.http))


@pytest.fixture
def pipeline(store, client):
    """client + a function that runs the stream trigger over everything written so far."""
    tap = StreamTap(store.stream_arn)

    def settle():
        deliver(lambda event: counters.handle_stream_batch(event, store.clock.now()), tap.take())

    return client, settle, store
