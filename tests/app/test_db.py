from app.config import Settings
from app.db import Database


def test_the_sqlite_folder_is_created_when_missing(tmp_path):
    folder = tmp_path / "not" / "yet"
    settings = Settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'flokk.sqlite3'}", public_url="https://x.test", secret_key="k" * 40
    )
    database = Database(settings)
    assert database.ping()
    assert (folder / "flokk.sqlite3").exists()
    database.dispose()
