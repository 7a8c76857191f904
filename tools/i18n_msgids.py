"""Every msgid PropDesk passes through flask_babel, and which of them the English catalog lacks.

Our msgids are the Chinese display texts themselves (zh needs no catalog); English comes from
app/translations/en/LC_MESSAGES/messages.po. The msgids are collected from the same places the
panel reads them:

* schema.REGISTRY: every column label, every many-to-one relationship label, each AdminSpec's
  menu and category, and every label of each choice column's Choice enum;
* schema.spec.ROLE_LABELS;
* the fixed strings of admin_views (编号, 是/否) and app.validators.Required's templates;
* every `_('...')` literal in app/templates/**/*.html.

    python -m tools.i18n_msgids            # print the msgids missing from the en catalog
    python -m tools.i18n_msgids --all      # print every collected msgid

Exits 1 when something is missing, so it can gate CI.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "app" / "templates"
EN_PO = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"

FIXED = (
    "编号",  # admin_views.generic: label of the primary key
    "是", "否",  # admin_views.formatting.fmt_bool
    "请填写%(label)s", "请选择%(label)s",  # app.validators.Required templates (admin_views.generic)
)

# _('...') or _("...") in Jinja templates; backslash escapes inside the literal are allowed.
_TEMPLATE_CALL = re.compile(r"""\b_\(\s*(?P<q>['"])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*[,)]""", re.S)


def schema_msgids() -> set[str]:
    """Labels, menus, categories and choice labels declared in schema.REGISTRY."""
    from sqlalchemy import inspect

    from schema import REGISTRY
    from schema.spec import ROLE_LABELS, info_of

    out: set[str] = set(ROLE_LABELS.values())
    for model in REGISTRY:
        spec = getattr(model, "__admin__", None)
        if spec is not None:
            out.update({spec.menu, spec.category})
        mapper = inspect(model)
        for attr in mapper.column_attrs:
            info = info_of(attr)
            if info.get("label"):
                out.add(info["label"])
            choices = info.get("choices")
            if choices is not None:
                out.update(m.label for m in choices)
        for rel in mapper.relationships:
            if rel.direction.name == "MANYTOONE" and rel.info.get("label"):
                out.add(rel.info["label"])
    return out


def template_msgids(root: Path = TEMPLATES) -> set[str]:
    """Every `_('...')` literal in the templates under `root`."""
    out: set[str] = set()
    for path in sorted(root.rglob("*.html")):
        for m in _TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            text = m.group("text")
            if "\\" in text:
                text = text.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
            if text:
                out.add(text)
    return out


_CODE_CALL = re.compile(r'\b(?:gettext|_l)\(\s*"([^"\\]+)"')


def code_msgids() -> set[str]:
    """Every literal `gettext("...")` / `_l("...")` in app/ and admin_views/."""
    out: set[str] = set()
    for folder in ("app", "admin_views"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            out.update(m.group(1) for m in _CODE_CALL.finditer(path.read_text(encoding="utf-8")))
    return out


def collect() -> set[str]:
    """Every msgid PropDesk translates through flask_babel's `messages` domain."""
    return schema_msgids() | template_msgids() | code_msgids() | set(FIXED)


def translated(po_path: Path = EN_PO) -> dict[str, str]:
    """msgid -> msgstr of the non-fuzzy, non-empty entries of a PO file ({} if it does not exist)."""
    from babel.messages.pofile import read_po

    if not po_path.exists():
        return {}
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: m.string for m in catalog
            if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string.strip()
            and not m.fuzzy}


def missing(po_path: Path = EN_PO) -> list[str]:
    """Collected msgids without a usable translation in `po_path`, sorted."""
    have = translated(po_path)
    return sorted(collect() - set(have))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.i18n_msgids", description=__doc__.split("\n")[0])
    parser.add_argument("--po", type=Path, default=EN_PO, help="catalog to check (default: the en messages.po)")
    parser.add_argument("--all", action="store_true", help="print every collected msgid instead")
    args = parser.parse_args(argv)
    if args.all:
        for msgid in sorted(collect()):
            print(msgid)
        return 0
    absent = missing(args.po)
    for msgid in absent:
        print(msgid)
    if absent:
        print(f"{len(absent)} msgid(s) missing from {args.po}", file=sys.stderr)
        return 1
    print(f"all {len(collect())} msgids translated in {args.po}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
