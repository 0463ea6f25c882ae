"""The starter pack a new school's ICT contact gets: a welcome letter and the guides for their first weeks.

One printable page per school, in Norwegian or English, and the same as a PDF with the school's
enrollment link as a QR code; written from what Flokk knows about the school
(``app.services.starter_pack``): where to sign in, who to call at central IT, what the role may do,
how to enrol iPads, and which settings central IT has locked (read live from the policy, so the pack
never goes stale).
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import get_locale, gettext

from app import qr, starter_pack_pdf
from app.http import db_session, settings
from app.http.rules import current_principal, requires
from app.http.dashboard import blueprint
from app.schemas import load
from app.schemas.schools import StarterPackQuery
from app.services import starter_pack as pack_content
from app.services.access import Permission

#: Kept for callers that import it from here.
SIGN_IN_NAMES = pack_content.SIGN_IN_NAMES


@blueprint.get("/schools/<code>/starter-pack")
@requires(Permission.VIEW)
def starter_pack(code: str):
    data = load(StarterPackQuery(), dict(request.args))
    pack = pack_content.gather(db_session(), current_principal(), settings(), code, link_id=data.get("link"))
    return render_template("starter_pack.html", pack=pack, value_in_words=lambda value: starter_pack_pdf.value_in_words(value, gettext),
                           qr_svg=qr.svg(pack.enrollment_url, scale=4).decode() if pack.enrollment_url else None)


@blueprint.get("/schools/<code>/starter-pack.pdf")
@requires(Permission.VIEW)
def starter_pack_pdf_file(code: str):
    """The pack as a PDF in the page's language; ``?link=ID`` chooses the enrollment link it carries."""
    data = load(StarterPackQuery(), dict(request.args))
    pack = pack_content.gather(db_session(), current_principal(), settings(), code, link_id=data.get("link"))
    language = "nb" if str(get_locale()) == "nb" else "en"
    return Response(starter_pack_pdf.render(pack, language), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="flokk-starter-pack-{pack.school_code}.pdf"'})
