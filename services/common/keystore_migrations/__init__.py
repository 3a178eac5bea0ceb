"""The key store's schema migrations: env.py and versions/, applied by every KeyStore opened and by
`ccpa db upgrade keystore`."""

from pathlib import Path

from services.common import crypto
from services.common.migrations import Schema

SCHEMA = Schema("keystore", Path(__file__).parent, (crypto.metadata,))
