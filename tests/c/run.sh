#!/usr/bin/env bash
# Builds libcortado (release) and runs the C and C++ tests against it:
#   1. every test compiled with AddressSanitizer + UBSan, linked to libcortado.a;
#   2. every test compiled plainly, linked to libcortado.so (-lcortado), under valgrind
#      memcheck (no errors, no leaks);
#   3. the C example of examples/c built with -lcortado and run;
#   4. a check that every function in include/cortado.h is called by some C test.
# Closes on `N passed, N failed` (test cases of all runs added up); exits non-zero on any
# failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
lib="$target/release"
out="$target/c-tests"
vectors="$root/tests/conformance/vectors"
mkdir -p "$out/asan" "$out/plain"

cargo build --release -p cortado-ffi

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind not found: installing it"
    apt-get update -qq
    apt-get install -y -qq valgrind
fi

c_tests=(test_api test_errors test_listener test_loader test_expiry test_compute test_conformance test_random)
cpp_tests=(test_wrapper)
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g -I include)
cxxflags=(-std=c++17 -Wall -Wextra -Werror -pedantic -g -I include)
sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
static_libs=("$lib/libcortado.a" -lpthread -ldl -lm)
shared_libs=(-L "$lib" -lcortado -Wl,-rpath,"$lib" -lpthread)

passed=0
failed=0

# Runs one test binary (the command line is "$@"); adds its RESULT line to the totals and
# counts a failure if it exits non-zero without having reported one (a crash, a leak, a
# sanitizer or valgrind error).
run_test() {
    local label="$1"
    shift
    local log="$out/$label.log" status=0
    echo "== $label"
    "$@" >"$log" 2>&1 || status=$?
    cat "$log"
    local result p=0 f=0
    result="$(grep -E '^RESULT [0-9]+ [0-9]+$' "$log" | tail -n 1 || true)"
    if [[ -n "$result" ]]; then
        read -r _ p f <<<"$result"
    fi
    if [[ $status -ne 0 && $f -eq 0 ]]; then
        echo "   $label exited with status $status"
        f=$((f + 1))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

# Records a single check as one test case.
check() {
    local label="$1"
    shift
    if "$@"; then
        echo "ok   $label"
        passed=$((passed + 1))
    else
        echo "FAIL $label"
        failed=$((failed + 1))
    fi
}

args_for() {
    [[ "$1" == test_conformance ]] && echo "$vectors" || true
}

# ---- 1. AddressSanitizer + UBSan, static library ------------------------------------------
for t in "${c_tests[@]}"; do
    gcc "${cflags[@]}" "${sanitize[@]}" "tests/c/$t.c" "${static_libs[@]}" -o "$out/asan/$t"
done
for t in "${cpp_tests[@]}"; do
    g++ "${cxxflags[@]}" "${sanitize[@]}" "tests/cpp/$t.cpp" "${static_libs[@]}" -o "$out/asan/$t"
done
# Proof that the sanitizer really is in the binaries (it cannot be dropped silently).
check "asan linked into every sanitizer build" \
    bash -c 'for b in "$@"; do nm "$b" | grep -q __asan_init || exit 1; done' _ "$out"/asan/*
for t in "${c_tests[@]}" "${cpp_tests[@]}"; do
    # shellcheck disable=SC2046
    run_test "$t (asan+ubsan)" env ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out/asan/$t" $(args_for "$t")
done

# ---- 2. valgrind memcheck, shared library ------------------------------------------------
for t in "${c_tests[@]}"; do
    gcc "${cflags[@]}" "tests/c/$t.c" "${shared_libs[@]}" -o "$out/plain/$t"
done
for t in "${cpp_tests[@]}"; do
    g++ "${cxxflags[@]}" "tests/cpp/$t.cpp" "${shared_libs[@]}" -o "$out/plain/$t"
done
for t in "${c_tests[@]}" "${cpp_tests[@]}"; do
    # Fewer threads: valgrind runs them one at a time.
    # shellcheck disable=SC2046
    run_test "$t (valgrind)" env CORTADO_TEST_THREADS=4 \
        valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
        --suppressions=tests/c/valgrind.supp \
        "$out/plain/$t" $(args_for "$t")
done

# ---- 3. the copyable example -------------------------------------------------------------
gcc -std=c11 -Wall -Wextra -Werror -pedantic -I include examples/c/example.c \
    -L "$lib" -lcortado -Wl,-rpath,"$lib" -o "$out/example"
check "examples/c/example.c links with -lcortado and runs" \
    bash -c '"$1" | grep -q "loader ran 1 time"' _ "$out/example"

# ---- 4. every declared function is exercised ----------------------------------------------
uncovered() {
    local fn missing=0
    for fn in $(grep -oE '^[a-z0-9_ ]*[ *]cortado_[a-z0-9_]+\(' include/cortado.h | grep -oE 'cortado_[a-z0-9_]+\($' | tr -d '('); do
        if ! grep -q "\\b$fn(" tests/c/*.c; then
            echo "   not called by any C test: $fn"
            missing=1
        fi
    done
    return $missing
}
check "every function of cortado.h is called by a C test" uncovered

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
