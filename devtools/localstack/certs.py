"""A throwaway certificate authority and a broker certificate for the local secured Kafka (PEM, `cryptography`).

The broker reads them as a PEM keystore/truststore (`ssl.keystore.type=PEM`); clients trust `ca.pem`
(`ssl.ca.location`). Made once per folder and kept, so a restarted broker keeps the certificate clients trust.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = datetime.timedelta(days=30)


@dataclass(frozen=True)
class BrokerCertificates:
    """Where the CA certificate (what clients trust) and the broker's key+chain (its PEM keystore) are."""

    ca_pem: Path
    keystore_pem: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ccpa-pipeline local"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])  # fmt: skip


def _certificate(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, signer: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    )


def make_certificates(directory: Path) -> BrokerCertificates:
    """A CA and a broker certificate for 127.0.0.1/localhost under `directory`, unless they are there and valid."""
    directory.mkdir(parents=True, exist_ok=True)
    certs = BrokerCertificates(directory / "ca.pem", directory / "broker-keystore.pem")
    if _still_valid(certs):
        return certs
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ccpa-pipeline local CA")
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    broker = (
        _certificate(_name("localhost"), ca_name, broker_key.public_key(), ca_key)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    # Kafka's PEM keystore wants an unencrypted PKCS#8 key followed by the chain (no ssl.key.password then).
    key_pem = broker_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    certs.ca_pem.write_bytes(ca_pem)
    certs.keystore_pem.write_bytes(key_pem + broker.public_bytes(serialization.Encoding.PEM) + ca_pem)
    certs.keystore_pem.chmod(0o600)
    return certs


def _still_valid(certs: BrokerCertificates) -> bool:
    if not (certs.ca_pem.exists() and certs.keystore_pem.exists()):
        return False
    ca = x509.load_pem_x509_certificate(certs.ca_pem.read_bytes())
    return ca.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=1)
