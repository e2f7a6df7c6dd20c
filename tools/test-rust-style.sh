#!/bin/sh
# The Rust workspace's style checks, run as tests: `cargo fmt --check` (the
# layout of src/rust/rustfmt.toml) and `cargo clippy` on every target of both
# crates with warnings as errors. Run by `make test` (from the package root,
# with CARGO naming cargo); prints a cargo-style summary line
# "test result: ok. N passed; M failed" that .ci/run adds to its totals.
cd "$(dirname "$0")/../src/rust" || exit 1
CARGO=${CARGO:-cargo}
passed=0
failed=0

# check NAME COMMAND...: the command's success is the test's.
check() {
  name=$1
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "test $name ... ok"
  else
    failed=$((failed + 1))
    echo "test $name ... FAILED"
    echo "$out" | tail -n 40 | sed 's/^/    /'
  fi
}

check rust_code_is_formatted "$CARGO" fmt --all --check
check clippy_finds_nothing "$CARGO" clippy --all-targets -j 2 -- -D warnings

if [ "$failed" -eq 0 ]; then result=ok; else result=FAILED; fi
echo
echo "test result: $result. $passed passed; $failed failed; 0 ignored (tools/test-rust-style.sh)"
[ "$failed" -eq 0 ]
