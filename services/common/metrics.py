"""Prometheus metrics shared by every service; labels carry types and outcomes, never identifiers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "ccpa_consumer_messages_total",
    "Messages handled by a consumer, by outcome",
    ["consumer", "topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "ccpa_consumer_handler_seconds",
    "Time to apply one DB transaction of events (the consecutive events of one poll), including its commit",
    ["consumer"],
)
OUTBOX_PUBLISHED = Counter("ccpa_outbox_published_total", "Outbox rows published to Kafka")
OUTBOX_PENDING = Gauge("ccpa_outbox_pending", "Outbox rows not yet published")
OUTBOX_PARKED = Gauge("ccpa_outbox_parked", "Outbox rows Kafka can never accept, parked in outbox_parked")
REQUESTS_ACCEPTED = Counter(
    "ccpa_requests_accepted_total",
    "Consumer requests made durable by intake",
    ["request_type", "channel"],
)
REQUESTS_REJECTED = Counter("ccpa_requests_rejected_total", "Submissions refused, by reason", ["reason"])
GPC_SIGNALS = Counter("ccpa_gpc_signals_total", "Requests that carried Sec-GPC: 1")
TIMELINE_ENTRIES = Counter("ccpa_audit_timeline_entries_total", "Timeline entries materialised", ["event_type"])
STORE_SEARCHES = Counter(
    "ccpa_discovery_store_searches_total",
    "Store searches by discovery walks, by store and outcome (found, none, unavailable)",
    ["store", "outcome"],
)
WALK_SECONDS = Histogram(
    "ccpa_discovery_walk_seconds",
    "Time to walk every store for one request (one attempt)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
ERASURE_BATCH = Histogram(
    "ccpa_deletion_erasure_batch_size",
    "Deletions erased together (one pass over each log store for all of them)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250),
)
DISCOVERY_RUNS = Counter("ccpa_discovery_runs_total", "Discovery attempts, by result", ["result"])
REPORT_DOWNLOADS = Counter("ccpa_report_downloads_total", "Access-report downloads through intake", ["format"])
OPEN_REQUESTS = Gauge(
    "ccpa_audit_open_requests",
    "Requests not yet answered, by request type and deadline state (on_time, due_soon, overdue), set by the watch",
    ["request_type", "state"],
)
OLDEST_OPEN_REQUEST = Gauge(
    "ccpa_audit_oldest_open_request_age_seconds", "Age of the oldest request not yet answered (0 when none)"
)
OPEN_CLOCKS = Gauge(
    "ccpa_audit_open_clocks",
    "Clocks still waiting for their answer, by clock and deadline state, set by the deadline watch",
    ["clock", "state"],
)
DEADLINES_ANNOUNCED = Counter(
    "ccpa_audit_deadline_announcements_total", "DeadlineApproaching/DeadlineMissed produced by this process", ["kind"]
)
CONSUMER_LAG = Gauge(
    "ccpa_consumer_lag_messages",
    "Messages on the partitions a consumer owns that it has not committed yet (high watermark - committed offset)",
    ["consumer", "topic"],
)
NOTICES = Counter(
    "ccpa_notices_total", "E-mail attempts to consumers, by notice and delivery (sent, retrying, failed)",
    ["notice", "delivery"],
)  # fmt: skip
NOTICES_PENDING = Gauge("ccpa_notices_pending", "Consumer e-mails queued and not yet sent or given up")
# `ccpa monitor gpc` (services/monitor): written to a node-exporter textfile per run, not served by a service.
GPC_MONITOR_OK = Gauge(
    "ccpa_gpc_monitor_ok", "1 when the last GPC check of the site passed (no sale/sharing tag, honoured shown)",
    ["site"], registry=None,
)  # fmt: skip
GPC_MONITOR_LEAKS = Gauge(
    "ccpa_gpc_monitor_leaked_tag_requests", "Sale/sharing tag requests the page made with GPC on, at the last check",
    ["site"], registry=None,
)  # fmt: skip
GPC_MONITOR_CHECKED = Gauge(
    "ccpa_gpc_monitor_last_run_timestamp_seconds", "When the site was last checked (Unix time)", ["site"],
    registry=None,
)  # fmt: skip
FLOW_CACHE_STALENESS = Gauge(
    "ccpa_flow_cache_staleness_seconds",
    "Seconds since an opt-out state cache last confirmed it had read every partition to its high watermark",
    ["cache"],
)
FLOW_CACHE_LAG = Gauge(
    "ccpa_flow_cache_lag_messages", "Opt-out state records on the topic a cache has not read yet", ["cache"]
)
FLOW_CACHE_SUBJECTS = Gauge("ccpa_flow_cache_subjects", "Subjects whose opt-out state a cache holds", ["cache"])
FLOW_CACHE_SKIPPED = Counter(
    "ccpa_flow_cache_skipped_total", "State records a cache refused (undecodable or breaking the contract)", ["cache"]
)
FLOW_PROBE_LEAKS = Counter(
    "ccpa_flow_probe_leaks_total", "Probe records a gated integration let through after an opt-out", ["flow"]
)
FLOW_PROBES = Counter("ccpa_flow_probes_total", "Probe records replayed, by flow and outcome", ["flow", "outcome"])
# End-to-end latencies, observed by the service that reaches the milestone, from the request's received_at (the
# legal clock's start): seconds for the demo, days for the 45-day answer.
LATENCY_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 15 * 86400, 30 * 86400,
                   45 * 86400, 90 * 86400)  # fmt: skip
REPORT_LATENCY = Histogram(
    "ccpa_discovery_report_latency_seconds",
    "From a know request's receipt to its access report being ready (discovery)",
    ["request_type"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
DELETION_LATENCY = Histogram(
    "ccpa_deletion_verified_latency_seconds",
    "From a delete or correct request's receipt to its erasure (or correction) being verified by re-discovery",
    ["operation"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
DLQ_MESSAGES = Gauge(
    "ccpa_dlq_messages",
    "Messages on privacy.dlq (high minus low watermark over its partitions), read by the console; NaN while Kafka "
    "does not answer",
)
