"""Certificates: asking the name to print, the file's caption, what a verification link
answers, /revoke, /completion (the organisers' rules), and the record's refusals."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.learners import CertificateAction
from bot.callbacks.learners import CertificateButton
from bot.callbacks.learners import OpenPassport
from bot.screens.learners.labels import completed_title
from bot.screens.learners.labels import day_text
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import menu_button
from catalogue.learners.certificates import Verification
from catalogue.learners.errors import LearnerError
from catalogue.learners.errors import LearnerProblem
from catalogue.learners.tables import PRINTED_NAME_LIMIT
from catalogue.learners.tracks import Rule

PDF_NAME = "certificate-{code}.pdf"


def ask_name(viewer: Viewer) -> View:
    text = _(
        "Which name should be printed on your certificate? Type it (up to {limit} "
        "characters). It is kept only for the certificate; /forget_me deletes it."
    ).format(limit=PRINTED_NAME_LIMIT)
    builder = InlineKeyboardBuilder()
    builder.row(button(_("« Back"), OpenPassport()))
    return View(text, builder.as_markup())


def name_expected() -> str:
    return _("Please type the name to print, as text, or /cancel.")


def certificate_caption(
    viewer: Viewer, verification: Verification, completion_id: int, link: str
) -> View:
    title = completed_title(verification.kind, viewer.t(verification.title))
    text = "📜 " + _("Your certificate: {title}.").format(title=title)
    text += "\n" + _("Anyone can check it with its QR code: it answers valid or revoked.")
    text += "\n" + _("Its link: {link}").format(link=escape(link))
    builder = InlineKeyboardBuilder()
    rename = CertificateButton(completion_id=completion_id, action=CertificateAction.RENAME)
    builder.row(button("✏️ " + _("Print another name"), rename))
    builder.row(button("🎓 " + _("My learning passport"), OpenPassport()), menu_button())
    return View(text, builder.as_markup())


def verification_view(viewer: Viewer, verification: Verification | None) -> View:
    """What anyone who scans a certificate's QR learns, and nothing about its holder."""
    if verification is None:
        text = (
            "❌ <b>"
            + _("Not a valid certificate")
            + "</b>\n"
            + _("No certificate has this code: it is mistyped, or the certificate is forged.")
        )
        return View(text, InlineKeyboardBuilder().row(menu_button()).as_markup())
    title = completed_title(verification.kind, viewer.t(verification.title))
    if verification.valid:
        lines = ["✅ <b>" + _("Valid certificate") + "</b>"]
    else:
        lines = ["⛔ <b>" + _("Revoked certificate") + "</b>"]
    lines.append(
        _("Completed {title} on {day}.").format(
            title=title, day=day_text(verification.completed_at, viewer)
        )
    )
    lines.append(_("Issued on {day}.").format(day=day_text(verification.issued_at, viewer)))
    if verification.revoked_at is not None:
        lines.append(
            _("Revoked by the city on {day}.").format(day=day_text(verification.revoked_at, viewer))
        )
    return View("\n".join(lines), InlineKeyboardBuilder().row(menu_button()).as_markup())


def revoke_usage() -> str:
    return _("Usage: /revoke CODE — the code printed on the certificate (or the link of its QR).")


def revoked(viewer: Viewer, verification: Verification) -> str:
    title = completed_title(verification.kind, viewer.t(verification.title))
    return _("Certificate {code} ({title}) is revoked: its QR now answers “revoked”.").format(
        code=verification.code, title=title
    )


def _rule_line(viewer: Viewer, rule: Rule, reference: str) -> str:
    title = completed_title(rule.kind, viewer.t(rule.title))
    if not rule.completable:
        return "• " + _("{title} ({reference}): no steps yet").format(
            title=title, reference=reference
        )
    required = [str(rule.steps.index(offer) + 1) for offer in rule.steps if offer in rule.required]
    text = _("{title} ({reference}): steps needed: {count} of {total}").format(
        title=title, reference=reference, count=rule.min_steps, total=len(rule.steps)
    )
    if required and len(required) < len(rule.steps):
        text += ", " + _("steps {numbers} among them").format(numbers=", ".join(required))
    if not rule.custom:
        text += " " + _("(the default)")
    return "• " + text


def rules_view(viewer: Viewer, rules: list[tuple[Rule, str]]) -> str:
    lines = ["<b>" + _("What completes a track or festival") + "</b>"]
    lines += [_rule_line(viewer, rule, reference) for rule, reference in rules]
    lines += ["", rule_usage()]
    return "\n".join(lines)


def rule_usage() -> str:
    return _(
        "Set a rule: /completion track ID N [STEPS] — N steps in all, the steps numbered "
        "STEPS (e.g. 1,3) among them; /completion festival ID N — N events of the festival; "
        "/completion track ID default — back to the default."
    )


def rule_saved(viewer: Viewer, rule: Rule, reference: str, completed: int) -> str:
    text = _("Saved.") + "\n" + _rule_line(viewer, rule, reference)
    text += "\n" + _("Completed so far: {count}.").format(count=completed)
    return text


def learner_problem(error: LearnerError) -> str:
    texts = {
        LearnerProblem.RULE_USAGE: rule_usage(),
        LearnerProblem.UNKNOWN_TRACK: _("No track with this id. /completion lists them."),
        LearnerProblem.UNKNOWN_FESTIVAL: _("No festival with this id. /completion lists them."),
        LearnerProblem.NOT_A_STEP: _("The track has no step with this number."),
        LearnerProblem.TOO_MANY_STEPS: _(
            "The number of steps must be at least 1 and at most the steps there are."
        ),
        LearnerProblem.NOT_COMPLETED: _("This is not something you have completed."),
        LearnerProblem.BAD_NAME: _(
            "The name must be text of 1 to {limit} characters. Please type it again."
        ).format(limit=PRINTED_NAME_LIMIT),
        LearnerProblem.REVOKED: _("This certificate was revoked by the city."),
        LearnerProblem.UNKNOWN_CERTIFICATE: _("No certificate has this code."),
    }
    return texts[error.problem]
