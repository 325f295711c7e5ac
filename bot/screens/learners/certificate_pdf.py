"""The certificate as a printable PDF (fpdf2): A4 landscape, in the holder's language.

It holds the name its holder chose, what they completed and when, and a QR code of the
verification link (`/start verify_<code>`) with the link written out beside it. fpdf2 draws
Cyrillic with a Unicode TrueType font: DejaVu Sans, which matplotlib ships (and most Linux
systems have); `font_files` says where it was found.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from datetime import datetime
from pathlib import Path

from aiogram.utils.i18n import gettext as _

from bot.screens.checkin_resident import qr_png
from bot.screens.learners.labels import completed_title
from bot.screens.learners.labels import day_text
from bot.screens.view import Viewer
from catalogue.learners.certificates import Verification
from catalogue.models import translated

SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")


class FontMissing(RuntimeError):
    """No DejaVu Sans to draw the certificate's letters with."""


@functools.cache
def font_files() -> tuple[Path, Path]:
    """(regular, bold) DejaVu Sans: matplotlib's copy, else the system's."""
    places = []
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            places.append(Path(location) / "mpl-data" / "fonts" / "ttf")
    places.append(SYSTEM_FONTS)
    for place in places:
        regular, bold = place / "DejaVuSans.ttf", place / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    raise FontMissing("DejaVuSans.ttf not found (install matplotlib or fonts-dejavu-core)")


def certificate_pdf(
    verification: Verification,
    printed_name: str,
    link: str,
    city: str,
    viewer: Viewer,
    now: datetime,
) -> bytes:
    from fpdf import FPDF

    regular, bold = font_files()
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(_("Certificate"))
    pdf.set_creator(city)
    pdf.set_creation_date(now)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.add_page()
    width = pdf.w - 2 * pdf.l_margin
    # A frame, then the words from top to bottom, centred.
    pdf.set_draw_color(40, 70, 120)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_text_color(20, 30, 60)

    def line(text: str, size: int, style: str = "", gap: float = 4) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(28)
    line(city, 14)
    line(_("Certificate"), 34, "B", 8)
    line(_("This certifies that"), 14)
    line(printed_name, 26, "B", 6)
    title = translated(verification.title, viewer.locale)
    line(_("has completed {what}").format(what=completed_title(verification.kind, title)), 16)
    line(_("on {day}").format(day=day_text(verification.completed_at, viewer)), 14, gap=10)
    # The QR at the bottom left, the way to check it beside it.
    qr_size = 42
    top = pdf.h - 20 - qr_size - 6
    pdf.image(io.BytesIO(qr_png(link)), x=22, y=top, w=qr_size, h=qr_size)
    pdf.set_xy(22 + qr_size + 6, top + 8)
    pdf.set_font("DejaVu", "", 11)
    check = _("Check this certificate: scan the QR code or open {link}").format(link=link)
    pdf.multi_cell(width - qr_size - 20, 6, check, new_x="LEFT", new_y="NEXT")
    pdf.multi_cell(
        width - qr_size - 20,
        6,
        _("Certificate code: {code}").format(code=verification.code),
        new_x="LEFT",
        new_y="NEXT",
    )
    pdf.multi_cell(
        width - qr_size - 20,
        6,
        _("Issued on {day}").format(day=day_text(verification.issued_at, viewer)),
    )
    return bytes(pdf.output())
