"""What the outbox sends, put together: each kind's renderer bound to its drawing.

scheduler/ loads what a message is about and decides whether it still goes out, but sits
below the presentation layer and cannot draw it. Here, in the composition root, each outbox
kind gets its renderer (scheduler/renderers.py, scheduler/feedback.py,
scheduler/broadcast_runner.py) together with the screen that draws it (bot/screens/notices.py,
feedback.py, broadcast.py), in the resident's language and time zone. `outbox_renderers` is
the whole registry the outbox worker is given; a kind missing from it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n

from bot.screens import broadcast as broadcast_screens
from bot.screens import notices
from bot.screens.feedback import comments_digest
from bot.screens.feedback import feedback_prompt
from bot.screens.learners.about_me import invitation
from bot.screens.learners.passport import completed_note
from bot.screens.learners.survey import survey_view
from bot.screens.view import View
from bot.screens.view import Viewer
from catalogue.checkin.feedback import COMMENTS
from catalogue.checkin.feedback import FEEDBACK
from catalogue.checkin.feedback import SessionComment
from catalogue.learners.facts import consented_among
from catalogue.learners.follow_up import ABOUT_ME
from catalogue.learners.follow_up import COMPLETED
from catalogue.learners.survey import SURVEY
from catalogue.learners.survey import answered
from catalogue.learners.tracks import CompletedTarget
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Venue
from catalogue.models import utc_now
from catalogue.outbox.broadcasts import KIND as BROADCAST
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import Progress
from catalogue.outbox.reminders import ANNOUNCE
from catalogue.outbox.reminders import CHANGE
from catalogue.outbox.reminders import DIGEST
from catalogue.outbox.reminders import PROMOTED
from catalogue.outbox.reminders import REMINDER
from catalogue.outbox.reminders import reminder_messages
from scheduler.broadcast_runner import render_broadcast
from scheduler.delivery import Outgoing
from scheduler.feedback import comments_renderer
from scheduler.feedback import feedback_renderer
from scheduler.learners import completion_renderer
from scheduler.learners import unanswered_renderer
from scheduler.renderers import announcement_renderer
from scheduler.renderers import change_renderer
from scheduler.renderers import digest_renderer
from scheduler.renderers import promotion_renderer
from scheduler.renderers import reminder_renderer
from scheduler.rendering import Renderer


def outbox_renderers(
    i18n: I18n, city_zone: ZoneInfo, survey_topics: Sequence[str] = ()
) -> dict[str, Renderer]:
    """Every kind the outbox sends (besides its own "text"), with how it looks."""
    draw = NoticeDrawings(i18n, city_zone, survey_topics)
    return {
        REMINDER: reminder_renderer(draw.reminder),
        CHANGE: change_renderer(draw.change_notice),
        PROMOTED: promotion_renderer(draw.promoted),
        ANNOUNCE: announcement_renderer(draw.announcement),
        DIGEST: digest_renderer(draw.digest),
        FEEDBACK: feedback_renderer(draw.feedback_prompt),
        COMMENTS: comments_renderer(draw.comments),
        # The organiser's own words, as previewed: nothing to draw.
        BROADCAST: render_broadcast,
        COMPLETED: completion_renderer(draw.completed),
        ABOUT_ME: unanswered_renderer(draw.about_me, consented_among),
        SURVEY: unanswered_renderer(draw.survey, answered),
    }


def _outgoing(view: View) -> Outgoing:
    return Outgoing(view.text, view.markup)


class NoticeDrawings:
    """The screens of what the bot says on its own, each in its resident's language and zone."""

    def __init__(self, i18n: I18n, city_zone: ZoneInfo, survey_topics: Sequence[str] = ()) -> None:
        self.i18n = i18n
        self.city_zone = city_zone
        self.survey_topics = survey_topics

    def _reminded(self, resident: Resident, offer_session: OfferSession) -> bool:
        """Whether a reminder will still come before the session: a notice that promises
        one must be true when it is read."""
        return bool(reminder_messages(resident, offer_session, utc_now(), self.city_zone))

    @contextmanager
    def _seen_by(self, resident: Resident) -> Iterator[Viewer]:
        with self.i18n.context(), self.i18n.use_locale(resident.language):
            yield Viewer.of(resident, self.city_zone)

    def reminder(
        self,
        resident: Resident,
        offer: Offer,
        offer_session: OfferSession,
        venue: Venue | None,
        now: datetime,
    ) -> Outgoing:
        with self._seen_by(resident) as viewer:
            return _outgoing(notices.reminder(viewer, offer, offer_session, venue, now))

    def change_notice(
        self,
        resident: Resident,
        offer: Offer,
        offer_session: OfferSession,
        venue: Venue | None,
        old_starts_at: datetime | None,
        old_venue: Venue | None,
    ) -> Outgoing:
        reminded = self._reminded(resident, offer_session)
        with self._seen_by(resident) as viewer:
            view = notices.change_notice(
                viewer, offer, offer_session, venue, old_starts_at, old_venue, reminded
            )
            return _outgoing(view)

    def promoted(
        self, resident: Resident, offer: Offer, offer_session: OfferSession, venue: Venue | None
    ) -> Outgoing:
        reminded = self._reminded(resident, offer_session)
        with self._seen_by(resident) as viewer:
            return _outgoing(notices.promoted(viewer, offer, offer_session, venue, reminded))

    def announcement(
        self, resident: Resident, offer: Offer, first_session: OfferSession, where_title: str
    ) -> Outgoing:
        with self._seen_by(resident) as viewer:
            return _outgoing(notices.announcement(viewer, offer, first_session, where_title))

    def digest(
        self,
        resident: Resident,
        scope_title: str,
        new_offers: Sequence[tuple[Offer, OfferSession]],
        upcoming: Sequence[tuple[Offer, OfferSession]],
    ) -> Outgoing:
        with self._seen_by(resident) as viewer:
            return _outgoing(notices.digest(viewer, scope_title, new_offers, upcoming))

    def feedback_prompt(
        self, resident: Resident, offer: Offer, offer_session: OfferSession
    ) -> Outgoing:
        with self._seen_by(resident) as viewer:
            return _outgoing(feedback_prompt(viewer, offer, offer_session))

    def comments(self, reader: Resident, comments: list[SessionComment]) -> Outgoing:
        with self._seen_by(reader) as viewer:
            return _outgoing(comments_digest(viewer, comments))

    def completed(self, resident: Resident, item: CompletedTarget) -> Outgoing:
        with self._seen_by(resident) as viewer:
            return _outgoing(completed_note(viewer, item))

    def about_me(self, resident: Resident) -> Outgoing:
        with self._seen_by(resident):
            return _outgoing(invitation())

    def survey(self, resident: Resident) -> Outgoing:
        with self._seen_by(resident):
            return _outgoing(survey_view(self.survey_topics, [], None, invited=True))


class BroadcastDrawings:
    """The organiser's progress message and final report (scheduler.broadcast_runner)."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    @contextmanager
    def _in(self, language: str | None) -> Iterator[str]:
        locale = language or self.i18n.default_locale
        with self.i18n.context(), self.i18n.use_locale(locale):
            yield locale

    def progress(
        self, broadcast: Broadcast, figures: Progress, remaining: timedelta, language: str | None
    ) -> Outgoing:
        with self._in(language) as locale:
            return _outgoing(broadcast_screens.progress(broadcast, figures, remaining, locale))

    def report(self, broadcast: Broadcast, figures: Progress, language: str | None) -> str:
        with self._in(language) as locale:
            return broadcast_screens.report(broadcast, figures, locale)
