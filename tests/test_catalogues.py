"""The translation catalogues are complete and up to date, and every string a
person reads is marked for translation, in templates and in Python.

Part of `make test` (and `make test` runs `scripts/catalogues.py check` too):
a string added in English and not translated, a fuzzy entry, or a string not
marked fails the suite.
"""

import ast
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import catalogues  # noqa: E402

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
TEMPLATES = sorted(
    path for path in (ROOT / "templates").rglob("*") if path.suffix in (".html", ".txt") and path.is_file()
)
# Names that are the same in every language. Text in <code> (a command to
# type) is not translated either.
UNTRANSLATED_WORDS = {"WhatsApp", "X", "Facebook", "PDF", "CSV"}
# Attributes whose text a person reads or hears.
READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "value"}
# Python code whose strings a person reads: forms, views, emails, staff tools, services' messages.
PYTHON_SOURCES = sorted(
    [ROOT / "petitions" / name for name in ("forms.py", "views.py", "emails.py")]
    + list((ROOT / "petitions" / "admin").glob("*.py"))
)
READ_KEYWORDS = {"label", "help_text", "description", "verbose_name", "verbose_name_plural", "empty_value_display"}


class _Text(HTMLParser):
    """The text of an HTML fragment a person reads: its text and read attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):
            self._skip += 1
        self.found.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.found.append(data)


def _words(text):
    return [word for word in re.findall(r"[^\W\d_]{2,}", text) if word not in UNTRANSLATED_WORDS]


def unmarked_in_template(source):
    """Literal words of a template outside translation tags (comments, template
    variables and tags aside)."""
    in_comment = 0
    pieces = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            # Text inside {% blocktranslate %} is marked; inside {% comment %}, not shown.
            in_comment += name in ("comment", "blocktranslate", "blocktrans")
            in_comment -= name in ("endcomment", "endblocktranslate", "endblocktrans")
            # Inside a tag's markup, a variable or tag stands for a value.
            pieces.append(" ")
        elif token.token_type == TokenType.VAR:
            pieces.append("0")
        elif token.token_type == TokenType.TEXT and not in_comment:
            pieces.append(token.contents)
    parser = _Text()
    parser.feed("".join(pieces))
    parser.close()
    return [word for text in parser.found for word in _words(text)]


class CataloguesTests:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_it_has_a_complete_catalogue_for_each_language(self, language):
        po_path = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
        assert po_path.exists()
        assert catalogues.problems(po_path) == []
        assert len(polib.pofile(str(po_path)).translated_entries()) > 150

    def test_it_finds_a_missing_translation(self, tmp_path):
        po_path = tmp_path / "django.po"
        catalogue = polib.POFile()
        catalogue.append(polib.POEntry(msgid="Sign the petition", msgstr="Signez la pétition"))
        catalogue.append(polib.POEntry(msgid="Background", msgstr=""))
        catalogue.append(polib.POEntry(msgid="Source:", msgstr="Source :", flags=["fuzzy"]))
        catalogue.save(str(po_path))
        assert catalogues.problems(po_path) == ["untranslated: 'Background'", "fuzzy: 'Source:'"]

    def test_it_has_every_marked_string_in_the_catalogues(self, tmp_path):
        """makemessages run on a copy of the code adds nothing the catalogues lack."""
        if shutil.which("xgettext") is None:
            pytest.fail("GNU gettext (xgettext) is needed to extract strings: apt-get install gettext")
        copy = tmp_path / "project"
        for name in ("campaign", "petitions", "templates", "locale"):
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        shutil.copy(ROOT / "manage.py", copy / "manage.py")
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", *[f"-l{code}" for code in LANGUAGES], "--no-location",
             "--no-obsolete"],
            cwd=copy, check=True, capture_output=True,
            env={"PATH": "/usr/bin:/bin", "SECRET_KEY": settings.SECRET_KEY, "VAR_DIR": str(tmp_path / "var"),
                 "PYTHONPATH": str(copy)},
        )
        for language in LANGUAGES:
            relative = Path(language) / "LC_MESSAGES" / "django.po"
            ours = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(ROOT / "locale" / relative))}
            extracted = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(copy / "locale" / relative))}
            assert sorted(extracted - ours, key=str) == [], f"strings not in locale/{relative}"

    @pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
    def test_it_marks_every_string_in_templates(self, path):
        assert unmarked_in_template(path.read_text()) == []

    def test_it_finds_an_unmarked_string_in_a_template(self):
        source = '{% load i18n %}<p>{% translate "Signed" %}</p><p title="Hello there">Not marked</p>{{ name }}'
        assert unmarked_in_template(source) == ["Hello", "there", "Not", "marked"]

    @pytest.mark.parametrize("path", PYTHON_SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
    def test_it_marks_every_string_people_read_in_python(self, path):
        assert unmarked_in_python(path.read_text()) == []

    def test_it_finds_an_unmarked_string_in_python(self):
        source = (
            'from django import forms\n'
            'a = forms.CharField(label="Name", help_text=_("Marked"))\n'
            'raise forms.ValidationError("Bad")\n'
            'self.message_user(request, f"{n} done")\n'
        )
        assert unmarked_in_python(source) == ["label='Name'", "ValidationError('Bad')", "message_user(f-string)"]


def _plain_text(node):
    """A literal string or f-string not passed through a translation function."""
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(_words(node.value))
    )


def unmarked_in_python(source):
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in READ_KEYWORDS and _plain_text(keyword.value):
                found.append(f"{keyword.arg}={ast.unparse(keyword.value)}")
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name == "ValidationError" and node.args and _plain_text(node.args[0]):
            found.append(f"ValidationError({ast.unparse(node.args[0])})")
        if name == "message_user" and len(node.args) > 1 and _plain_text(node.args[1]):
            shown = "f-string" if isinstance(node.args[1], ast.JoinedStr) else ast.unparse(node.args[1])
            found.append(f"message_user({shown})")
    return found
