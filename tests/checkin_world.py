"""People and sessions for check-in tests: a volunteer, residents with passes, a session now.

Sessions are made with tests/reminder_world.py's `make_offer`; "now" sessions began ten
minutes ago and run for ninety, so they are today in the city whatever the hour of the run.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlalchemy import func
from sqlalchemy import select

from bot.startup.app import App
from catalogue.checkin.tables import CheckIn
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import utc_now
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.reminder_world import Made
from tests.reminder_world import english_resident
from tests.reminder_world import make_offer
from tests.resident_chat import ResidentChat

CODE = re.compile(r"<code>([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})</code>")


async def session_now(app: App, **options) -> Made:
    return await make_offer(app, [utc_now() - timedelta(minutes=10)], **options)


async def team_member(app: App, telegram_id: int, role: Role = Role.VOLUNTEER) -> ResidentChat:
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=telegram_id, role=role, display_name="Vera"))
    return await english_resident(ResidentChat(app, telegram_id))


async def pass_code(chat: ResidentChat) -> str:
    """The resident opens /pass and reads their code off the screen."""
    screen = await chat.send("/pass")
    found = CODE.search(screen.text)
    assert found, screen.text
    return found.group(1)


def scanned(chat: ResidentChat, file_name: str) -> str:
    """What a phone camera reads from the QR picture the bot last sent under `file_name`."""
    picture = Image.open(io.BytesIO(chat.telegram.sent_files[file_name]))
    results = zxingcpp.read_barcodes(picture)
    assert len(results) == 1, results
    return results[0].text


async def register(app: App, chat: ResidentChat, session_id: int) -> None:
    """The resident took a seat earlier (the subscription feature's row, as it leaves it)."""
    async with app.session_maker.begin() as session:
        resident_id = await session.scalar(
            select(Resident.id).where(Resident.telegram_id == chat.user.id)
        )
        session.add(Seat(resident_id=resident_id, session_id=session_id, status=SeatStatus.GOING))


async def check_ins(app: App, session_id: int) -> int:
    async with app.session_maker() as session:
        return await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.session_id == session_id)
        )
