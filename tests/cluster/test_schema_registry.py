"""The Confluent wire format against a real broker and a real Schema Registry (rivven-schema, built from crates.io):
the runtime's codec writes it when CCPA_SCHEMA_REGISTRY_URL is set, our codec and confluent-kafka's stock
AvroDeserializer both read it, the registry's compatibility check refuses an incompatible change and our code says
so, a topic holding both encodings is read whole, and without the URL nothing changes."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import socket
import socketserver
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from prometheus_client import REGISTRY

from devtools.localstack.ports import free_port, pid_alive
from devtools.localstack.schema_registry import SchemaRegistryServer
from services.audit.migrations import SCHEMA
from services.common.codec import codec_for
from services.common.consumer import ConsumerRunner, DeadLetterTopics, Delivery, RetryPolicy
from services.common.db import make_engine
from services.common.event_types import EventType
from services.common.events import Event
from services.common.flows.cache import OptOutStateCache
from services.common.inbox import inbox_table
from services.common.kafka import EventProducer, event_message
from services.common.registry import (
    WIRE_CONTENT_TYPE,
    RegistryCodec,
    SchemaRegistryRefused,
    SchemaRegistryUnavailable,
)
from services.common.runtime import ServiceRuntime
from services.common.serde import SINGLE_OBJECT_MARKER, SchemaCatalog, SingleObjectCodec, default_schema_dir
from services.common.settings import CommonSettings
from services.common.topics import EVENT_TYPES_ON, OPTOUT_STATE, TopicNames, ensure_topics
from tests.fields import with_fields
from tests.infra import TopicFactory
from tests.nonsense import fields_of, well_formed
from tests.support import wait_for

pytestmark = pytest.mark.integration
KEY = base64.b64encode(b"r" * 32).decode()
RECORD = "privacy.events.RequestCompleted"


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka_bootstrap: str) -> pytest.MonkeyPatch:
    for name in [name for name in os.environ if name.startswith("CCPA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("CCPA_SUBJECT_KEY_SECRET", KEY)
    monkeypatch.setenv("CCPA_MASTER_KEYS", json.dumps({"k1": KEY}))
    monkeypatch.setenv("CCPA_ACTIVE_MASTER_KEY", "k1")
    monkeypatch.setenv("CCPA_DATABASE_URL", f"sqlite:///{tmp_path / 'runtime.db'}")
    return monkeypatch


def runtime_codec(settings_env: pytest.MonkeyPatch, registry_url: str | None) -> SingleObjectCodec:
    """The codec exactly as a service builds it (ServiceRuntime from CommonSettings read from the environment)."""
    if registry_url is not None:
        settings_env.setenv("CCPA_SCHEMA_REGISTRY_URL", registry_url)
    runtime = ServiceRuntime(CommonSettings(), "registry-test", SCHEMA)
    runtime.engine.dispose()
    return runtime.codec


def read_back(bootstrap: str, topic: str, count: int) -> list[Message]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    messages: list[Message] = []
    try:
        wait_for(lambda: _poll_into(consumer, messages) >= count, timeout=30, what=f"{count} messages on {topic}")
    finally:
        consumer.close()
    return messages


def _poll_into(consumer: Consumer, messages: list[Message]) -> int:
    message = consumer.poll(0.5)
    if message is not None and message.error() is None:
        messages.append(message)
    return len(messages)


def test_runtime_codec_writes_the_wire_format_that_ours_and_the_stock_deserializer_read(
    settings_env: pytest.MonkeyPatch, registry_url: str, kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    codec = runtime_codec(settings_env, registry_url)
    assert isinstance(codec, RegistryCodec)
    topic, event = topic_factory("wire"), well_formed("RequestCompleted")
    EventProducer({"bootstrap.servers": kafka_bootstrap}, "wire-test").send_all([event_message(topic, event, codec)])
    (message,) = read_back(kafka_bootstrap, topic, 1)
    value = message.value()
    assert value is not None and value[:1] == b"\x00"
    client = SchemaRegistryClient({"url": registry_url})
    registered = client.get_latest_version(f"{topic}-{RECORD}")  # TopicRecordNameStrategy's subject
    assert int.from_bytes(value[1:5], "big") == registered.schema_id
    assert dict(message.headers() or [])["content-type"] == WIRE_CONTENT_TYPE.encode()
    assert codec.decode(value) == event
    # An outside consumer with confluent-kafka's stock deserializer, knowing nothing of our schemas folder.
    stock = AvroDeserializer(client)(value, SerializationContext(topic, MessageField.VALUE))
    assert isinstance(stock, dict)
    assert str(stock["event_id"]) == event.event_id  # fastavro reads the uuid logical type as a UUID
    assert (stock["event_type"], stock["subject_key"]) == ("RequestCompleted", event.subject_key)


def test_an_incompatible_schema_change_is_refused_by_the_registry_and_named(
    registry_url: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = topic_factory("compat")
    client = SchemaRegistryClient({"url": registry_url})
    RegistryCodec(client, registry_url).register(topic, "RequestCompleted")
    changed = tmp_path / "events"
    shutil.copytree(default_schema_dir(), changed)
    avsc = changed / f"{RECORD}.avsc"
    schema = json.loads(avsc.read_text())
    schema["fields"].append({"name": "required_without_default", "type": "string"})  # readers of old data break
    avsc.write_text(json.dumps(schema))
    changed_codec = RegistryCodec(SchemaRegistryClient({"url": registry_url}), registry_url, SchemaCatalog(changed))
    with pytest.raises(SchemaRegistryRefused) as refused:
        changed_codec.encode(well_formed("RequestCompleted"), topic)
    assert refused.value.incompatible
    assert f"'{topic}-{RECORD}'" in str(refused.value) and "incompatible" in str(refused.value)
    with pytest.raises(SchemaRegistryRefused, match="incompatible"):
        changed_codec.register(topic, "RequestCompleted")
    assert len(client.get_versions(f"{topic}-{RECORD}")) == 1  # nothing was registered
    schema["fields"][-1] = {"name": "optional_with_default", "type": ["null", "string"], "default": None}
    avsc.write_text(json.dumps(schema))  # the compatible way to add a field: it is accepted as version 2
    RegistryCodec(SchemaRegistryClient({"url": registry_url}), registry_url, SchemaCatalog(changed)).register(
        topic, "RequestCompleted"
    )
    assert len(client.get_versions(f"{topic}-{RECORD}")) == 2


def test_a_topic_with_both_encodings_is_read_whole(
    registry_url: str, kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = topic_factory("switch")
    wire = RegistryCodec(SchemaRegistryClient({"url": registry_url}), registry_url)
    before, after = well_formed("RequestCompleted"), well_formed("RequestCompleted")
    producer = EventProducer({"bootstrap.servers": kafka_bootstrap}, "switch-test")
    producer.send_all([event_message(topic, before, SingleObjectCodec()), event_message(topic, after, wire)])
    kinds = [m.value()[:2] for m in read_back(kafka_bootstrap, topic, 2)]  # type: ignore[index]
    assert kinds[0] == SINGLE_OBJECT_MARKER and kinds[1][:1] == b"\x00"
    seen: list[str] = []
    metadata = sa.MetaData()
    inbox = inbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    metadata.create_all(engine)

    def handler(event: Event, _conn: sa.Connection, _delivery: Delivery) -> None:
        seen.append(event.event_id)

    runner = ConsumerRunner(group_id=f"switch-{tmp_path.name}", topics=[topic],
                            kafka_config={"bootstrap.servers": kafka_bootstrap}, engine=engine, inbox=inbox,
                            routes={EventType.REQUEST_COMPLETED: handler}, codec=wire, producer=producer,
                            dead_letters=DeadLetterTopics(f"{topic}-dlq", f"{topic}-failures"),
                            retry=RetryPolicy(transient_attempts=1, base_delay=0.01))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: len(seen) == 2, timeout=30, what="both events applied")
    finally:
        stop.set()
        thread.join(timeout=30)
        producer.close()
    assert seen == [before.event_id, after.event_id]  # in order, none dead-lettered


def test_without_the_url_nothing_changes(
    settings_env: pytest.MonkeyPatch, registry_url: str, kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    codec = runtime_codec(settings_env, None)
    assert type(codec) is SingleObjectCodec and CommonSettings().schema_registry_config() is None
    assert codec_for(None).content_type == "application/vnd.apache.avro.single-object"
    topic, event = topic_factory("plain"), well_formed("RequestCompleted")
    EventProducer({"bootstrap.servers": kafka_bootstrap}, "plain-test").send_all([event_message(topic, event, codec)])
    (message,) = read_back(kafka_bootstrap, topic, 1)
    assert (message.value() or b"")[:2] == SINGLE_OBJECT_MARKER and codec.decode(message.value()) == event
    subjects = SchemaRegistryClient({"url": registry_url}).get_subjects()
    assert not any(subject.startswith(topic) for subject in subjects)


def test_a_registry_that_does_not_answer_is_named_in_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    codec = RegistryCodec(SchemaRegistryClient({"url": url, "max.retries": 0}), url)
    with pytest.raises(SchemaRegistryUnavailable, match=f"schema registry at {url} did not answer"):
        codec.encode(well_formed("RequestCompleted"), "some-topic")


def test_start_up_registers_every_event_type_of_every_topic(registry_url: str) -> None:
    namespace = f"prep{uuid.uuid4().hex[:6]}."
    RegistryCodec(SchemaRegistryClient({"url": registry_url}), registry_url).prepare(TopicNames(namespace))
    subjects = {s for s in SchemaRegistryClient({"url": registry_url}).get_subjects() if s.startswith(namespace)}
    on_topics = [(topic, kind) for topic, kinds in EVENT_TYPES_ON.items() for kind in kinds]
    expected = {f"{namespace}{topic}-privacy.events.{kind}" for topic, kind in on_topics}
    assert subjects == expected


def test_the_local_registry_runs_on_its_own_port_and_stops_by_pid(tmp_path: Path) -> None:
    server = SchemaRegistryServer(tmp_path / "registry")
    server.start()
    pid = server.pid()
    try:
        assert pid is not None and SchemaRegistryClient({"url": server.url}).get_subjects() == []
    finally:
        server.stop()
    assert server.pid() is None and not pid_alive(pid)


def test_a_service_whose_schema_change_the_registry_refuses_does_not_start(
    settings_env: pytest.MonkeyPatch, registry_url: str, tmp_path: Path
) -> None:
    namespace = f"boot{uuid.uuid4().hex[:6]}."
    RegistryCodec(SchemaRegistryClient({"url": registry_url}), registry_url).prepare(TopicNames(namespace))
    changed = tmp_path / "schemas" / "events"
    shutil.copytree(default_schema_dir(), changed)
    avsc = changed / f"{RECORD}.avsc"
    schema = json.loads(avsc.read_text())
    schema["fields"].append({"name": "required_without_default", "type": "string"})
    avsc.write_text(json.dumps(schema))
    settings_env.setenv("CCPA_SCHEMA_DIR", str(changed))
    settings_env.setenv("CCPA_TOPIC_NAMESPACE", namespace)
    settings_env.setenv("CCPA_SCHEMA_REGISTRY_URL", registry_url)
    runtime = ServiceRuntime(CommonSettings(), "registry-test", SCHEMA)
    try:
        with pytest.raises(SchemaRegistryRefused, match=f"subject '{namespace}[a-z.]+-{RECORD}'.*incompatible"):
            runtime.prepare(wait_seconds=30)
    finally:
        runtime.engine.dispose()


class RegistryLink:
    """The network between a consumer and the registry, as a TCP forwarder that is down until `restore`."""

    def __init__(self, target_port: int) -> None:
        self.port, self.target_port = free_port(), target_port
        self.server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        target = ("127.0.0.1", self.target_port)

        class Forward(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(target) as upstream:
                    pumps = [threading.Thread(target=_pump, args=pair, daemon=True)
                             for pair in ((self.request, upstream), (upstream, self.request))]  # fmt: skip
                    for pump in pumps:
                        pump.start()
                    for pump in pumps:
                        pump.join(30)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Forward)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def test_a_consumer_that_cannot_reach_the_registry_holds_the_message_until_it_can(
    registry_url: str, kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic, event = topic_factory("outage"), well_formed("RequestCompleted")
    producer = EventProducer({"bootstrap.servers": kafka_bootstrap}, "outage-test")
    producer.send_all([event_message(topic, event, RegistryCodec(SchemaRegistryClient({"url": registry_url}),
                                                                 registry_url))])  # fmt: skip
    link = RegistryLink(int(registry_url.rsplit(":", 1)[1]))
    seen: list[str] = []
    metadata = sa.MetaData()
    inbox = inbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    metadata.create_all(engine)
    group = f"outage-{uuid.uuid4().hex[:8]}"
    runner = ConsumerRunner(group_id=group, topics=[topic], kafka_config={"bootstrap.servers": kafka_bootstrap},
                            engine=engine, inbox=inbox,
                            routes={EventType.REQUEST_COMPLETED: lambda e, _c, _d: seen.append(e.event_id)},
                            codec=RegistryCodec(SchemaRegistryClient({"url": link.url}), link.url),
                            producer=producer, dead_letters=DeadLetterTopics(f"{topic}-dlq", f"{topic}-failures"),
                            retry=RetryPolicy(transient_attempts=1, base_delay=0.2))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        retried = {"consumer": group, "topic": topic, "outcome": "retried"}
        wait_for(lambda: (REGISTRY.get_sample_value("ccpa_consumer_messages_total", retried) or 0) >= 2,
                 timeout=30, what="the consumer retrying while the registry is away")  # fmt: skip
        assert seen == [] and thread.is_alive()
        link.restore()
        wait_for(lambda: seen == [event.event_id], timeout=30, what="the held event applied once the registry answers")
    finally:
        stop.set()
        thread.join(timeout=30)
        link.close()
        producer.close()
    dead = {"consumer": group, "topic": topic, "outcome": "dead_lettered"}
    assert (REGISTRY.get_sample_value("ccpa_consumer_messages_total", dead) or 0) == 0


def test_a_flow_cache_that_cannot_reach_the_registry_waits_for_it_and_skips_no_opt_out(
    registry_url: str, kafka_bootstrap: str
) -> None:
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), topics, 3, 1, specs=(OPTOUT_STATE,))
    opted_out = state(SUBJECT_KEY, 4)
    producer = EventProducer({"bootstrap.servers": kafka_bootstrap}, "cache-outage-test")
    wire = RegistryCodec(SchemaRegistryClient({"url": registry_url}), registry_url)
    producer.send_all([event_message(topics(OPTOUT_STATE), opted_out, wire)])
    producer.close()
    link = RegistryLink(int(registry_url.rsplit(":", 1)[1]))
    cache = OptOutStateCache({"bootstrap.servers": kafka_bootstrap}, topics, name="registry-outage",
                             codec=RegistryCodec(SchemaRegistryClient({"url": link.url}), link.url))  # fmt: skip
    cache.start()
    try:
        assert not cache.wait_until_caught_up(4)  # the record is read but cannot be decoded yet: no catch-up
        assert cache.version(SUBJECT_KEY) is None and cache.skipped == 0
        link.restore()
        assert cache.wait_until_caught_up(60), "the cache did not catch up once the registry answered"
        assert cache.version(SUBJECT_KEY) == 4 and cache.skipped == 0
    finally:
        cache.stop()
        link.close()


SUBJECT_KEY = "d4" * 32


def state(subject_key: str, version: int) -> Event:
    event = dataclasses.replace(well_formed("OptOutState"), subject_key=subject_key, event_id=str(uuid.uuid4()))
    return with_fields(event, {**fields_of(event), "version": version, "sale_opt_out": True, "share_opt_out": True})
