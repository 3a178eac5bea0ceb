"""The secured listener of the local broker: SASL_SSL with SCRAM-SHA-512 for clients and between brokers, the
StandardAuthorizer with no access where no ACL says so, and the admin principal as the only super user.

The controller listener (loopback only) uses SASL/PLAIN with a static JAAS user, because SCRAM credentials live in
the metadata log the controllers themselves serve (KAFKA-15513): the broker authenticates to them as the admin too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.localstack.certs import make_certificates

ADMIN_USER = "admin"
SCRAM_MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class BrokerSecurity:
    """The admin's password and where the certificates are: all a secured node and its clients need."""

    admin_password: str
    tls_dir: Path

    @property
    def ca_pem(self) -> Path:
        return self.tls_dir / "ca.pem"

    def ensure_certificates(self) -> None:
        make_certificates(self.tls_dir)

    def listeners(self, port: int, controller_port: int, host: str) -> dict[str, Any]:
        """The listener and authorizer settings of one combined broker+controller node."""
        scram = f"org.apache.kafka.common.security.scram.ScramLoginModule required {self._login()};"
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'{self._login()} user_{ADMIN_USER}="{self.admin_password}";'
        )
        certs = make_certificates(self.tls_dir)
        return {
            "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"SASL_SSL://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
            "listener.name.controller.plain.sasl.jaas.config": plain,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": certs.keystore_pem,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": certs.ca_pem,
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN_USER}",
        }

    def format_args(self) -> list[str]:
        """StorageTool arguments that put the admin's SCRAM credential in the bootstrap metadata."""
        return [f"--add-scram={SCRAM_MECHANISM}=[name={ADMIN_USER},password={self.admin_password}]"]

    def client_config(self, user: str = ADMIN_USER, password: str | None = None) -> dict[str, str]:
        """librdkafka settings to connect as `user` (the admin unless told): what CCPA_KAFKA_EXTRA_CONFIG holds."""
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": user,
            "sasl.password": self.admin_password if password is None else password,
            "ssl.ca.location": str(self.ca_pem),
        }

    def _login(self) -> str:
        return f'username="{ADMIN_USER}" password="{self.admin_password}"'
