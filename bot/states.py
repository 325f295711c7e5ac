"""Every FSM state of the bot's multi-step forms, in one place.

Each group's handlers also answer unexpected input in any of its states (a sticker where a
date was asked, say) by asking the question again; /cancel (handlers/menu.py) leaves any form.
"""

from aiogram.fsm.state import State
from aiogram.fsm.state import StatesGroup


class ProgrammeStates(StatesGroup):
    """/programme is open: what the organiser types looks an offer up."""

    find = State()


class OfferForm(StatesGroup):
    """A new offer, step by step; editing an offer reuses one step and then `confirm`."""

    title = State()
    kind = State()
    format = State()
    language = State()
    provider = State()
    festival = State()
    description = State()
    price = State()
    ages = State()
    confirm = State()


class SessionForm(StatesGroup):
    starts = State()
    ends = State()
    venue = State()
    link = State()
    capacity = State()
    confirm = State()


class RescheduleForm(StatesGroup):
    starts = State()
    ends = State()
    confirm = State()


class ImportStates(StatesGroup):
    """Waiting for a CSV, JSON or ICS document."""

    file = State()


class BroadcastForm(StatesGroup):
    compose = State()
    audience = State()
    audience_value = State()
    when = State()
    schedule_at = State()
    confirm = State()


class PreferencesForm(StatesGroup):
    """/settings asked the resident to type a time zone or quiet hours."""

    zone = State()
    quiet = State()


class CheckInStates(StatesGroup):
    """A volunteer chose a session (/checkin): what they type are pass codes."""

    codes = State()


class FeedbackStates(StatesGroup):
    """The resident rated a session: what they type next is their comment."""

    comment = State()


class LearnerStates(StatesGroup):
    """The learning record asked the resident to type something."""

    printed_name = State()  # the name on a certificate (FSM data: the completion)
    survey_wish = State()  # what they would like to learn, in their own words
