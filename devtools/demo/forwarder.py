"""The demo company's server-side integrations with the advertising network, gated: the event forwarder (flow
adreach-events: analytics events, through CallGate, whose content check holds back a health-revealing page title,
the Healthline 2025 pattern) and the audience upload (adreach-audience). `replay` sends one tracking event of a
subject through every gated server-side integration (these two and the co-op export), as a probe would.

`python -m devtools.demo.forwarder forward|replay --sink URL ...` (CCPA_* settings as any service)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import typer

from devtools.demo.coop_export import FLOW as COOP_FLOW
from devtools.demo.coop_export import email_key
from services.common.crypto import subject_key_of
from services.common.flows import Decision
from services.common.flows.enforcement import Enforcement, refusal
from services.common.identity import IdentifierKind, normalise

EVENTS_FLOW = "adreach-events"
AUDIENCE_FLOW = "adreach-audience"
app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0])


@dataclass(frozen=True)
class TrackingEvent:
    """One analytics event as the shop records it; `email` when the visitor is signed in."""

    device_id: str
    page_url: str
    page_title: str = ""
    event_type: str = "page_view"
    cookie_id: str = ""
    user_agent: str = "Mozilla/5.0"
    email: str | None = None

    def keys(self, secret: bytes) -> list[str]:
        """The visitor's subject keys: the signed-in consumer's first, then this device's."""
        keys = [email_key(secret)({"email": self.email})] if self.email else []
        return [*keys, subject_key_of(secret, IdentifierKind.DEVICE_ID, normalise(IdentifierKind.DEVICE_ID,
                                                                                  self.device_id))]  # fmt: skip

    def payload(self) -> dict[str, str]:
        """What the advertising network receives (the flow's fields; never the email)."""
        return {"event_type": self.event_type, "device_id": self.device_id, "cookie_id": self.cookie_id,
                "page_url": self.page_url, "page_title": self.page_title, "user_agent": self.user_agent}  # fmt: skip


class AdNetwork:
    """The advertising network's server-to-server API."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=10)

    def post(self, path: str, body: dict[str, Any]) -> None:
        self.client.post(path, json=body).raise_for_status()

    def close(self) -> None:
        self.client.close()


class Integrations:
    """The gated server-side integrations of the demo company."""

    def __init__(self, enforcement: Enforcement, network: AdNetwork) -> None:
        self.secret = enforcement.settings.subject_key_bytes()
        self.events = enforcement.call_gate(EVENTS_FLOW)
        self.audience = enforcement.call_gate(AUDIENCE_FLOW)
        self.coop = enforcement.export_gate(COOP_FLOW)
        self.network = network

    def forward(self, event: TrackingEvent, gpc: bool = False) -> Decision:
        """Forward an analytics event to the advertising network, if the flow allows it for this visitor."""
        return self.events.send(event.keys(self.secret), event.payload(),
                                lambda body: self.network.post("/events", body), gpc=gpc)  # fmt: skip

    def upload_audience(self, email: str) -> Decision:
        """Upload a subscriber's hashed email for audience matching, if allowed."""
        hashed = hashlib.sha256(normalise(IdentifierKind.EMAIL, email).encode()).hexdigest()
        return self.audience.send(email_key(self.secret)({"email": email}), {"email_sha256": hashed},
                                  lambda body: self.network.post("/audience", body))  # fmt: skip

    def replay(self, event: TrackingEvent) -> dict[str, Decision]:
        """The event's subject through every gated server-side integration; each flow's decision."""
        decisions = {EVENTS_FLOW: self.forward(event)}
        if event.email:
            decisions[AUDIENCE_FLOW] = self.upload_audience(event.email)
            row = {"email": event.email, "zip": ""}
            decisions[COOP_FLOW] = self.coop.decider.decide(email_key(self.secret)(row), COOP_FLOW)
            list(self.coop.filter([row], email_key(self.secret)))  # recorded like the nightly job records it
        return decisions


def _run(event: TrackingEvent, sink: str, replay: bool, gpc: bool = False) -> None:
    try:
        enforcement = Enforcement.start("demo-forwarder")
    except Exception as exc:  # a refused data map or settings, or a cache that cannot catch up: one line
        typer.echo(f"forwarder refused: {refusal(exc)}", err=True)
        raise typer.Exit(1) from None
    network = AdNetwork(sink)
    try:
        integrations = Integrations(enforcement, network)
        decisions = integrations.replay(event) if replay else {EVENTS_FLOW: integrations.forward(event, gpc)}
    except httpx.HTTPError as exc:
        typer.echo(f"the advertising network did not take the event: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    finally:
        network.close()
        enforcement.close()
    for flow, decision in decisions.items():
        typer.echo(f"{flow}: {'sent' if decision else 'held back (' + str(getattr(decision, 'reason', '')) + ')'}")


Sink = Annotated[str, typer.Option("--sink", help="The advertising network's base URL")]
Device = Annotated[str, typer.Option("--device-id", help="The visitor's device identifier")]
Url = Annotated[str, typer.Option("--page-url")]
Title = Annotated[str, typer.Option("--title", help="The page title")]
Email = Annotated[str | None, typer.Option("--email", help="The signed-in visitor's email")]


@app.command()
def forward(sink: Sink, device_id: Device, page_url: Url = "/", title: Title = "", email: Email = None,
            gpc: Annotated[bool, typer.Option("--gpc", help="The visit carried Global Privacy Control")] = False,
            ) -> None:  # fmt: skip
    """Forward one analytics event to the advertising network through the gate."""
    _run(TrackingEvent(device_id, page_url, title, email=email), sink, replay=False, gpc=gpc)


@app.command()
def replay(sink: Sink, device_id: Device, page_url: Url = "/", title: Title = "", email: Email = None) -> None:
    """Replay one tracking event of a subject through every gated server-side integration."""
    _run(TrackingEvent(device_id, page_url, title, email=email), sink, replay=True)


if __name__ == "__main__":
    app()
