from pathlib import Path

from tongxin.settings import Settings

DOCS = Path(__file__).resolve().parents[3] / "docs" / "settings.md"


def test_every_setting_is_documented_in_docs_settings_md():
    text = DOCS.read_text(encoding="utf-8")
    missing = [
        f"TONGXIN_{name.upper()}"
        for name in Settings.model_fields
        if f"`TONGXIN_{name.upper()}`" not in text
    ]
    assert missing == []


def test_settings_come_from_the_tongxin_environment_prefix(monkeypatch):
    monkeypatch.setenv("TONGXIN_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("TONGXIN_ELDERLY_AGE", "65")
    s = Settings()
    assert s.database_url == "postgresql://u@h/db"
    assert s.elderly_age == 65
    assert s.sqlite_path() is None


def test_default_database_is_sqlite_under_var(monkeypatch):
    monkeypatch.delenv("TONGXIN_DATABASE_URL", raising=False)
    s = Settings()
    assert s.database_url == "sqlite:///var/tongxin.db"
    assert s.sqlite_path() == Path("var/tongxin.db")
