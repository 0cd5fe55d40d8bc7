"""A mailbox that stands in for the app's mail sender in tests."""

import asyncio
import re

from tenantry.control.mail.sender import Mail


class MailBox:
    """What the app mailed, in order, in place of its sender."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)

    async def last_to(self, email: str) -> Mail:
        """The latest mail to `email`; sent in the background, so waited for."""
        for _ in range(200):
            mails = [mail for mail in self.sent if mail.to == email]
            if mails:
                return mails[-1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no mail to {email}")

    @staticmethod
    def code(mail: Mail) -> str:
        match = re.search(r": (\S+)$", mail.text.splitlines()[0])
        assert match is not None, mail.text
        return match.group(1)
