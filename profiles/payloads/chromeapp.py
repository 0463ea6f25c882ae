"""A Chrome app or extension for Chromebooks (``org.flokk.chromeapp``), one payload per app.

The instance is the app's Chrome Web Store id (32 letters a-p), so a
school can force-install, allow or block exactly that app and a lock on
``chromeapp:<id>`` keeps it so everywhere. Apple devices leave it out.
"""

import re
from pathlib import Path

from profiles.payloads.base import PayloadKind

_WEB_STORE_ID = re.compile(r"[a-p]{32}")


def _web_store_id(instance: str) -> str | None:
    if _WEB_STORE_ID.fullmatch(instance):
        return None
    return "name a Chrome app by its Chrome Web Store id: 32 letters a to p, e.g. chromeapp:mkaakpdehdafacodkgkpghoibnmamcme"


KIND = PayloadKind(
    payload_type="org.flokk.chromeapp",
    alias="chromeapp",
    title="Chrome app or extension",
    repeatable=True,
    check_instance=_web_store_id,
    schema_file=Path(__file__).with_name("chromeapp.yaml"),
)
