"""Screens of programme management: finding an offer, its sessions, the forms, import reports."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import formatting
from bot.callbacks.programme import AddSession
from bot.callbacks.programme import CancelSession
from bot.callbacks.programme import EditOffer
from bot.callbacks.programme import FormPick
from bot.callbacks.programme import ImportFile
from bot.callbacks.programme import NewOffer
from bot.callbacks.programme import OfferField
from bot.callbacks.programme import OpenOffer
from bot.callbacks.programme import OpenSession
from bot.callbacks.programme import ProgrammeHome
from bot.callbacks.programme import RescheduleSession
from bot.screens.browse import LANGUAGE_BUTTONS
from bot.screens.browse import offer_card
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import fit_message
from bot.screens.view import pager
from bot.screens.view import shorten
from bot.screens.view import upcoming_range
from bot.settings import SUPPORTED_LOCALES
from catalogue import text_policy
from catalogue.exchange.importer import ImportReport
from catalogue.exchange.rows import RowError
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import SessionStatus
from catalogue.models import Venue
from catalogue.programme import SESSIONS_PER_PAGE
from catalogue.programme import Choice
from catalogue.programme import SessionsPage
from catalogue.queries import OfferCard

REPORT_LINES = 20
ERROR_LENGTH = 180
SKIP = "skip"
NONE = "none"
SAVE = "save"
DISCARD = "discard"

FIELD_LABELS = {
    OfferField.TITLE: __("Title"),
    OfferField.KIND: __("Kind"),
    OfferField.FORMAT: __("Format"),
    OfferField.LANGUAGE: __("Language"),
    OfferField.PROVIDER: __("Provider"),
    OfferField.FESTIVAL: __("Festival"),
    OfferField.DESCRIPTION: __("Description"),
    OfferField.PRICE: __("Price"),
    OfferField.AGES: __("Ages"),
}
FORM_ERRORS = {
    "title": __("A title needs 3 to {most} characters. Please send it again."),
    "description": __("A description can have up to {most} characters. Please send a shorter one."),
    "price": __("Send the price as a number, like 250 or 99.50, or 0 if it is free."),
    "ages": __("Send ages like 12-18, 60+, -6 (up to six), or press “All ages”."),
    "start": __("I could not read that date. Send it like 2026-06-01 18:30 or 01.06 18:30."),
    "past": __("That time has already passed. Send a time in the future."),
    "end": __("Send the end like 20:00, or the length like 90 min or 1h30m."),
    "capacity": __("Send the number of places, like 12, or press “No limit”."),
    "link": __("Send a web address starting with https://, or press “Skip”."),
    "text": __("Please send text, or /cancel to stop."),
}


def _cancel_row(builder: InlineKeyboardBuilder) -> None:
    builder.row(button("✖️ " + _("Cancel"), FormPick(value=DISCARD)))


def form_error(code: str) -> str:
    limits = text_policy.limits()  # the same limits as an imported file's
    most = limits.title_length if code == "title" else limits.text_length
    return "⚠️ " + str(FORM_ERRORS.get(code, FORM_ERRORS["text"])).format(most=most)


# ---------------------------------------------------------------- finding offers


def programme_home(offers: int, upcoming_sessions: int) -> View:
    text = "\n".join(
        [
            "🗂 <b>" + _("Programme") + "</b>",
            _("{offers} offers, {sessions} upcoming sessions.").format(
                offers=offers, sessions=upcoming_sessions
            ),
            "",
            _("Type part of an offer's title (or its id) to find it, or:"),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(button("➕ " + _("New offer"), NewOffer()))
    builder.row(button("📥 " + _("Import a file"), ImportFile()))
    return View(text, builder.as_markup())


def found_offers(query: str, choices: list[Choice]) -> View:
    builder = InlineKeyboardBuilder()
    if not choices:
        text = _("Nothing found for “{query}”. Try another word, or create a new offer.").format(
            query=escape(shorten(query, 60))
        )
        builder.row(button("➕ " + _("New offer"), NewOffer()))
        return View(text, builder.as_markup())
    text = _("Found for “{query}”:").format(query=escape(shorten(query, 60)))
    for choice in choices:
        builder.row(button(choice.label, OpenOffer(offer_id=choice.id)))
    return View(text, builder.as_markup())


def offer_manage(viewer: Viewer, offer: Offer, upcoming: SessionsPage) -> View:
    """An offer as the organiser manages it: one page of its upcoming sessions, each a button
    (to move or cancel it), with ‹ n / m › when there are more than a page."""
    sessions = upcoming.sessions
    lines = [
        f"🗂 <b>{viewer.t(offer.title)}</b>",
        f"<i>{formatting.kind(offer)} · {formatting.offer_format(offer)} · "
        f"{formatting.price(offer, viewer.locale)}</i>",
        _("Id: {id}").format(id=f"<code>{escape(offer.external_id)}</code>"),
        "",
    ]
    lines.append(
        _("Upcoming sessions: press one to move or cancel it.")
        if sessions
        else _("No upcoming sessions.")
    )
    if upcoming.pages > 1:
        first = upcoming.page * SESSIONS_PER_PAGE + 1
        lines.append(upcoming_range(first, len(sessions), upcoming.total))
    builder = InlineKeyboardBuilder()
    for item in sessions:
        label = formatting.short_when(item.starts_at, viewer.zone, viewer.locale)
        if item.status == SessionStatus.CANCELLED:
            label = "❌ " + label + " · " + _("cancelled")
        elif item.status == SessionStatus.CHANGED:
            label = "⚠️ " + label
        else:
            label = "🗓 " + label
        builder.row(button(label, OpenSession(session_id=item.id)))
    if upcoming.pages > 1:
        builder.row(
            *pager(
                upcoming.page,
                upcoming.pages,
                lambda page: OpenOffer(offer_id=offer.id, page=page),
            )
        )
    builder.row(
        button("✏️ " + _("Edit"), EditOffer(offer_id=offer.id)),
        button("➕ " + _("Add a session"), AddSession(offer_id=offer.id)),
    )
    builder.row(button("📥 " + _("Import sessions (.ics)"), ImportFile(offer_id=offer.id)))
    builder.row(button("« " + _("Programme"), ProgrammeHome()))
    return View("\n".join(lines), builder.as_markup())


def choose_field(offer: Offer) -> View:
    builder = InlineKeyboardBuilder()
    for field, label in FIELD_LABELS.items():
        builder.add(button(str(label), EditOffer(offer_id=offer.id, field=field)))
    builder.adjust(3)
    builder.row(button("« " + _("Back"), OpenOffer(offer_id=offer.id)))
    return View(_("What do you want to change?"), builder.as_markup())


def _when(viewer: Viewer, offer_session: OfferSession) -> str:
    return formatting.when(
        offer_session.starts_at, offer_session.ends_at, viewer.zone, viewer.locale
    )


def _session_facts(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    venue: Venue | None,
    with_address: bool,
) -> list[str]:
    """A session as the team sees it: the offer's title, the time, where, the link, places."""
    lines = [f"<b>{viewer.t(offer.title)}</b>", f"🗓 {_when(viewer, offer_session)}"]
    if venue is not None:
        address = f", {viewer.t(venue.address)}" if with_address else ""
        lines.append(f"📍 {viewer.t(venue.name)}{address}")
    if offer_session.online_url:
        lines.append("💻 " + escape(offer_session.online_url))
    if offer_session.capacity is not None:
        lines.append(_("Places: {count}").format(count=offer_session.capacity))
    return lines


def session_manage(
    viewer: Viewer, offer: Offer, offer_session: OfferSession, venue: Venue | None, page: int = 0
) -> View:
    """A session as the organiser manages it; Back leads to the `page` of the offer's screen
    that lists it."""
    lines = _session_facts(viewer, offer, offer_session, venue, with_address=False)
    builder = InlineKeyboardBuilder()
    if offer_session.status == SessionStatus.CANCELLED:
        lines.append("❌ " + _("This session is cancelled."))
    else:
        builder.row(
            button("🕒 " + _("Reschedule"), RescheduleSession(session_id=offer_session.id)),
            button("❌ " + _("Cancel session"), CancelSession(session_id=offer_session.id)),
        )
    builder.row(button("« " + _("Back"), OpenOffer(offer_id=offer.id, page=page)))
    return View("\n".join(lines), builder.as_markup())


def confirm_cancel_session(
    viewer: Viewer, offer: Offer, offer_session: OfferSession, subscribers: int
) -> View:
    when = _when(viewer, offer_session)
    text = "\n".join(
        [
            _("Cancel “{title}” on {when}?").format(title=viewer.t(offer.title), when=when),
            _("Residents who follow it will be told: {count}.").format(count=subscribers),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(
        button(
            "❌ " + _("Yes, cancel it"), CancelSession(session_id=offer_session.id, confirmed=True)
        ),
        button("« " + _("Back"), OpenSession(session_id=offer_session.id)),
    )
    return View(text, builder.as_markup())


# ---------------------------------------------------------------- the offer form


def _pick(label: str, value: str) -> InlineKeyboardButton:
    return button(label, FormPick(value=value))


def with_cancel(text: str, *shortcuts: InlineKeyboardButton) -> View:
    """A step of a form: the question, the answers that need no typing on one row, and Cancel."""
    builder = InlineKeyboardBuilder()
    if shortcuts:
        builder.row(*shortcuts)
    _cancel_row(builder)
    return View(text, builder.as_markup())


def _choose(text: str, choices: list[Choice], *extra: InlineKeyboardButton) -> View:
    """A step answered by one of `choices` (a row each) or by an `extra` button, or Cancel."""
    builder = InlineKeyboardBuilder()
    for choice in choices:
        builder.row(_pick(choice.label, str(choice.id)))
    for extra_button in extra:
        builder.row(extra_button)
    _cancel_row(builder)
    return View(text, builder.as_markup())


def _grid(text: str, options: list[InlineKeyboardButton], columns: int) -> View:
    """A step answered by one of a few fixed `options`, laid out in `columns`, or Cancel."""
    builder = InlineKeyboardBuilder()
    builder.add(*options)
    builder.adjust(columns)
    _cancel_row(builder)
    return View(text, builder.as_markup())


def _save_or_cancel(save_label: str) -> InlineKeyboardMarkup:
    """Under a form's preview: keep what the form made, or drop it."""
    builder = InlineKeyboardBuilder()
    builder.row(_pick("✅ " + save_label, SAVE), _pick("✖️ " + _("Cancel"), DISCARD))
    return builder.as_markup()


def ask_title() -> View:
    return with_cancel(
        "✏️ " + _("What is the offer called? Send its title (in the language you use with me).")
    )


def ask_kind() -> View:
    kinds = [_pick(str(formatting.KIND_LABELS[kind]), kind.value) for kind in OfferKind]
    return _grid(_("What kind of offer is it?"), kinds, columns=2)


def ask_format() -> View:
    formats = [
        _pick(str(formatting.FORMAT_LABELS[offer_format]), offer_format.value)
        for offer_format in OfferFormat
    ]
    return _grid(_("How does it take place?"), formats, columns=3)


def ask_language() -> View:
    languages = [_pick(LANGUAGE_BUTTONS[code], code) for code in SUPPORTED_LOCALES]
    return _grid(_("In which language is it taught?"), languages, columns=len(languages))


def ask_provider(choices: list[Choice]) -> View:
    text = _("Who runs it? Choose the provider, or type part of its name to narrow the list.")
    if not choices:
        text = _("No provider matches. Type another part of the name.")
    return _choose(text, choices)


def ask_festival(choices: list[Choice]) -> View:
    not_part = _pick(_("Not part of a festival"), NONE)
    return _choose(_("Is it part of a festival?"), choices, not_part)


def ask_description() -> View:
    return with_cancel(
        _("Describe it in a few sentences: what people will do and learn."),
        _pick(_("No description"), SKIP),
    )


def ask_price() -> View:
    return with_cancel(
        _("What does it cost? Send the price, like 250 or 99.50."), _pick(_("Free"), "0")
    )


def ask_ages() -> View:
    return with_cancel(
        _("For which ages? Send like 12-18, 60+ or -6 (up to six)."), _pick(_("All ages"), "all")
    )


def offer_preview(viewer: Viewer, card: OfferCard, is_new: bool) -> View:
    card_view = offer_card(viewer, card, back=ProgrammeHome())
    heading = (
        _("Preview of the new offer, as residents will see it:")
        if is_new
        else _("Preview of the changed offer, as residents will see it:")
    )
    text = fit_message(f"👁 <i>{heading}</i>\n\n{card_view.text}")
    return View(text, _save_or_cancel(_("Save")))


def form_problems(errors: list[RowError]) -> str:
    lines = ["⚠️ " + _("This cannot be saved yet:")]
    lines += [f"• {escape(error.field or '')}: {escape(error.message)}" for error in errors[:10]]
    return "\n".join(lines)


# ---------------------------------------------------------------- the session form


def ask_starts(offer: Offer, viewer: Viewer) -> View:
    text = _(
        "When does the session of “{title}” start? Send the date and time, like 2026-06-01 "
        "18:30 or 01.06 18:30 ({zone} time)."
    ).format(title=viewer.t(offer.title), zone=escape(str(viewer.zone)))
    return with_cancel(text)


def ask_ends(length_minutes: int | None = None) -> View:
    builder = InlineKeyboardBuilder()
    if length_minutes:
        builder.row(
            button(
                _("Same length as before ({minutes} min)").format(minutes=length_minutes),
                FormPick(value=str(length_minutes)),
            )
        )
    builder.row(
        *(
            button(_("{minutes} min").format(minutes=minutes), FormPick(value=str(minutes)))
            for minutes in (60, 90, 120)
        )
    )
    _cancel_row(builder)
    return View(
        _("When does it end? Send the time, like 20:00, or the length, like 90 min."),
        builder.as_markup(),
    )


def ask_venue(choices: list[Choice]) -> View:
    text = _(
        "Where does it take place? Choose the venue, or type part of its name to narrow the list."
    )
    if not choices:
        text = _("No venue matches. Type another part of the name.")
    return _choose(text, choices, _pick(_("No venue (online)"), NONE))


def ask_link() -> View:
    return with_cancel(_("Send the link to join online (https://…)."), _pick(_("Skip"), SKIP))


def ask_capacity() -> View:
    return with_cancel(_("How many places are there?"), _pick(_("No limit"), SKIP))


def session_preview(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    venue: Venue | None,
    heading: str,
) -> View:
    lines = [
        f"👁 <i>{escape(heading)}</i>",
        "",
        *_session_facts(viewer, offer, offer_session, venue, with_address=True),
    ]
    return View("\n".join(lines), _save_or_cancel(_("Save")))


def reschedule_preview(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    new_start,
    new_end,
    subscribers: int,
) -> View:
    old = _when(viewer, offer_session)
    new = formatting.when(new_start, new_end, viewer.zone, viewer.locale)
    text = "\n".join(
        [
            f"<b>{viewer.t(offer.title)}</b>",
            _("From: {old}").format(old=old),
            _("To: {new}").format(new=new),
            "",
            _("Residents who follow it will be told: {count}.").format(count=subscribers),
        ]
    )
    return View(text, _save_or_cancel(_("Move it")))


# ---------------------------------------------------------------- import


def ask_file(offer: Offer | None, viewer: Viewer) -> View:
    if offer is not None:
        text = _(
            "Send the .ics calendar file of “{title}”: each event becomes one of its sessions."
        ).format(title=viewer.t(offer.title))
    else:
        text = "\n".join(
            [
                "📥 " + _("Send me a file to import:"),
                "• " + _("a JSON document in the catalogue format;"),
                "• " + _("a CSV file of one table, named after it (offers.csv, sessions.csv…);"),
                "• "
                + _("an .ics calendar: open the offer first and press “Import sessions (.ics)”."),
                _("Nothing is imported unless the whole file is right."),
            ]
        )
    return with_cancel(text)


def import_done(report: ImportReport) -> str:
    lines = ["✅ " + _("Imported.")]
    for table, created in report.created.items():
        updated = report.updated.get(table, 0)
        if created or updated:
            lines.append(
                _("{table}: {created} new, {updated} updated").format(
                    table=table, created=created, updated=updated
                )
            )
    if len(lines) == 1:
        lines.append(_("The file held no records."))
    return "\n".join(lines)


def import_failed(errors: list[RowError], total: int | None = None) -> str:
    lines = [
        "⛔️ "
        + _("Nothing was imported: {count} problem(s). Fix them and send the file again.").format(
            count=max(total or 0, len(errors))
        ),
        "",
    ]
    # Twenty problems of at most ERROR_LENGTH characters each fit one message.
    lines += [f"• {escape(shorten(str(error), ERROR_LENGTH))}" for error in errors[:REPORT_LINES]]
    if len(errors) > REPORT_LINES:
        lines.append(_("The full list is in the attached file."))
    return fit_message("\n".join(lines))


def error_report_file(errors: list[RowError]) -> bytes:
    return ("\n".join(str(error) for error in errors) + "\n").encode()
