#!/usr/bin/env bash
# Update the English catalog (locale/en/LC_MESSAGES/django.po) from the code and templates, keeping the
# translations already there; then translate the new or fuzzy entries and run
# `manage.py compilemessages -l en` (docs/i18n.md). Needs GNU gettext (xgettext, msgmerge).
# The ignore list is the one tests/test_i18n.py uses (eduplatform/web/i18n_audit.py MAKEMESSAGES_IGNORE).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" manage.py makemessages -l en --no-obsolete \
    --ignore=node_modules --ignore=var --ignore=tests --ignore=bench --ignore=docs --ignore=data \
    --ignore=deploy --ignore=scripts --ignore=locale
msgfmt --statistics -o /dev/null locale/en/LC_MESSAGES/django.po
