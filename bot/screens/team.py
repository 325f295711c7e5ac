"""Screens of the team's management: the team list, a fresh invitation, removing someone."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import formatting
from bot.callbacks.team import NewInvite
from bot.callbacks.team import RemoveMember
from bot.callbacks.team import RevokeInvite
from bot.callbacks.team import ShowTeam
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import pager
from catalogue.team import INVITABLE_ROLES
from catalogue.team import InviteProblem
from catalogue.team import Role
from catalogue.team import TeamInvite
from catalogue.team import TeamMember
from catalogue.team import TeamPage

ROLE_LABELS = dict(
    zip(
        (Role.ADMIN, Role.ORGANISER, Role.VOLUNTEER, Role.RESIDENT),
        (__("administrator"), __("organiser"), __("volunteer"), __("resident")),
        strict=True,
    )
)
INVITE_BUTTONS = {
    Role.ORGANISER: __("Invite an organiser"),
    Role.VOLUNTEER: __("Invite a volunteer"),
}


# Administrators named on the first page; any more (a long ADMIN_IDS) are counted.
ADMINS_SHOWN = 20


def role_label(role: Role) -> str:
    return str(ROLE_LABELS[role])


def mention(telegram_id: int, name: str = "") -> str:
    return f'<a href="tg://user?id={telegram_id}">{escape(name or str(telegram_id))}</a>'


def team(viewer: Viewer, people: TeamPage) -> View:
    """One page of the team: administrators on the first, then members and open invitations,
    each with its button, and ‹ n / m › between pages."""
    lines = ["👥 <b>" + _("The festival team") + "</b>"]
    lines.append(
        _("Members: {members} · open invitations: {invites}").format(
            members=people.member_count, invites=people.invite_count
        )
    )
    lines.append("")
    if people.page == 0:
        shown = people.admins[:ADMINS_SHOWN]
        lines += [f"• {mention(admin_id)} — {role_label(Role.ADMIN)}" for admin_id in shown]
        if len(people.admins) > len(shown):
            lines.append(
                "• "
                + _("and {count} more (ADMIN_IDS)").format(count=len(people.admins) - len(shown))
            )
    builder = InlineKeyboardBuilder()
    for member in people.members:
        lines.append(
            f"• {mention(member.telegram_id, member.display_name)} — {role_label(member.role)}"
        )
        builder.row(
            button(
                "✖️ " + _("Remove {name}").format(name=member.display_name or member.telegram_id),
                RemoveMember(telegram_id=member.telegram_id, page=people.page),
            )
        )
    if not people.member_count:
        lines.append(_("No organisers or volunteers yet: invite them with the buttons below."))
    if people.invites:
        lines += ["", "✉️ <b>" + _("Open invitations") + "</b>"]
    for invite in people.invites:
        until = formatting.short_when(invite.expires_at, viewer.zone, viewer.locale)
        described = _("{role}, valid until {until}").format(
            role=role_label(invite.role), until=until
        )
        lines.append("• " + described)
        builder.row(
            button(
                "🚫 " + _("Revoke: {invitation}").format(invitation=described),
                RevokeInvite(invite_id=invite.id, page=people.page),
            )
        )
    if people.pages > 1:
        builder.row(*pager(people.page, people.pages, lambda page: ShowTeam(page=page)))
    builder.row(
        *(
            button("➕ " + str(INVITE_BUTTONS[role]), NewInvite(role=role))
            for role in INVITABLE_ROLES
        )
    )
    return View("\n".join(lines), builder.as_markup())


def invite_created(viewer: Viewer, invite: TeamInvite, link: str) -> View:
    until = formatting.short_when(invite.expires_at, viewer.zone, viewer.locale)
    text = "\n".join(
        [
            "✉️ <b>"
            + _("Invitation for a new {role}").format(role=role_label(invite.role))
            + "</b>",
            "",
            _("Send this link to the person. It works once, until {until}:").format(until=until),
            escape(link),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(button("🚫 " + _("Revoke this invitation"), RevokeInvite(invite_id=invite.id)))
    builder.row(button("« " + _("Team"), ShowTeam()))
    return View(text, builder.as_markup())


def confirm_removal(member: TeamMember, page: int) -> View:
    text = _("Remove {name} ({role}) from the team? Their role ends at once.").format(
        name=mention(member.telegram_id, member.display_name), role=role_label(member.role)
    )
    builder = InlineKeyboardBuilder()
    builder.row(
        button(
            "✖️ " + _("Yes, remove"),
            RemoveMember(telegram_id=member.telegram_id, confirmed=True, page=page),
        ),
        button("« " + _("Team"), ShowTeam(page=page)),
    )
    return View(text, builder.as_markup())


def welcome_to_team(role: Role) -> str:
    lines = [
        "🎉 " + _("Welcome to the festival team! Your role: {role}.").format(role=role_label(role))
    ]
    if role is Role.ORGANISER:
        lines.append(
            _(
                "Manage the programme with /programme, import files with /import and "
                "announce with /broadcast."
            )
        )
    elif role is Role.VOLUNTEER:
        lines.append(_("The organisers will tell you where you are needed."))
    return "\n".join(lines)


INVITE_PROBLEMS = {
    InviteProblem.UNKNOWN: __("This invitation link is not valid."),
    InviteProblem.USED: __("This invitation has already been used."),
    InviteProblem.EXPIRED: __("This invitation has expired."),
    InviteProblem.REVOKED: __("This invitation was withdrawn."),
}


def invite_problem(problem: InviteProblem) -> str:
    return (
        str(INVITE_PROBLEMS[problem])
        + "\n"
        + _("Please ask the festival administrator for a new link.")
    )


def already_admin() -> str:
    return _(
        "You are an administrator already, so this link was not used: send it to the person "
        "it is meant for."
    )
