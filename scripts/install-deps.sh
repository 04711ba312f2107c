#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, test and run Nestor. Idempotent: it asks
# apt and pip only for what is missing, so repeated runs cost a second.
set -euo pipefail

apt_packages=(libopenblas-dev libsqlite3-dev)
# The PostgreSQL server is needed by the tests only (the store's second backend).
if [ "${1:-}" = --test ]; then apt_packages+=(postgresql chromium chromium-driver); fi
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python is used only by the model fetcher (numpy) and the test harness (pytest, and the
# official openai client that the end-to-end test drives the server with).
py_modules=(numpy pytest openai schemathesis openapi_spec_validator selenium)  # import names; pip reads openapi_spec_validator as openapi-spec-validator
py_missing=()
for m in "${py_modules[@]}"; do
    python3 -c "import $m" 2>/dev/null || py_missing+=("$m")
done
if ((${#py_missing[@]})); then
    echo "installing Python packages: ${py_missing[*]}"
    python3 -m pip install -q --disable-pip-version-check "${py_missing[@]}"
fi
