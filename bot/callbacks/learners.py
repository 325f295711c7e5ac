"""Buttons of the learning record: about me, the passport, certificates, the survey.

Indexes (`value`) point into the city's lists as the settings hold them now; a handler
re-checks each one, so a button left from an older list answers "out of date".
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id


class AboutMeAction(StrEnum):
    OPEN = "open"
    CONSENT = "yes"  # agree to answer
    LATER = "no"  # "not now": asked, nothing kept
    AGE = "age"  # value: index of the age band, -1 for none
    GENDER = "gen"  # value: index of the gender
    DISTRICT = "dis"  # value: index in HOME_DISTRICTS, -1 for none
    GROUP = "grp"  # value: index in LEARNER_GROUPS, -1 for "none of these"
    WITHDRAW = "wd"  # asks to confirm
    WITHDRAW_SURE = "wd!"


class AboutMe(CallbackData, prefix="me"):
    action: AboutMeAction
    value: Id = 0


class OpenPassport(CallbackData, prefix="pp"):
    pass


class CertificateAction(StrEnum):
    OPEN = "open"  # the certificate's screen (asks for the name if none yet)
    RENAME = "name"  # type another name to print
    PDF = "pdf"


class CertificateButton(CallbackData, prefix="crt"):
    completion_id: Id
    action: CertificateAction = CertificateAction.OPEN


class SurveyAction(StrEnum):
    OPEN = "open"
    TOPIC = "t"  # value: index in SURVEY_TOPICS
    WRITE = "w"  # type one's own words
    DONE = "done"


class SurveyButton(CallbackData, prefix="sv"):
    action: SurveyAction
    value: Id = 0
