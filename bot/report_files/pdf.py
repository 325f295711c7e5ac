"""The GNLC pack as one printable PDF (A4), laid out with fpdf2.

fpdf2 is pure Python and needs no system library (WeasyPrint needs Pango and cairo), so the
README's two commands still install everything. The text is set in DejaVu Sans, the TrueType
font matplotlib ships, which covers Latin and Cyrillic: no font to install either. fpdf2
embeds the subset used with its Unicode map, so the text can be searched and read back.

This module lays out a `PdfDocument` already written in the reader's language
(bot/report_files/gnlc.py writes it); it knows nothing of the figures.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

FONT = "DejaVu"
MARGIN = 18  # mm
TEXT_SIZE = 10
HEADING_SIZE = 14
TITLE_SIZE = 17
CHART_WIDTH = 150  # mm, of A4's 210
PAGE_BOTTOM = 297 - MARGIN


@dataclass(frozen=True)
class PdfTable:
    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    chart_png: bytes | None = None
    note: str = ""  # e.g. why a table is empty, or how it was grouped


@dataclass(frozen=True)
class PdfSection:
    heading: str
    tables: tuple[PdfTable, ...]


@dataclass(frozen=True)
class PdfDocument:
    title: str
    subtitle: str
    notes: tuple[str, ...]  # under the title: when made, demo data, how people are protected
    sections: tuple[PdfSection, ...]
    page_label: str  # "Page {page} of {pages}" in the reader's language
    definitions_heading: str = ""
    definitions: tuple[str, ...] = field(default_factory=tuple)


def _font_folder() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def render_pdf(document: PdfDocument) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos
    from fpdf.enums import YPos

    class Printed(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=8)
            self.set_text_color(110)
            label = document.page_label.format(page=self.page_no(), pages="{nb}")
            self.cell(0, 6, label, align="C")

    pdf = Printed(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(document.title)
    pdf.set_creator("learncity")
    fonts = _font_folder()
    pdf.add_font(FONT, "", fonts / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    def paragraph(text: str, size: int = TEXT_SIZE, style: str = "", height: float = 5) -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(width, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    paragraph(document.title, TITLE_SIZE, "B", 9)
    paragraph(document.subtitle, HEADING_SIZE, "", 7)
    pdf.ln(2)
    pdf.set_text_color(70)
    for note in document.notes:
        paragraph(note)
    pdf.set_text_color(0)
    for section in document.sections:
        pdf.ln(4)
        paragraph(section.heading, HEADING_SIZE + 2, "B", 8)
        for table in section.tables:
            _table(pdf, table, width, paragraph)
    if document.definitions:
        pdf.add_page()
        paragraph(document.definitions_heading, HEADING_SIZE + 2, "B", 8)
        for definition in document.definitions:
            paragraph("• " + definition)
            pdf.ln(1)
    return bytes(pdf.output())


def _table(pdf, table: PdfTable, width: float, paragraph) -> None:
    # A heading is not left alone at the foot of a page.
    if pdf.get_y() > PAGE_BOTTOM - 40:
        pdf.add_page()
    pdf.ln(3)
    paragraph(table.heading, HEADING_SIZE - 2, "B", 7)
    if table.note:
        pdf.set_text_color(90)
        paragraph(table.note, TEXT_SIZE - 1)
        pdf.set_text_color(0)
    if table.rows:
        pdf.set_font(FONT, "", TEXT_SIZE)
        first = width - 32 * (len(table.columns) - 1)
        widths = (first, *([32] * (len(table.columns) - 1)))
        aligns = ("LEFT", *(["RIGHT"] * (len(table.columns) - 1)))
        with pdf.table(
            col_widths=widths,
            width=width,
            text_align=aligns,
            line_height=5.5,
            first_row_as_headings=True,
            headings_style=_headings_style(),
            borders_layout="HORIZONTAL_LINES",
        ) as grid:
            for cells in (table.columns, *table.rows):
                row = grid.row()
                for cell in cells:
                    row.cell(cell)
    if table.chart_png is not None:
        pdf.ln(2)
        chart_height = CHART_WIDTH * 4.2 / 8.0
        if pdf.get_y() + chart_height > PAGE_BOTTOM:
            pdf.add_page()
        pdf.image(io.BytesIO(table.chart_png), x=(pdf.w - CHART_WIDTH) / 2, w=CHART_WIDTH)


def _headings_style():
    from fpdf.fonts import FontFace

    return FontFace(family=FONT, emphasis="BOLD", fill_color=(230, 236, 245))
