"""Handing one e-mail to the SMTP server (Python's smtplib: TLS, STARTTLS, AUTH), with failures told apart as
temporary (try again later) or permanent, and described without the server's text (which may quote the address)."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum

from pydantic import SecretStr


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP: only for a server on loopback (the local stack, the tests)
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS (SMTPS, usually port 465)


class DeliveryFailed(Exception):
    """The server did not take the message; `temporary` says whether trying later may work."""

    def __init__(self, detail: str, temporary: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.temporary = temporary


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None
    password: SecretStr | None
    sender: str
    timeout_seconds: float


class SmtpMailer:
    """Sends each message over its own connection (mail volume is a few per request)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._domain = config.sender.rpartition("@")[2].strip("> ") or "localhost"

    def message_id(self) -> str:
        """A Message-ID on our own domain with a random part: nothing about the consumer."""
        return make_msgid(idstring=uuid.uuid4().hex[:12], domain=self._domain)

    def send(self, message: EmailMessage) -> str:
        """Deliver `message` (From, Date and Message-ID filled in when absent); its Message-ID, or DeliveryFailed."""
        if "From" not in message:
            message["From"] = self.config.sender
        if "Date" not in message:
            message["Date"] = formatdate(localtime=False, usegmt=True)
        if "Message-ID" not in message:
            message["Message-ID"] = self.message_id()
        try:
            with self._connect() as client:
                if self.config.username and self.config.password is not None:
                    client.login(self.config.username, self.config.password.get_secret_value())
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _text in error.recipients.values()})
            raise DeliveryFailed(f"recipient refused (SMTP {codes[0] if codes else '?'})", _temporary(codes)) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailed(f"SMTP {error.smtp_code}", _temporary([error.smtp_code])) from None
        except smtplib.SMTPAuthenticationError:
            raise DeliveryFailed("SMTP authentication refused", temporary=False) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"mail server unreachable ({type(error).__name__})", temporary=True) from None
        if refused:
            codes = sorted({code for code, _text in refused.values()})
            raise DeliveryFailed(f"recipient refused (SMTP {codes[0]})", _temporary(codes))
        return str(message["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_seconds,
                                    context=ssl.create_default_context())  # fmt: skip
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        if config.security is SmtpSecurity.STARTTLS:
            client.starttls(context=ssl.create_default_context())
        return client


def _temporary(codes: list[int]) -> bool:
    # RFC 5321: 4yz is a transient failure, 5yz permanent.
    return all(400 <= code < 500 for code in codes)
