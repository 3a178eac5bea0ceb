"""The consumer e-mails' templates by notice: name, version (recorded on each NoticeSent, so what a consumer was
told can be shown later) and subject line. Change a template's text, raise its version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    notice: str  # acknowledgement | extension | response | report_ready
    name: str  # the files templates/<name>.txt.j2 and templates/<name>.html.j2
    version: str
    subject: str  # formatted with the business's name


ACKNOWLEDGEMENT = Template("acknowledgement", "acknowledgement", "1", "{business}: we received your privacy request")
EXTENSION = Template("extension", "extension", "1", "{business}: we need more time for your privacy request")
RESPONSE = Template("response", "response", "1", "{business}: our answer to your privacy request")
REPORT_READY = Template("report_ready", "report_ready", "1", "{business}: your personal information report is ready")

TEMPLATES = {template.notice: template for template in (ACKNOWLEDGEMENT, EXTENSION, RESPONSE, REPORT_READY)}


def template_for(notice: str) -> Template:
    return TEMPLATES[notice]
