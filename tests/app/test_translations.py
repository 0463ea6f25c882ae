"""Every dashboard message has a Norwegian Bokmål translation, and the compiled catalogue is current."""

from pathlib import Path

from babel.messages.mofile import read_mo

from scripts.translations_nb import NB, messages

ROOT = Path(__file__).parents[2]


def test_every_message_is_translated_and_compiled():
    found = messages(ROOT)
    assert set(found) <= set(NB), f"untranslated: {sorted(set(found) - set(NB))} (add to scripts/translations_nb.py)"
    with (ROOT / "app/translations/nb/LC_MESSAGES/messages.mo").open("rb") as handle:
        compiled = {message.id: message.string for message in read_mo(handle) if message.id}
    assert compiled == {message: NB[message] for message in found}, "run: python scripts/translations_nb.py"
