#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if they are missing:
#   chromium + fonts-noto-cjk  -> browser tests (Playwright drives Debian's chromium;
#                                 we never run `playwright install`)
#   postgresql-15              -> server binaries for scripts/ensure-postgres.sh
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
#                              -> WeasyPrint's text layout and font subsetting (PDF exports,
#                                 eduplatform/core/pdf.py; CJK text in fonts-noto-cjk, embedded)
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin

packages=()
if [ ! -x /usr/bin/chromium ]; then
    packages+=(chromium)
fi
if ! command -v fc-list >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    packages+=(fonts-noto-cjk)
fi
if [ ! -x "$PG_BIN/initdb" ]; then
    packages+=(postgresql-15)
fi
for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do
    if ! dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "install ok installed"; then
        packages+=("$lib")
    fi
done

if [ ${#packages[@]} -eq 0 ]; then
    echo "System packages: chromium, Noto Sans CJK fonts, PostgreSQL 15 and Pango (WeasyPrint) already present."
    exit 0
fi

# chromium and fonts-noto-cjk are installed together, as a pair.
if [[ " ${packages[*]} " == *" chromium "* || " ${packages[*]} " == *" fonts-noto-cjk "* ]]; then
    mapfile -t packages < <(printf '%s\n' "${packages[@]}" chromium fonts-noto-cjk | sort -u)
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    else
        echo "System packages: need root to install ${packages[*]} (not root, no sudo)." >&2
        exit 1
    fi
fi

echo "System packages: installing ${packages[*]} (apt-get) ..."
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    -o Dpkg::Use-Pty=0 "${packages[@]}" >/dev/null
echo "System packages: installed ${packages[*]}."
