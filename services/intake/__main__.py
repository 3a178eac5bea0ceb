"""Run intake on its own: `python -m services.intake` (CCPA_SERVICE_ROLE: all, worker or http; CCPA_HTTP_WORKERS:
processes sharing the port, default 1)."""

from services.common.serve import serve_workers, workers_of

serve_workers("intake", None, workers_of(None))
