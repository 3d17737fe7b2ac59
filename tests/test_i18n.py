"""Two languages: the browser's choice, the visitor's switch, and complete catalogues."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from giving.i18n import format_money

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "giving" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_language_follows_accept_language(client: FlaskClient) -> None:
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert 'lang="zh-Hans"' in zh.get_data(as_text=True)
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in en.get_data(as_text=True)
    unknown = client.get("/", headers={"Accept-Language": "fr-FR"})
    assert 'lang="en"' in unknown.get_data(as_text=True)


def test_the_switch_overrides_the_browser_and_sticks(client: FlaskClient) -> None:
    response = client.get("/language/zh_Hans_CN?next=/account/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    page = client.get("/account/login", headers={"Accept-Language": "en"})
    assert 'lang="zh-Hans"' in page.get_data(as_text=True)
    client.get("/language/en?next=/")
    page = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert 'lang="en"' in page.get_data(as_text=True)


def test_the_switch_ignores_unknown_languages_and_foreign_redirects(client: FlaskClient) -> None:
    response = client.get("/language/xx?next=https://evil.example/")
    assert response.headers["Location"] == "/"
    assert "giving_lang" not in response.headers.get("Set-Cookie", "")


def test_money_is_formatted_for_the_visitor(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert format_money(125050, "CNY") == "CN¥1,250.50"
        assert format_money(1999, "USD") == "$19.99"
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert format_money(125050, "CNY") == "¥1,250.50"
        assert format_money(1999, "USD") == "US$19.99"


def test_chinese_pages_are_translated(client: FlaskClient) -> None:
    body = client.get("/account/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "登录" in body


def test_every_catalogue_string_has_a_chinese_translation(tmp_path: Path) -> None:
    """Extract the strings the code uses now and require a Chinese msgstr for each."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "giving",
            "templates",
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    with pot.open("rb") as f:
        template = read_po(f)
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="zh_Hans_CN")
    assert len(template) > 50, "extraction found too few strings; is babel.cfg right?"
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id)
        if translated is None or not translated.string or translated.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
        elif isinstance(translated.string, tuple) and not all(translated.string):
            missing.append(message.id[0])
    assert not missing, f"{len(missing)} strings lack a Chinese translation: {missing[:20]}"


def test_service_errors_reach_chinese_visitors_in_chinese(client: FlaskClient) -> None:
    # The service, not the form, refuses a password that is the email address.
    form = {
        "display_name": "李伟",
        "email": "li.wei@example.org",
        "password": "li.wei@example.org",
        "confirm": "li.wei@example.org",
    }
    again = client.post("/account/register", data=form, headers={"Accept-Language": "zh-CN"})
    assert again.status_code == 400
    assert "密码不能与电子邮箱地址相同" in again.get_data(as_text=True)
