"""Secrets are masked where they are values, never by replacing their letters everywhere."""

from __future__ import annotations

from echoarb.redact import mask_url, scrub_text


def test_one_letter_password_masks_only_the_value() -> None:
    text = "ClickHouse server unreachable at http://u:p@127.0.0.1:1/db: connection refused (http pool)"
    assert scrub_text(text, "p") == (
        "ClickHouse server unreachable at http://u:***@127.0.0.1:1/db: connection refused (http pool)"
    )


def test_password_in_key_value_forms() -> None:
    assert scrub_text("password=hunter2 user=x", "hunter2") == "password=*** user=x"
    assert scrub_text('{"password": "ab"}', "ab") == '{"password": "***"}'
    assert scrub_text("PASSWD: ab, about", "ab") == "PASSWD: ***, about"


def test_a_long_secret_is_masked_as_a_bare_token_but_not_inside_words() -> None:
    assert scrub_text("auth failed for s3cr3t!", "s3cr3t") == "auth failed for ***!"
    assert scrub_text("xs3cr3tx stays", "s3cr3t") == "xs3cr3tx stays"


def test_percent_encoded_password() -> None:
    assert scrub_text("http://alice:s3cr%40t@ch:8123/", "s3cr%40t") == "http://alice:***@ch:8123/"
    assert scrub_text("http://alice:s3cr%40t@ch:8123/", "s3cr@t") == "http://alice:***@ch:8123/"


def test_no_secret_no_change() -> None:
    assert scrub_text("http://u:p@h/", None) == "http://u:p@h/"
    assert mask_url("http://u:p@h:1/db") == "http://u:***@h:1/db"
