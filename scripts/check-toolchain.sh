#!/usr/bin/env bash
# Is the toolchain that rust-toolchain.toml pins really the one in use, with every target?
#
#   bash scripts/check-toolchain.sh                 # the installed toolchain (tests/run-all.sh runs this)
#   bash scripts/check-toolchain.sh --from-nothing  # install the pin into an empty RUSTUP_HOME and
#                                                   # CARGO_HOME, check it, delete it (.ci/run runs this)
#
# Exits non-zero with one message saying what is missing and how to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."

channel=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml)
# The targets array: every quoted string between `targets = [` and the closing `]`.
targets=$(sed -n '/^targets *= *\[/,/\]/p' rust-toolchain.toml | sed 's/#.*//' | grep -o '"[^"]*"' | tr -d '"')
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
host=${host:-x86_64-unknown-linux-gnu}

fail() {
    echo "toolchain check FAILED: $*" >&2
    exit 1
}

[[ $channel =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    fail "rust-toolchain.toml pins channel '$channel', not an exact release (e.g. 1.95.0)"

check_installed() { # uses the RUSTUP_HOME/CARGO_HOME in force
    local version installed missing=()
    version=$(rustc --version 2>/dev/null) || fail "rustc does not run: run 'rustup toolchain install' in $(pwd)"
    if [[ $version != "rustc $channel "* ]]; then
        local dir=${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$channel-$host
        if [[ -L $dir ]] && [[ $("$dir/bin/rustc" --version 2>/dev/null) != "rustc $channel "* ]]; then
            fail "rust-toolchain.toml pins $channel but rustc says '$version': $dir is a symlink to
  $(readlink "$dir"), which holds $("$dir/bin/rustc" --version 2>/dev/null || echo 'no rustc'). Remove the symlink and install the real one:
    rm $dir && rustup toolchain install"
        fi
        fail "rust-toolchain.toml pins $channel but rustc says '$version'. Run 'rustup toolchain install'
  in $(pwd) (RUSTUP_TOOLCHAIN or a rustup override may also be forcing another toolchain)."
    fi
    installed=$(rustup target list --installed)
    for t in $targets; do
        grep -qx "$t" <<<"$installed" || missing+=("$t")
    done
    if ((${#missing[@]})); then
        fail "toolchain $channel lacks target(s) ${missing[*]}. Install with:
    rustup target add --toolchain $channel ${missing[*]}
  If rustup says the component is unavailable, the package registry does not serve it for
  $channel: pin a release that has it (1.95.0 has every target listed in rust-toolchain.toml)."
    fi
    for c in rustfmt clippy; do
        rustup component list --installed | grep -q "^$c" ||
            fail "toolchain $channel lacks $c: rustup component add --toolchain $channel $c"
    done
    echo "toolchain ok: $version; targets: $(echo $targets)"
}

if [[ ${1:-} == --from-nothing ]]; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    export RUSTUP_HOME=$scratch/rustup CARGO_HOME=$scratch/cargo
    echo "installing $channel into an empty RUSTUP_HOME ($scratch)"
    rustup toolchain install --no-self-update >"$scratch/install.log" 2>&1 || {
        tail -5 "$scratch/install.log" >&2
        fail "toolchain $channel did not install from nothing (log above)"
    }
    if grep -i "skipping unavailable component" "$scratch/install.log" >&2; then
        fail "from nothing, $channel installs without some of its components (above): the registry
  does not serve them for this release; pin one that does"
    fi
    check_installed
elif [[ $# -gt 0 ]]; then
    echo "usage: bash scripts/check-toolchain.sh [--from-nothing]" >&2
    exit 2
else
    check_installed
fi
