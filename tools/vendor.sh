#!/bin/sh
# Regenerate the vendored Rust crates of glmmr from src/rust/Cargo.lock.
#
# Run it (from anywhere, with network access to crates.io) whenever the Rust
# dependencies change; R CMD INSTALL never runs it. It writes
#
#   src/rust/vendor.tar.xz      every crate the build needs, unpacked by
#                               src/Makevars into src/rust/vendor and built
#                               with `cargo build --offline`
#   src/rust/vendor-config.toml the cargo configuration that replaces
#                               crates.io by that directory
#   inst/AUTHORS                name, version, authors and licence of each
#                               vendored crate, from its Cargo.toml
#
# Each crate is pruned of its tests, benches and examples (never compiled as
# a dependency), and its .cargo-checksum.json keeps only the checksum of the
# crate as published ({"files":{},"package":"<sha256>"}), so cargo does not
# check individual files that were pruned or that R CMD build might drop.
#
# Needs cargo, GNU tar and xz. Uses the default CARGO_HOME (its registry cache).
set -eu

cd "$(dirname "$0")/.."
RUST=src/rust
test -f "$RUST/Cargo.lock" || { echo "no $RUST/Cargo.lock" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || PATH="$PATH:$HOME/.cargo/bin"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "vendoring the crates of $RUST/Cargo.lock"
# --locked: the archive must match Cargo.lock as committed.
cargo vendor --locked --quiet --manifest-path "$RUST/Cargo.toml" "$tmp/vendor" >/dev/null

for dir in "$tmp"/vendor/*/; do
  dir=${dir%/}
  rm -rf "$dir/tests" "$dir/benches" "$dir/examples"
  sum=$(sed -n 's/.*"package":"\([0-9a-f]\{64\}\)".*/\1/p' "$dir/.cargo-checksum.json")
  if [ -z "$sum" ]; then
    echo "no package checksum in $dir/.cargo-checksum.json" >&2
    exit 1
  fi
  printf '{"files":{},"package":"%s"}\n' "$sum" > "$dir/.cargo-checksum.json"
done

# Reproducible archive: sorted names, fixed dates and owners, ustar format
# (read by GNU tar, bsdtar and R's internal untar()).
(cd "$tmp" && LC_ALL=C tar --format=ustar --sort=name --mtime='2000-01-01 00:00:00Z' \
  --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' -cf - vendor) |
  xz -9e --threads=1 > "$RUST/vendor.tar.xz"

cat > "$RUST/vendor-config.toml" <<'EOF'
# Written by tools/vendor.sh. src/Makevars copies it to src/.cargo/config.toml
# (that directory is CARGO_HOME during the build), so the relative directory
# below is resolved from src/, where Makevars unpacks rust/vendor.tar.xz.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "rust/vendor"
EOF

# inst/AUTHORS from the vendored manifests (cargo writes them normalized:
# one key per line, arrays possibly over several lines, emails in <>).
mkdir -p inst
{
  cat <<'EOF'
glmmr's Rust code (src/rust/engine, src/rust/rbind) is by the glmmr authors
(GPL (>= 3), as the package).

The source package also carries, in src/rust/vendor.tar.xz, the Rust crates
below, compiled into glmmr's shared library. They are copyright their
authors and distributed under the licences shown (SPDX expressions; "OR"
means a choice of licences, "/" is an older spelling of "OR"). Each crate's
licence texts are in its directory in that archive, except for the crates
listed at the end, which publish none. This file is written by
tools/vendor.sh from the crates' Cargo.toml files.

EOF
  for manifest in "$tmp"/vendor/*/Cargo.toml; do
    awk '
      /^\[/ { section = $0; next }
      section != "[package]" { next }
      function value(line) { sub(/^[^=]*= */, "", line); gsub(/^"|"$/, "", line); return line }
      /^name *=/         { name = value($0) }
      /^version *=/      { version = value($0) }
      /^license *=/      { license = value($0) }
      /^license-file *=/ { licfile = value($0) }
      /^repository *=/   { repo = value($0) }
      /^authors *= *\[/  { inauthors = 1; sub(/^authors *= *\[/, "") }
      inauthors {
        line = $0
        if (line ~ /\]/) { sub(/\].*/, "", line); inauthors = 0 }
        n = split(line, parts, /" *, *"|^ *"|" *,? *$/)
        for (i = 1; i <= n; i++) {
          a = parts[i]; gsub(/^[ ,"]+|[ ,"]+$/, "", a); sub(/ *<[^>]*>/, "", a)
          if (a != "") authors = authors (authors == "" ? "" : ", ") a
        }
      }
      END {
        if (license == "" && licfile != "") license = "see " licfile
        if (authors == "") authors = "the " name " contributors (no authors field; see the source)"
        printf "%s %s\n  Authors: %s\n  License: %s\n", name, version, authors, license
        if (repo != "") printf "  Source:  %s\n", repo
        printf "\n"
      }' "$manifest"
  done
  # Crates published without a licence file: their licence text here.
  nolicence=""
  for dir in "$tmp"/vendor/*/; do
    if ! ls "$dir" | grep -qiE '^(licen[cs]e|copying|copyright)'; then
      nolicence="$nolicence $(basename "$dir")"
    fi
  done
  if [ -n "$nolicence" ]; then
    for crate in $nolicence; do
      if ! grep -qE '^license *= *"MIT"' "$tmp/vendor/$crate/Cargo.toml"; then
        echo "$crate publishes no licence file and is not MIT-licensed: add its licence text to inst/AUTHORS by hand" >&2
        exit 1
      fi
    done
    cat <<EOF
Crates published without a licence file:$nolicence.
They are under the MIT licence, copyright their authors as listed above:

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF
  fi
} > inst/AUTHORS

ncrates=$(ls -d "$tmp"/vendor/*/ | wc -l)
size=$(wc -c < "$RUST/vendor.tar.xz")
echo "wrote $RUST/vendor.tar.xz ($ncrates crates, $size bytes), $RUST/vendor-config.toml, inst/AUTHORS"
