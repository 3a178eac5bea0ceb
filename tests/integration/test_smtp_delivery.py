"""SMTP delivery against a real mail server (Mailpit on loopback): what was sent is read back from the server."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest

from devtools.localstack import MailServer, free_port
from services.intake.mail.smtp import DeliveryFailed, SmtpConfig, SmtpMailer, SmtpSecurity

pytestmark = pytest.mark.integration


def _mailer(port: int) -> SmtpMailer:
    return SmtpMailer(SmtpConfig("127.0.0.1", port, SmtpSecurity.NONE, None, None,
                                 "Example Co. Privacy <privacy@example.com>", 5.0))  # fmt: skip


def test_a_message_reaches_the_server_with_our_headers(mail_server: MailServer) -> None:
    message = EmailMessage()
    message["To"] = "smtp-delivery-1@example.net"
    message["Subject"] = "Your privacy request"
    message.set_content("Hello. We received your request.")
    message_id = _mailer(mail_server.smtp_port).send(message)
    [mail] = mail_server.messages(to="smtp-delivery-1@example.net")
    assert mail.subject == "Your privacy request"
    assert mail.sender == "privacy@example.com"
    assert "We received your request." in mail.text
    assert mail.headers["Message-Id"][0].strip("<>") == message_id.strip("<>")
    assert message_id.endswith("@example.com>")  # our own domain, nothing of the consumer's


def test_an_unreachable_server_is_a_temporary_failure_that_names_no_address() -> None:
    message = EmailMessage()
    message["To"] = "smtp-delivery-2@example.net"
    message["Subject"] = "x"
    message.set_content("x")
    with pytest.raises(DeliveryFailed) as failure:
        _mailer(free_port()).send(message)
    assert failure.value.temporary
    assert "unreachable" in failure.value.detail
    assert "example.net" not in failure.value.detail


def test_the_mail_viewer_is_a_working_web_page(mail_server: MailServer) -> None:
    """`make run` users read the consumers' mails there: its page and its script are built into the binary."""
    page = httpx.get(mail_server.web_url, timeout=10)
    script = httpx.get(f"{mail_server.web_url}/dist/app.js", timeout=10)
    assert page.status_code == 200 and "/dist/app.js" in page.text
    assert script.status_code == 200 and len(script.content) > 100_000  # the bundled viewer, not a 404
