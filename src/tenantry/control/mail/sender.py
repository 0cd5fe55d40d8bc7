"""Mails to an account's email (codes to set or reset a password, to prove the email),
through a pluggable sender: `TENANTRY_MAIL_SENDER`, by default the log."""

import asyncio
import importlib
import logging
from dataclasses import dataclass
from typing import Protocol

from tenantry.config import Settings

logger = logging.getLogger("tenantry.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None: ...


class LogMailSender:
    """Writes each mail to the log: for development, or for an operator who relays them.
    The log then holds live codes, so production plugs in a real sender."""

    async def send(self, mail: Mail) -> None:
        fields = {"to": mail.to, "subject": mail.subject, "text": mail.text}
        logger.info("mail", extra={"fields": fields})


def load_sender(settings: Settings) -> MailSender:
    """'log', or 'package.module:factory': a callable taking the settings."""
    if settings.mail_sender == "log":
        return LogMailSender()
    module, _, name = settings.mail_sender.partition(":")
    factory = getattr(importlib.import_module(module), name)
    sender: MailSender = factory(settings)
    return sender


_sending: set[asyncio.Task[None]] = set()


def send_soon(sender: MailSender, mail: Mail) -> None:
    """Send in the background: the answer neither waits for the mail nor says, by its
    timing, whether one was sent. A failure is logged, never raised."""
    task = asyncio.get_running_loop().create_task(_send(sender, mail))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def _send(sender: MailSender, mail: Mail) -> None:
    try:
        await sender.send(mail)
    except Exception:
        logger.exception("mail not sent", extra={"fields": {"subject": mail.subject}})
