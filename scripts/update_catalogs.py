"""Refresh the UI catalogs from the templates and N_ marks: python scripts/update_catalogs.py.

New msgids are added with an empty translation (the en catalog then fails its test until
someone translates them); msgids no longer used are dropped. Existing translations stay.
"""

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from tongxin.web import i18n
from tongxin.web.templating import template_dirs

msgids = sorted(i18n.extract_messages(template_dirs(), [i18n.PACKAGE_DIR]))
for locale in i18n.LOCALES:
    path = i18n.catalog_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = Catalog(locale=locale)
    if path.exists():
        with path.open("rb") as f:
            old = read_po(f, locale=locale)
    # Keep the old dates so rerunning without changes leaves the files byte-identical.
    new = Catalog(
        locale=locale,
        project="Tongxin",
        version=None,
        copyright_holder="Tongxin contributors",
        domain=i18n.DOMAIN,
        fuzzy=False,
        creation_date=old.creation_date,
        revision_date=old.revision_date,
    )
    for msgid in msgids:
        kept = old.get(msgid)
        new.add(msgid, kept.string if kept is not None else "")
    with path.open("wb") as f:
        write_po(f, new, width=100, omit_header=False, sort_output=True)
    missing = sum(1 for m in msgids if not new.get(m).string)
    print(f"{locale}: {len(msgids)} msgids, {missing} untranslated")
