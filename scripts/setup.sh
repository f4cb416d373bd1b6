#!/usr/bin/env bash
# Installs everything censorscope needs on a fresh Debian machine (run as root):
# the kernel tools the lab uses, then a virtualenv in .venv with the package and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(iptables nftables dnsutils iputils-ping libnetfilter-queue-dev procps psmisc curl openssl
              chromium chromium-driver)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
  fi
fi
# pip on machines whose global config lists local mirror folders that do not exist warns about
# each of them; those lines say nothing about this project, so they are left out.
quiet_pip() { "$@" 2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2); }
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
quiet_pip .venv/bin/pip install -q --upgrade pip >/dev/null
quiet_pip .venv/bin/pip install -q -e ".[lab,test]"
# Byte-code for the package as pip writes it for a regular install: with PYTHONDONTWRITEBYTECODE
# set (as on some machines) every command would otherwise compile the package again (~0.1 s).
.venv/bin/python -m compileall -q -j 0 src >/dev/null
# OONI's own Python models pin old dependencies (click~=8.0), so the interop tests load our
# measurements with them from a separate virtualenv.
if [ ! -x .venv-oonidata/bin/python ]; then python3 -m venv .venv-oonidata; fi
.venv-oonidata/bin/python -c "import oonidata" 2>/dev/null || quiet_pip .venv-oonidata/bin/pip install -q "oonidata==0.3.0"
