"""Connection URLs in messages: driver, host, port and database only; no secret survives a driver's message."""

from __future__ import annotations

import pytest

from connectors.sql import mask_url, scrub
from pipelines.settings import Settings

URLS = [
    "postgresql://ssj:s3cr3t-Pw@db.example:5432/ssj",
    "postgresql+psycopg://ssj@db.example/ssj?password=s3cr3t-Pw",
    "mysql+pymysql://root:p%40ss%2Fw0rd@127.0.0.1:3306/test?charset=utf8mb4",
    "postgresql://db.example/ssj?sslmode=verify-full&sslpassword=s3cr3t-Pw&sslkey=/keys/s3cr3t-Pw.key",
    "mssql+pyodbc://u:pw-of-u@dsn?token=tok-9a8b7c6d&odbc_connect=x",
]
SECRETS = ["s3cr3t-Pw", "p%40ss%2Fw0rd", "p@ss/w0rd", "pw-of-u", "tok-9a8b7c6d"]


@pytest.mark.parametrize("url", URLS)
def test_mask_url_shows_only_driver_host_port_and_database(url):
    shown = mask_url(url)
    assert not any(s in shown for s in SECRETS)
    assert "?" not in shown and "@" not in shown
    assert shown.split("://")[0] == url.split("://")[0]


def test_mask_url_keeps_what_locates_the_database():
    assert mask_url("postgresql://ssj:x@db.example:5432/ssj?password=y") == "postgresql://db.example:5432/ssj"
    assert mask_url("not a url at all: password=y") == "<unparseable database URL>"


@pytest.mark.parametrize("url", URLS)
def test_scrub_removes_every_secret_from_a_driver_message(url):
    message = (f'connection to "{url}" failed: FATAL: password authentication failed; '
               f"dsn={url.split('://', 1)[1]}; password=p@ss/w0rd s3cr3t-Pw tok-9a8b7c6d pw-of-u p%40ss%2Fw0rd")
    cleaned = scrub(message, url)
    for secret in SECRETS:
        if secret in url or secret == "p@ss/w0rd" and "p%40ss" in url:
            assert secret not in cleaned, (secret, cleaned)
    assert url not in cleaned


def test_settings_never_show_the_target_url():
    settings = Settings.from_env({"SSJ_TARGET_URL": URLS[0], "SSJ_AS_OF": "2026-01-01"})
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings)
