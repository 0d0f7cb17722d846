"""Finds text shown to people that does not go through gettext, and msgids the catalogue lacks.

No GNU gettext is needed: templates are read with Django's own lexer and ``templatize`` (what
makemessages runs), Python with ``ast``, the catalogue with Babel's ``read_po``. Used by test_i18n.py.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from django.template.base import Lexer, TokenType
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "erp", "tenants", "suppliers", "inventory", "orders", "channels", "settlement")
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TEMPLATE_SUFFIXES = (".html", ".txt")

# Names and format words that stay as they are in every language. Keep it short.
ALLOWED_WORDS = frozenset(
    "Relay Shopify WooCommerce CSV XLSX PDF API SKU URL JSON ID UTC HTTP HTTPS OAuth ISO SVG".split()
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_TEXT_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt"})
_SKIPPED_ELEMENTS = frozenset({"script", "style", "code", "pre"})
# Template regions whose text is not shown as it is (translated, or a comment).
_MASKED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}
# Literal filter arguments that end up on the page: {{ x|default:"None" }}.
_FILTER_LITERAL = re.compile(r"""\|\s*(?:default|default_if_none|yesno)\s*:\s*(?P<q>["'])(?P<text>.*?)(?P=q)""")
_PLACEHOLDER = "§"  # stands for every template tag and variable: no Latin letters in it

GETTEXT_FUNCTIONS = frozenset(
    {
        "_",
        "gettext",
        "gettext_lazy",
        "gettext_noop",
        "ngettext",
        "ngettext_lazy",
        "pgettext",
        "pgettext_lazy",
        "npgettext",
        "npgettext_lazy",
    }
)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


@dataclass(frozen=True, order=True)
class Msgid:
    msgid: str
    context: str | None = None
    plural: str | None = None
    where: str = ""


def shows_words(text: str) -> bool:
    """Whether ``text`` holds a word of two or more Latin letters that is not a name or format on the allow-list."""
    return any(word not in ALLOWED_WORDS for word in _WORD.findall(text))


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- files


def template_dirs(root: Path = ROOT) -> list[Path]:
    """The project's templates/ and each app's own templates/ directory."""
    dirs = [root / "templates"] + [root / app / "templates" for app in APPS]
    return [d for d in dirs if d.is_dir()]


def template_files(root: Path = ROOT) -> list[Path]:
    return sorted(p for d in template_dirs(root) for p in d.rglob("*") if p.suffix in TEMPLATE_SUFFIXES)


def python_files(root: Path = ROOT) -> list[Path]:
    """The apps' Python modules, without migrations."""
    return sorted(p for app in APPS for p in (root / app).rglob("*.py") if "migrations" not in p.parts)


# ---------------------------------------------------------------- 4a: bare text in templates


def template_skeleton(source: str) -> str:
    """The template with every tag and variable replaced by a placeholder, and the text inside
    {% blocktranslate %} and {% comment %} blanked, line for line (so line numbers stay true)."""
    parts = []
    closing = None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            parts.append("\n" * token.contents.count("\n") if closing else token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(maxsplit=1)[0] if token.contents.strip() else ""
            if closing is None and name in _MASKED_BLOCKS:
                closing = _MASKED_BLOCKS[name]
            elif name == closing:
                closing = None
        parts.append(_PLACEHOLDER)
    return "".join(parts)


class _TextFinder(HTMLParser):
    def __init__(self, path: str):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.findings: list[Finding] = []
        self._skipped = 0

    def _flag(self, text: str) -> None:
        if shows_words(text):
            self.findings.append(Finding(self.path, self.getpos()[0], " ".join(text.split())))

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED_ELEMENTS:
            self._skipped += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if value and name in _TEXT_ATTRIBUTES:
                self._flag(value)
        if tag == "input" and (attributes.get("type") or "").lower() in {"submit", "button", "reset"}:
            self._flag(attributes.get("value") or "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _SKIPPED_ELEMENTS:
            self._skipped -= 1

    def handle_endtag(self, tag):
        if tag in _SKIPPED_ELEMENTS and self._skipped:
            self._skipped -= 1

    def handle_data(self, data):
        if not self._skipped:
            self._flag(data)


def bare_text_in_template(path: Path) -> list[Finding]:
    """Human text in a template that is not inside {% translate %} / {% blocktranslate %}: text between
    tags, the attributes title / placeholder / aria-label / alt, button values, and default:"…" filter
    literals. Plain-text templates (e-mails) are read line by line."""
    source = path.read_text(encoding="utf-8")
    where = _relative(path)
    findings = [
        Finding(where, token.lineno, match["text"])
        for token in Lexer(source).tokenize()
        if token.token_type in (TokenType.VAR, TokenType.BLOCK)
        for match in _FILTER_LITERAL.finditer(token.contents)
        if shows_words(match["text"])
    ]
    skeleton = template_skeleton(source)
    if path.suffix == ".html":
        finder = _TextFinder(where)
        finder.feed(skeleton)
        finder.close()
        findings += finder.findings
    else:
        findings += [
            Finding(where, number, " ".join(line.split()))
            for number, line in enumerate(skeleton.splitlines(), start=1)
            if shows_words(line)
        ]
    return sorted(findings)


def bare_template_text(files: Iterable[Path] | None = None) -> list[Finding]:
    return [f for path in (template_files() if files is None else files) for f in bare_text_in_template(path)]


# ---------------------------------------------------------------- 4b: msgids in the source


def _literal_args(args: list) -> list[str | None]:
    return [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in args]


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _msgid_from_call(name: str, args: list[str | None], where: str) -> Msgid | None:
    """A msgid from the literal arguments of a gettext-family call; None when they are not literals."""
    if name.startswith("np"):
        context, singular, plural = (args + [None] * 3)[:3]
    elif name.startswith("p"):
        (context, singular), plural = (args + [None] * 2)[:2], None
    elif name.startswith("n"):
        context, (singular, plural) = None, (args + [None] * 2)[:2]
    else:
        context, singular, plural = None, (args or [None])[0], None
    if not singular or (name.startswith(("n", "np")) and plural is None) or (name.startswith("p") and not context):
        return None
    return Msgid(singular, context, plural, where)


def python_msgids(files: Iterable[Path] | None = None) -> list[Msgid]:
    """Every msgid in the apps' Python: literal arguments of _, gettext, ngettext, pgettext … (and lazy)."""
    found = []
    for path in python_files() if files is None else files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node.func) in GETTEXT_FUNCTIONS:
                msgid = _msgid_from_call(
                    _call_name(node.func), _literal_args(node.args), f"{_relative(path)}:{node.lineno}"
                )
                if msgid is not None:
                    found.append(msgid)
    return found


def _calls_in_code(code: str) -> Iterator[tuple[str, list[str | None], int]]:
    """(function, literal arguments, line) of each gettext-family call in ``code`` (templatize's output)."""
    tokens = [t for t in _tokens(code) if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)]
    index = 0
    while index < len(tokens) - 1:
        token = tokens[index]
        if token.type == tokenize.NAME and token.string in GETTEXT_FUNCTIONS and tokens[index + 1].string == "(":
            args: list[str | None] = []
            current: str | None = None
            literal = True
            depth = 0
            index += 2
            while index < len(tokens):
                tok = tokens[index]
                if tok.string in "([{" and tok.type == tokenize.OP:
                    depth += 1
                elif tok.string in ")]}" and tok.type == tokenize.OP and depth:
                    depth -= 1
                elif tok.string == ")" or (tok.string == "," and not depth):
                    args.append(current if literal else None)
                    current, literal = None, True
                    if tok.string == ")":
                        break
                elif tok.type == tokenize.STRING and literal:
                    current = (current or "") + ast.literal_eval(tok.string)
                else:
                    literal = False
                index += 1
            yield token.string, args, token.start[0]
        index += 1


def _tokens(code: str) -> Iterator[tokenize.TokenInfo]:
    try:
        yield from tokenize.generate_tokens(io.StringIO(code).readline)
    except (tokenize.TokenError, SyntaxError):  # the text around the calls is blanked, not Python
        return


def template_msgids(files: Iterable[Path] | None = None) -> list[Msgid]:
    """Every msgid of {% translate %} / {% blocktranslate %} in the templates, as makemessages sees them."""
    found = []
    for path in template_files() if files is None else files:
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for name, args, line in _calls_in_code(code):
            msgid = _msgid_from_call(name, args, f"{_relative(path)}:{line}")
            if msgid is not None:
                found.append(msgid)
    return found


def load_catalogue(path: Path = CATALOGUE) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, locale=path.parent.parent.name)


def missing_msgids(msgids: Iterable[Msgid], catalog: Catalog) -> list[Msgid]:
    """The msgids that are not in ``catalog`` with a translation (non-empty, not fuzzy); one per (id, context).

    A text used both alone and with a plural (``_("Order")`` and ``{% blocktranslate count %}Order{% plural
    %}Orders``) is one catalogue entry with plural forms, which gettext's singular lookup never finds: the
    singular use counts as missing (give one of them other words or a context).
    """
    missing = {}
    for msgid in msgids:
        message = catalog.get(msgid.msgid, context=msgid.context)
        wrong_form = message is not None and bool(message.pluralizable) != (msgid.plural is not None)
        if message is None or wrong_form or message.fuzzy or not _translated(message.string):
            missing.setdefault((msgid.msgid, msgid.context), msgid)
    return sorted(missing.values(), key=lambda m: (m.where, m.msgid))


def _translated(string) -> bool:
    if isinstance(string, (tuple, list)):
        return bool(string) and all(string)
    return bool(string)


# ---------------------------------------------------------------- 4c: the catalogue itself

_FORMAT = re.compile(r"%\((?P<name>\w+)\)[-#0+]*\d*(?:\.\d+)?[sdifrx]|%[-#0+]*\d*(?:\.\d+)?[sdifrx]|\{\w*\}")


def placeholders(text: str) -> list[str]:
    """The format placeholders of ``text``, sorted: %(name)s, %s, %d, {name} ("%%" is a plain percent)."""
    return sorted(m.group(0) for m in _FORMAT.finditer(text.replace("%%", "")))


def catalogue_problems(catalog: Catalog) -> list[str]:
    """Entries that are untranslated, fuzzy, lack a plural form, or whose placeholders differ from the msgid's."""
    problems = []
    for message in catalog:
        if not message.id:
            continue  # the header
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        label = repr(ids[0]) + (f" (context {message.context!r})" if message.context else "")
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.fuzzy:
            problems.append(f"{label}: fuzzy")
        if not strings or not strings[0] or not all(strings):
            problems.append(f"{label}: not translated")
            continue
        expected = {tuple(placeholders(i)) for i in ids}
        for string in strings:
            got = tuple(placeholders(string))
            # A language with one plural form writes the plural's placeholders in its only form.
            if got not in expected and not (len(ids) > 1 and set(got) == set(placeholders(ids[-1]))):
                problems.append(f"{label}: placeholders {list(got)} differ from the msgid's {sorted(expected)[-1]}")
    return problems


# ---------------------------------------------------------------- 4d: unwrapped strings in Python

_EXCEPTIONS = frozenset({"ValidationError", "PermissionDenied"})
_MESSAGE_LEVELS = frozenset({"debug", "info", "success", "warning", "error"})
_TEXT_KEYWORDS = frozenset({"label", "help_text", "verbose_name", "verbose_name_plural"})
_CHOICES_BASES = frozenset({"TextChoices", "IntegerChoices", "Choices"})


def _bare(node: ast.expr | None) -> str | None:
    """The text of a literal (or f-string) that shows words; None for anything else (a gettext call …)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and shows_words(node.value):
        return node.value
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values)
        return text if shows_words(text) else None
    return None


def _bare_in(node: ast.expr | None) -> list[str]:
    """Bare texts in a literal, or in the values of a literal dict or list (serializer errors)."""
    if isinstance(node, ast.Dict):
        return [t for v in node.values for t in _bare_in(v)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [t for v in node.elts for t in _bare_in(v)]
    text = _bare(node)
    return [text] if text else []


def _is_form_or_model_module(path: Path) -> bool:
    return any(word in part for part in path.parts[-2:] for word in ("forms", "models", "admin"))


def unwrapped_python_text(path: Path) -> list[Finding]:
    """Literal texts shown to people but not wrapped in gettext: the first argument of ValidationError /
    PermissionDenied, the message of messages.success/info/warning/error, and (in forms, models and
    admin) label= / help_text= / verbose_name= literals, Meta.verbose_name and choice labels."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = _relative(path)
    form_or_model = _is_form_or_model_module(path)
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            texts: list[str] = []
            if name in _EXCEPTIONS and node.args:
                texts = _bare_in(node.args[0])
            elif (
                name in _MESSAGE_LEVELS
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "messages"
                and len(node.args) >= 2
            ):
                texts = _bare_in(node.args[1])
            if form_or_model:
                texts += [t for kw in node.keywords if kw.arg in _TEXT_KEYWORDS for t in _bare_in(kw.value)]
            findings += [Finding(where, node.lineno, t) for t in texts]
        elif isinstance(node, ast.ClassDef) and form_or_model:
            findings += _class_texts(node, where)
    return sorted(set(findings))


def _class_texts(node: ast.ClassDef, where: str) -> list[Finding]:
    findings = []
    bases = {_call_name(b) for b in node.bases}
    for statement in node.body:
        if not isinstance(statement, ast.Assign):
            continue
        targets = {t.id for t in statement.targets if isinstance(t, ast.Name)}
        if node.name == "Meta" and targets & {"verbose_name", "verbose_name_plural"}:
            findings += [Finding(where, statement.lineno, t) for t in _bare_in(statement.value)]
        elif bases & _CHOICES_BASES and isinstance(statement.value, ast.Tuple) and len(statement.value.elts) >= 2:
            text = _bare(statement.value.elts[-1])
            if text:
                findings.append(Finding(where, statement.lineno, text))
    return findings


def unwrapped_python(files: Iterable[Path] | None = None) -> list[Finding]:
    return [f for path in (python_files() if files is None else files) for f in unwrapped_python_text(path)]
