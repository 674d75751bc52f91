"""The local mailbox of `make run`: mail accepted, kept as .eml files, logged."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from sst_devices.mailbox import serve
from tests.ports import free_port


def _send(port: int, to: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "sst@example.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Sleep: about 7 hours in bed.")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


async def test_mail_is_kept_in_the_folder_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sst.devices.mailbox")
    port, folder, stop = free_port(), tmp_path, asyncio.Event()
    server = asyncio.create_task(serve("127.0.0.1", port, folder, stop))
    try:
        for _ in range(100):
            if "local mailbox on" in caplog.text:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(_send, port, "daughter@sst.demo", "김영자 님의 하루: 11월 24일")
        await asyncio.to_thread(_send, port, "nurse@sst.demo", "Fall: Kim Young-ja")
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)
    kept = sorted(folder.glob("*.eml"))
    assert len(kept) == 2
    assert b"To: daughter@sst.demo" in kept[0].read_bytes()
    assert "mail to daughter@sst.demo: 김영자 님의 하루: 11월 24일" in caplog.text
    assert "mail to nurse@sst.demo: Fall: Kim Young-ja" in caplog.text
