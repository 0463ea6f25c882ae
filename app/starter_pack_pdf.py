"""The starter pack as a PDF (fpdf2): a welcome letter and guide for a school's ICT contact.

Drawn on the server, nothing fetched: the text in the dashboard's language (the same catalogue as
the page), the enrollment link's QR code drawn as vector squares (sharp at any print size), and
the system's DejaVu Sans when installed (every Norwegian and Sámi letter); without it the PDF
core font, where a letter outside Latin-1 prints as "?".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app import qr
from app.services.starter_pack import StarterPack

TRANSLATIONS = Path(__file__).parent / "translations"
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
LANGUAGES = ("nb", "en")

Translate = Callable[..., str]


def translator(language: str) -> Translate:
    """``_("text %(name)s", name=...)`` in ``language`` (English is the catalogue's own text)."""
    catalogue = (Translations.load(str(TRANSLATIONS), [language]) if language != "en" else NullTranslations())

    def translate(message: str, **values: Any) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return translate


def _font_files() -> tuple[Path, Path] | None:
    for folder in FONT_FOLDERS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer_text
        fonts = _font_files()
        if fonts is not None:
            self.add_font("Body", "", str(fonts[0]))
            self.add_font("Body", "B", str(fonts[1]))
            self.family, self.unicode = "Body", True
        else:
            self.family, self.unicode = "Helvetica", False
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)

    def text_of(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(self.family, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, self.text_of(f"{self.footer_text} · {self.page_no()}"), align="C")
        self.set_text_color(0)

    def heading(self, text: str, size: float = 13) -> None:
        self.ln(2)
        self.set_font(self.family, "B", size)
        self.multi_cell(0, size * 0.5, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, size: float = 10.5) -> None:
        self.set_font(self.family, "", size)
        self.multi_cell(0, size * 0.48, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def items(self, texts: list[str], *, numbered: bool = False) -> None:
        self.set_font(self.family, "", 10.5)
        for number, text in enumerate(texts, 1):
            mark = f"{number}." if numbered else "•"
            self.cell(7, 5, self.text_of(mark))
            self.multi_cell(0, 5, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)
        self.ln(1)

    def one_line(self, text: str, *, largest: float = 11, smallest: float = 6) -> None:
        """A text that must not break (a URL someone may type): the largest size that fits the line."""
        size = largest
        self.set_font(self.family, "", size)
        while size > smallest and self.get_string_width(text) > self.epw:
            size -= 0.5
            self.set_font(self.family, "", size)
        self.cell(0, size * 0.5, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def qr_code(self, url: str, *, x: float, y: float, size: float) -> None:
        """The QR code as filled squares, with its quiet zone (4 modules) inside ``size``."""
        rows = qr.modules(url)
        count = len(rows) + 8
        module = size / count
        self.set_fill_color(255)
        self.rect(x, y, size, size, style="F")
        self.set_fill_color(0)
        for row_number, row in enumerate(rows):
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < len(row) and row[column]:
                    column += 1
                # One rectangle per run of dark modules: a smaller file, no hairlines between squares.
                self.rect(x + (start + 4) * module, y + (row_number + 4) * module, (column - start) * module, module, style="F")


def value_in_words(value: Any, _: Translate) -> str:
    from profiles.model import LOCK_ONLY, REMOVED

    if value is REMOVED:
        return _("removed at every school")
    if value is LOCK_ONLY:
        return _("locked as central IT set it")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return ", ".join(value_in_words(item, _) for item in value) or _("none")
    if isinstance(value, dict):
        return _("set by central IT")
    return str(value)


def render(pack: StarterPack, language: str, *, today: dt.date | None = None) -> bytes:
    """The pack as PDF bytes in ``language`` (``nb`` or ``en``)."""
    _ = translator(language)
    day = today or dt.date.today()
    pdf = _Document(_("Starter pack for %(school)s", school=pack.school_name) + f" · {day.isoformat()}")
    pdf.set_title(_("Starter pack for %(school)s", school=pack.school_name))
    pdf.set_author("Flokk")
    pdf.set_creator("Flokk")
    pdf.add_page()

    pdf.heading(_("Welcome to Flokk, %(school)s", school=pack.school_name), size=18)
    pdf.paragraph(_("Flokk is where your school's iPads are managed. Central IT keeps security and the shared settings in order; you, as the school's ICT contact, look after your own school's iPads: which class they belong to, new iPads, and help when one is lost. You do not need to know how the technology behind it works. This pack tells you what you need for the first weeks."))
    if pack.central_it_contact:
        pdf.set_font(pdf.family, "B", 10.5)
        pdf.multi_cell(0, 5, pdf.text_of(_("Your contact at central IT: %(contact)s", contact=pack.central_it_contact)),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)

    pdf.heading("1. " + _("Sign in"))
    sign_in = _("Open %(url)s in a browser.", url=pack.dashboard_url)
    if pack.sso:
        sign_in += " " + _("Sign in with %(providers)s, the same login as for your other school services.",
                           providers=_(" or ").join(pack.sso))
    sign_in += " " + _("Central IT can also give you a one-time password for your e-mail address; you choose your own password at the first sign-in.")
    pdf.paragraph(sign_in)

    pdf.heading("2. " + _("What you can do"))
    pdf.items([
        _("See your school's iPads: model, iPadOS version, battery, storage, installed apps and profiles."),
        _("Create classes, year groups and carts, and move iPads into them."),
        _("Send everyday commands: lock the screen with a message, turn on Lost Mode, restart, refresh the information."),
        _("Change your school's and classes' settings (Wi-Fi, passcode length, web clips ...) where central IT has not locked them."),
        _("Ask for an erase, or for an iPad to be removed from Flokk: a central admin approves it first (a request waits for %(hours)s hours). So does a command to more than %(count)s iPads at once.",
          hours=pack.approval_hours, count=pack.bulk_threshold),
    ])
    pdf.paragraph(_("You only see your own school. Everything you do is written to the audit log with your name."))

    pdf.heading("3. " + _("Enrol an iPad"))
    if pack.enrollment_url:
        size = 48
        if pdf.get_y() + size + 20 > pdf.h - pdf.b_margin:
            pdf.add_page()
        top = pdf.get_y()
        pdf.qr_code(pack.enrollment_url, x=pdf.l_margin, y=top, size=size)
        pdf.set_xy(pdf.l_margin + size + 6, top + 2)
        pdf.set_font(pdf.family, "", 10.5)
        pdf.multi_cell(pdf.epw - size - 6, 5, pdf.text_of(
            _("Point the iPad camera at the code, or open the address below in Safari on the iPad.")
            + (" " + _("Enrollment link: %(label)s", label=pack.enrollment_label) if pack.enrollment_label else "")),
            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(top + size + 2)
        pdf.one_line(pack.enrollment_url)
        pdf.ln(2)
        steps = [
            _("Open Settings → Profile Downloaded and install the profile. The iPad joins %(school)s and gets its settings by itself within a few minutes.", school=pack.school_name),
            _("Move the iPad into its class on its page in Flokk; the class's settings follow."),
        ]
    else:
        steps = [
            _("In Flokk, open Enrollment and create an enrollment link for %(school)s (give it a label, for example the cart it is for, and an expiry).", school=pack.school_name),
            _("On the iPad, open the link in Safari and allow the download."),
            _("Open Settings → Profile Downloaded and install the profile. The iPad joins %(school)s and gets its settings by itself within a few minutes.", school=pack.school_name),
            _("Move the iPad into its class on its page in Flokk; the class's settings follow."),
        ]
    pdf.items(steps, numbered=True)
    pdf.paragraph(_("Treat an enrollment link like a key: anyone who has it can enrol an iPad into your school until it expires or you revoke it."))

    pdf.heading("4. " + _("What central IT has locked"))
    if pack.locked:
        pdf.paragraph(_("These settings are the same at every school; you will see them, but cannot change them. Ask central IT if one of them stands in your way."))
        pdf.items([
            (f"{setting.payload}: {setting.key}" if setting.key else setting.payload) + f" — {value_in_words(setting.value, _)}"
            for setting in pack.locked
        ])
    else:
        pdf.paragraph(_("Nothing is locked yet: every shared setting can be adjusted for your school."))

    pdf.heading("5. " + _("When an iPad is lost"))
    pdf.paragraph(_("Lock it with a message and a phone number on the screen, or turn on Lost Mode (supervised iPads). If it is not found, ask for an erase with a short reason; central IT approves it and Flokk sends it the next time the iPad is online."))
    return bytes(pdf.output())
