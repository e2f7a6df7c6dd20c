#!/bin/sh
# Tests of the build set-up that need no compiler: configure's messages when
# cargo or rustc is missing or too old (with fake tools and an empty HOME),
# the declared minimum Rust version, and the vendored crates against Cargo.lock.
# Run by `make test` (from the package root); prints a cargo-style summary line
# "test result: ok. N passed; M failed" that .ci/run adds to its totals.
cd "$(dirname "$0")/.." || exit 1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "test $1 ... ok"; }
fail() { failed=$((failed + 1)); echo "test $1 ... FAILED"; [ -z "$2" ] || echo "$2" | sed 's/^/    /'; }

# A PATH with only the tools configure uses besides cargo and rustc.
mkdir -p "$tmp/bin"
for t in sed head cat grep; do ln -s "$(command -v $t)" "$tmp/bin/$t"; done
mkdir -p "$tmp/home-empty"

# fake_rust DIR VERSION: cargo and rustc in DIR that report VERSION.
fake_rust() {
  mkdir -p "$1"
  for t in cargo rustc; do
    printf '#!/bin/sh\necho "%s %s (fake)"\n' "$t" "$2" > "$1/$t"
    chmod +x "$1/$t"
  done
}

# run_configure PATH HOME: configure's exit status in $status, output in $out.
run_configure() {
  out=$(env -i PATH="$1" HOME="$2" /bin/sh ./configure 2>&1)
  status=$?
}

msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' src/rust/Cargo.toml | head -n 1)

# 1. No cargo on the PATH nor in ~/.cargo/bin: a clear message, and failure.
name=configure_without_cargo_says_what_to_install
run_configure "$tmp/bin" "$tmp/home-empty"
if [ "$status" -ne 0 ] && echo "$out" | grep -q "'cargo' was not found on the PATH or in ~/.cargo/bin" &&
   echo "$out" | grep -q "rustup (https://rustup.rs)" && echo "$out" | grep -q "apt-get install cargo rustc" &&
   echo "$out" | grep -q "version $msrv or newer"; then ok $name; else fail $name "$out"; fi

# 2. cargo present but no rustc.
name=configure_without_rustc_says_what_to_install
mkdir -p "$tmp/cargo-only"
printf '#!/bin/sh\necho "cargo 1.80.0 (fake)"\n' > "$tmp/cargo-only/cargo"; chmod +x "$tmp/cargo-only/cargo"
run_configure "$tmp/cargo-only:$tmp/bin" "$tmp/home-empty"
if [ "$status" -ne 0 ] && echo "$out" | grep -q "'rustc' was not found"; then ok $name; else fail $name "$out"; fi

# 3. Too old (Debian 12's cargo reports 1.65.0, its rustc 1.63.0).
name=configure_with_old_rust_says_too_old
fake_rust "$tmp/old" 1.63.0
run_configure "$tmp/old:$tmp/bin" "$tmp/home-empty"
if [ "$status" -ne 0 ] && echo "$out" | grep -q "too old" && echo "$out" | grep -q "needs $msrv or newer"; then
  ok $name; else fail $name "$out"; fi

# 4. Found in ~/.cargo/bin only (rustup's place, often not on the PATH).
name=configure_finds_rust_in_home_cargo_bin
fake_rust "$tmp/home-rustup/.cargo/bin" "$msrv.0"
run_configure "$tmp/bin" "$tmp/home-rustup"
if [ "$status" -eq 0 ] && echo "$out" | grep -q "using rustc $msrv.0" && echo "$out" | grep -q "using cargo $msrv.0"; then
  ok $name; else fail $name "$out"; fi

# 5. A newer minor version than the minimum passes, an older one does not.
name=configure_compares_versions_numerically
fake_rust "$tmp/new" 1.100.0
run_configure "$tmp/new:$tmp/bin" "$tmp/home-empty"; s_new=$status
minor=${msrv#*.}
fake_rust "$tmp/older" "1.$((minor - 1)).9"
run_configure "$tmp/older:$tmp/bin" "$tmp/home-empty"; s_older=$status
if [ "$s_new" -eq 0 ] && [ "$s_older" -ne 0 ]; then ok $name; else fail $name "1.100.0: $s_new, 1.$((minor - 1)).9: $s_older"; fi

# 6. DESCRIPTION states the minimum that configure and cargo check.
name=description_states_the_workspace_rust_version
if [ -n "$msrv" ] && grep -q "^SystemRequirements: Cargo (Rust's package manager), rustc (>= $msrv)" DESCRIPTION &&
   grep -q '^rust-version.workspace = true' src/rust/engine/Cargo.toml &&
   grep -q '^rust-version.workspace = true' src/rust/rbind/Cargo.toml; then
  ok $name; else fail $name "rust-version '$msrv'; DESCRIPTION: $(grep '^SystemRequirements' DESCRIPTION)"; fi

# 7. configure scripts are executable.
name=configure_scripts_are_executable
if [ -x configure ] && [ -x configure.win ]; then ok $name; else fail $name; fi

# 8. The vendored crates are exactly those of Cargo.lock (same checksums), with
#    emptied file lists, and the cargo configuration points where Makevars unpacks.
name=vendored_crates_match_cargo_lock
if [ -f src/rust/vendor.tar.xz ]; then
  "${R_HOME:-$(R RHOME)}/bin/Rscript" -e 'utils::untar("src/rust/vendor.tar.xz", exdir = commandArgs(TRUE), tar = "internal")' "$tmp/unpacked" >/dev/null 2>&1
  cat "$tmp"/unpacked/vendor/*/.cargo-checksum.json 2>/dev/null | sed -n 's/.*"package":"\([0-9a-f]*\)".*/\1/p' | sort > "$tmp/vendored"
  sed -n 's/^checksum = "\([0-9a-f]*\)"/\1/p' src/rust/Cargo.lock | sort > "$tmp/locked"
  nonempty=$(grep -L '^{"files":{},"package":"[0-9a-f]\{64\}"}$' "$tmp"/unpacked/vendor/*/.cargo-checksum.json 2>/dev/null)
  if [ -s "$tmp/locked" ] && cmp -s "$tmp/vendored" "$tmp/locked" && [ -z "$nonempty" ] &&
     grep -q '^directory = "rust/vendor"$' src/rust/vendor-config.toml; then
    ok $name
  else
    fail $name "$(diff "$tmp/locked" "$tmp/vendored" | head -n 5)
run tools/vendor.sh after changing Cargo.lock${nonempty:+; file lists not emptied: $nonempty}"
  fi
else
  fail $name "src/rust/vendor.tar.xz is missing: run tools/vendor.sh"
fi

if [ "$failed" -eq 0 ]; then result=ok; else result=FAILED; fi
echo
echo "test result: $result. $passed passed; $failed failed; 0 ignored (tools/test-configure.sh)"
[ "$failed" -eq 0 ]
