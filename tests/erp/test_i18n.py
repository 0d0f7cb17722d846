"""Every text shown to people goes through gettext, and the zh-Hans catalogue translates all of it.

Runs without GNU gettext (tests/erp/i18n_scan.py reads templates with Django's lexer and templatize,
Python with ast, the catalogue with Babel). Each checker is also proven on small files it must pass
and small files it must fail.
"""

from __future__ import annotations

import functools
import gettext
import textwrap

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from erp.catalogue import compile_catalogues
from tests.erp import i18n_scan as scan

SHOWN = 50


@functools.cache
def _project_msgids() -> tuple[list, list]:
    # Scanned once for the module's tests: the scan of every file is the slow part.
    return scan.python_msgids(), scan.template_msgids()


def _listing(findings: list, what: str) -> str:
    lines = [str(f) for f in findings[:SHOWN]]
    more = f"\n… and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
    return f"{len(findings)} {what}:\n" + "\n".join(lines) + more


# ---------------------------------------------------------------- the project


def test_templates_show_no_bare_text():
    # given every template of the project
    # when each is read for text outside {% translate %} / {% blocktranslate %}
    findings = scan.bare_template_text()

    # then there is none
    assert not findings, _listing(findings, "template texts not translated (wrap in {% translate %})")


def test_python_shows_no_unwrapped_text():
    # given the apps' Python
    # when error messages, flash messages, labels and choice labels are read
    findings = scan.unwrapped_python()

    # then each goes through gettext
    assert not findings, _listing(findings, "Python texts shown to people but not in gettext")


def test_every_msgid_is_translated_in_the_zh_hans_catalogue():
    # given every msgid in the Python and the templates
    python, templates = _project_msgids()
    msgids = python + templates

    # when each is looked up in the catalogue
    missing = scan.missing_msgids(msgids, scan.load_catalogue())

    # then each has a translation that is not fuzzy
    assert not missing, _listing(
        [f"{m.where}: {m.msgid!r}" + (f" (context {m.context!r})" if m.context else "") for m in missing],
        "msgids without a zh-Hans translation in locale/zh_Hans/LC_MESSAGES/django.po",
    )


def test_the_zh_hans_catalogue_is_complete_and_keeps_placeholders():
    # given the catalogue
    # when each entry is checked
    problems = scan.catalogue_problems(scan.load_catalogue())

    # then every entry is translated, none is fuzzy, and placeholders match the msgid's
    assert not problems, _listing(problems, "catalogue problems")


def test_the_scan_finds_the_project_s_strings():
    # given the project (a scan that found nothing would pass every test above)
    # when its msgids are collected
    python, templates = _project_msgids()

    # then both sources give many, including ones known to be there
    assert len(python) > 100 and len(templates) > 100
    assert any(m.msgid == "Owner" for m in python)
    assert any(m.msgid == "Your account" and m.where.startswith("templates/accounts/") for m in templates)


# ---------------------------------------------------------------- the checkers, proven both ways


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_bare_text_is_found_with_its_line(tmp_path):
    # given a template with bare text in several places, and translated text, code and comments
    page = _write(
        tmp_path / "templates" / "page.html",
        """
        {% load i18n %}<h1>{% translate "Orders" %}</h1>
        <p>{{ count }} orders waiting</p>
        <input type="search" placeholder="Search orders" aria-label="{% translate 'Search' %}">
        <input type="submit" value="Save"><img src="x.png" alt="Logo">
        {% blocktranslate %}Shipped {{ n }}{% endblocktranslate %}{% comment %}Not shown{% endcomment %}
        <script>const label = "inline";</script><code>order_number</code><pre>SELECT 1</pre>
        <span title="Relay · CSV · XLSX">{{ total|default:"Nothing yet" }}</span>
        <!-- a note for developers -->
        """,
    )

    # when it is scanned
    findings = scan.bare_text_in_template(page)

    # then each bare text is reported once, at its line, and nothing else is
    assert [(f.line, f.text) for f in findings] == [
        (2, "§ orders waiting"),
        (3, "Search orders"),
        (4, "Logo"),
        (4, "Save"),
        (7, "Nothing yet"),
    ]
    assert str(findings[0]).endswith("page.html:2: '§ orders waiting'")


def test_a_translated_template_and_a_plain_text_mail_are_read(tmp_path):
    # given a fully translated page and an e-mail template with one bare line
    page = _write(
        tmp_path / "templates" / "ok.html",
        """
        {% load i18n %}<title>{% block title %}{% translate "Stores" %}{% endblock %} · Relay</title>
        <a href="{% url 'x' %}" title="{% translate 'Open' %}">{{ store.name }}</a> ✓ 12 × 3
        """,
    )
    mail = _write(
        tmp_path / "templates" / "mail.txt",
        """
        {% load i18n %}{% translate "Hello" %}

        {{ link }}
        Thanks, the team
        """,
    )

    # when both are scanned
    # then the page passes and the mail's bare line is reported
    assert scan.bare_text_in_template(page) == []
    assert [(f.line, f.text) for f in scan.bare_text_in_template(mail)] == [(4, "Thanks, the team")]


def _catalogue(tmp_path, entries, *, fuzzy=()):
    catalog = Catalog(locale="zh_Hans")
    for msgid, string, context in entries:
        catalog.add(msgid, string, context=context, flags=("fuzzy",) if msgid in fuzzy else ())
    path = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po_file:
        write_po(po_file, catalog)
    return path


def _sources(tmp_path):
    module = _write(
        tmp_path / "app" / "views.py",
        """
        from django.utils.translation import gettext as _, ngettext, pgettext_lazy
        from django.utils import translation

        A = _("Ship")
        B = ngettext("%(n)s order", "%(n)s orders", 2)
        C = pgettext_lazy("verb", "Return")
        D = translation.gettext("Store " "name")
        E = _(f"not {A} a literal")
        """,
    )
    page = _write(
        tmp_path / "templates" / "page.html",
        """
        {% load i18n %}{% translate "Ship" %} {% translate "Hold" context "queue" %}
        {% blocktranslate count n=items|length %}{{ n }} line{% plural %}{{ n }} lines{% endblocktranslate %}
        {% blocktranslate trimmed with name=store.name %}
          Sync {{ name }}
          now{% endblocktranslate %}
        """,
    )
    return module, page


def test_msgids_are_collected_from_python_and_templates(tmp_path):
    # given a module and a template using every form of gettext
    module, page = _sources(tmp_path)

    # when their msgids are collected
    python = {(m.msgid, m.context, m.plural) for m in scan.python_msgids([module])}
    templates = {(m.msgid, m.context, m.plural) for m in scan.template_msgids([page])}

    # then literals are found with their context and plural; an f-string is not a msgid
    assert python == {
        ("Ship", None, None),
        ("%(n)s order", None, "%(n)s orders"),
        ("Return", "verb", None),
        ("Store name", None, None),
    }
    assert templates == {
        ("Ship", None, None),
        ("Hold", "queue", None),
        ("%(n)s line", None, "%(n)s lines"),
        ("Sync %(name)s now", None, None),
    }


def test_missing_and_fuzzy_msgids_are_reported_and_a_full_catalogue_passes(tmp_path):
    # given the msgids of a module and a template
    module, page = _sources(tmp_path)
    msgids = scan.python_msgids([module]) + scan.template_msgids([page])
    complete = [
        ("Ship", "发货", None),
        (("%(n)s order", "%(n)s orders"), ("%(n)s 个订单",), None),
        ("Return", "退货", "verb"),
        ("Store name", "店铺名称", None),
        ("Hold", "挂起", "queue"),
        (("%(n)s line", "%(n)s lines"), ("%(n)s 行",), None),
        ("Sync %(name)s now", "立即同步 %(name)s", None),
    ]

    # when they are checked against a complete catalogue and against a lacking one
    full = scan.load_catalogue(_catalogue(tmp_path / "full", complete))
    lacking = scan.load_catalogue(
        _catalogue(
            tmp_path / "lacking",
            [("Ship", "发货", None), ("Return", "退货", None), ("Hold", "", "queue"), ("Store name", "店铺", None)],
            fuzzy={"Store name"},
        )
    )

    # then the full one passes, and the other lists what is absent, empty, fuzzy or in the wrong context
    assert scan.missing_msgids(msgids, full) == []
    assert scan.catalogue_problems(full) == []
    assert sorted((m.msgid, m.context) for m in scan.missing_msgids(msgids, lacking)) == [
        ("%(n)s line", None),
        ("%(n)s order", None),
        ("Hold", "queue"),
        ("Return", "verb"),
        ("Store name", None),
        ("Sync %(name)s now", None),
    ]


def test_catalogue_problems_are_reported(tmp_path):
    # given a catalogue with an empty, a fuzzy, a placeholder-losing and a placeholder-renaming entry
    path = _catalogue(
        tmp_path,
        [
            ("Ship", "", None),
            ("Hold", "挂起", None),
            ("%(count)s orders of %(store)s", "%(count)s 个订单", None),
            ("%s of %d", "%d 的 %s", None),
            ("Sync {name}", "同步 {store}", None),
            ("100%% done", "完成 100%%", None),
            (("%(n)s order", "%(n)s orders"), ("",), None),
        ],
        fuzzy={"Hold"},
    )

    # when it is checked
    problems = scan.catalogue_problems(scan.load_catalogue(path))

    # then each bad entry is named, and the good ones are not
    assert len(problems) == 5, problems
    assert any(p.startswith("'Ship': not translated") for p in problems)
    assert any(p.startswith("'Hold': fuzzy") for p in problems)
    assert any(p.startswith("'%(count)s orders of %(store)s': placeholders") for p in problems)
    assert any(p.startswith("'Sync {name}': placeholders") for p in problems)
    assert any(p.startswith("'%(n)s order': not translated") for p in problems)


def test_unwrapped_python_text_is_found(tmp_path):
    # given a forms module with wrapped and unwrapped texts
    module = _write(
        tmp_path / "app" / "forms.py",
        """
        from django import forms
        from django.contrib import messages
        from django.core.exceptions import PermissionDenied, ValidationError
        from django.db import models
        from django.utils.translation import gettext_lazy as _
        from rest_framework import serializers


        class Kind(models.TextChoices):
            A = "a", "Plain label"
            B = "b", _("Wrapped")


        class F(forms.Form):
            name = forms.CharField(label="Name", help_text=_("Fine"))

            class Meta:
                verbose_name = "thing"


        def view(request, n):
            messages.success(request, "Saved.")
            messages.error(request, _("Failed."))
            raise ValidationError(f"Bad {n}")


        def other():
            raise PermissionDenied("No entry")
            raise serializers.ValidationError({"sku": "Unknown SKU"})
            raise ValidationError(_("Wrapped %(n)s"), code="x", params={"n": 1})
            raise ValidationError("CSV")
        """,
    )

    # when it is scanned
    findings = scan.unwrapped_python_text(module)

    # then every unwrapped text is reported at its line; wrapped ones and allowed names are not
    assert [(f.line, f.text) for f in findings] == [
        (10, "Plain label"),
        (15, "Name"),
        (18, "thing"),
        (22, "Saved."),
        (24, "Bad {…}"),
        (28, "No entry"),
        (29, "Unknown SKU"),
    ]


def test_the_catalogue_compiles_without_gnu_gettext(tmp_path):
    # given a filled catalogue in a locale directory
    _catalogue(tmp_path, [("Ship", "发货", None), (("%(n)s order", "%(n)s orders"), ("%(n)s 个订单",), None)])

    # when it is compiled with Babel (what `make` runs) and read as gettext reads it
    (mo_path,) = compile_catalogues(tmp_path / "locale")
    with mo_path.open("rb") as mo_file:
        translations = gettext.GNUTranslations(mo_file)

    # then the translations come out
    assert translations.gettext("Ship") == "发货"
    assert translations.ngettext("%(n)s order", "%(n)s orders", 3) == "%(n)s 个订单"


@pytest.mark.parametrize(
    ("text", "shows"),
    [("Save", True), ("Relay · CSV", False), ("12 × 3", False), ("e-mail", True), ("a b", False)],
)
def test_shows_words(text, shows):
    assert scan.shows_words(text) is shows


def test_a_text_used_alone_and_with_a_plural_is_reported(tmp_path):
    # given "Order" used alone in Python and as the singular of a plural in a template (one catalogue entry)
    module = tmp_path / "labels.py"
    module.write_text('from django.utils.translation import gettext as _\nLABEL = _("Order")\n')
    page = tmp_path / "page.html"
    page.write_text("{% load i18n %}{% blocktranslate count n=3 %}Order{% plural %}Orders{% endblocktranslate %}")
    msgids = scan.python_msgids([module]) + scan.template_msgids([page])
    catalog = scan.load_catalogue(_catalogue(tmp_path / "po", [(("Order", "Orders"), ("订单",), None)]))

    # when they are checked, then the lone use is missing: gettext("Order") never finds a plural entry
    assert [(m.msgid, m.plural) for m in scan.missing_msgids(msgids, catalog)] == [("Order", None)]
