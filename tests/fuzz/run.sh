#!/usr/bin/env bash
# Builds blast's libFuzzer targets (clang, ASan + UBSan) into build/fuzz/ and runs each for
# FUZZ_SECONDS (default 60) from a working copy of its committed seed corpus. Prints one line
# per target with its executions and exec/s; exits non-zero when a target crashed, leaked, timed
# out or broke an invariant (the input is then in build/fuzz/, see tests/fuzz/README.md).
#
#   FUZZ_SECONDS=120 ./tests/fuzz/run.sh             # every target, 120 s each
#   FUZZ_TARGETS="http1 chunked" ./tests/fuzz/run.sh # some of them
#   FUZZ_BUILD_ONLY=1 ./tests/fuzz/run.sh            # build, do not run
#   FUZZ_CFLAGS=-DNAME ./tests/fuzz/run.sh           # extra compiler flags for every target
#
# Before fuzzing, each target replays tests/fuzz/regressions/<target>/* (inputs that once
# failed); a failing replay fails the run as a crash does.
#
# Works from any directory (it changes to the repository root). The committed corpus is only
# read: libFuzzer writes what it finds to build/fuzz/corpus-<target>, which later runs keep
# growing.
set -euo pipefail

cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-http1 chunked config values template extract threshold jdoc ws}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz

# Sources each target links, besides tests/fuzz/fuzz_<target>.c.
declare -A SRCS=(
    [http1]="src/http1.c"
    [chunked]="src/http1.c"
    # config_load reaches most of the library (plan, thresholds, outputs' names, TLS settings):
    # every source but main.c, so a new file never breaks the link.
    [config]="$(ls src/*.c | grep -v '^src/main.c$' | tr '\n' ' ')"
    [values]="src/value.c"
    [threshold]="src/threshold.c src/value.c"
    [jdoc]="src/jdoc.c"
    [template]="src/template.c src/template_expand.c"
    [extract]="src/extract.c src/json.c src/check.c src/value.c"
    [ws]="src/ws.c"
)
declare -A LIBS=(
    [http1]=""
    [chunked]=""
    [config]="$(pkg-config --libs inih libpcre2-8 wolfssl liburing zlib 2>/dev/null || echo -linih -lpcre2-8 -lwolfssl -luring -lz) -lsnappy -lm -lpthread"
    [values]="$(pkg-config --libs inih 2>/dev/null || echo -linih) -lm"
    [template]=""
    [extract]="-lpcre2-8"
    [threshold]="-lm"
    [jdoc]="-lm"
    [ws]="$(pkg-config --libs wolfssl 2>/dev/null || echo -lwolfssl)"
)
declare -A DICT=(
    [http1]=tests/fuzz/http1.dict
    [chunked]=tests/fuzz/http1.dict
    [config]=tests/fuzz/config.dict
    [values]=tests/fuzz/values.dict
    [template]=tests/fuzz/template.dict
    [extract]=tests/fuzz/extract.dict
    [threshold]=tests/fuzz/threshold.dict
    [jdoc]=tests/fuzz/jdoc.dict
    [ws]=tests/fuzz/ws.dict
)

if ! command -v "$CC" >/dev/null; then
    echo "fuzz: $CC not found (make fuzz-deps installs clang and libclang-rt-14-dev)" >&2
    exit 2
fi

# shellcheck disable=SC2054 # the commas are part of -fsanitize=...
CFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11
        -D_GNU_SOURCE -Iinclude)
# shellcheck disable=SC2207 # word splitting of pkg-config's output is intended
CFLAGS+=($(pkg-config --cflags inih liburing 2>/dev/null || true))
# shellcheck disable=SC2206 # extra flags from the caller, split like make would
CFLAGS+=(${FUZZ_CFLAGS:-})

mkdir -p "$OUT"

for t in $FUZZ_TARGETS; do
    if [[ -z ${SRCS[$t]+x} ]]; then
        echo "fuzz: unknown target '$t' (known: ${!SRCS[*]})" >&2
        exit 2
    fi
    echo "  FUZZCC $OUT/fuzz_$t"
    # The harness is held to -Werror; blast's sources are built as they are (their warnings are
    # make's business, and clang may warn about code gcc does not).
    objs=()
    "$CC" "${CFLAGS[@]}" -Wall -Wextra -Werror -c "tests/fuzz/fuzz_$t.c" -o "$OUT/fuzz_$t.o"
    objs+=("$OUT/fuzz_$t.o")
    for s in ${SRCS[$t]}; do
        o="$OUT/$(basename "$s" .c).o"
        "$CC" "${CFLAGS[@]}" -w -c "$s" -o "$o"
        objs+=("$o")
    done
    # shellcheck disable=SC2086 # LIBS is a word list
    "$CC" "${CFLAGS[@]}" "${objs[@]}" -o "$OUT/fuzz_$t" ${LIBS[$t]}
done

if [[ -n ${FUZZ_BUILD_ONLY:-} ]]; then
    exit 0
fi

status=0
summary=()
details=()
for t in $FUZZ_TARGETS; do
    work="$OUT/corpus-$t"
    mkdir -p "$work"
    if compgen -G "tests/fuzz/corpus/$t/*" >/dev/null; then
        cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
    fi
    log="$OUT/fuzz_$t.log"
    stamp="$OUT/.stamp-$t"
    touch "$stamp"
    env_run=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}"
             "UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}")

    regress=0
    if compgen -G "tests/fuzz/regressions/$t/*" >/dev/null; then
        if ! "${env_run[@]}" "$OUT/fuzz_$t" -timeout=10 -rss_limit_mb=2048 \
            tests/fuzz/regressions/"$t"/* >"$OUT/fuzz_$t.regressions.log" 2>&1; then
            regress=1
            status=1
        fi
    fi
    args=(-max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
          -artifact_prefix="$OUT/")
    if [[ -f ${DICT[$t]} ]]; then
        args+=(-dict="${DICT[$t]}")
    fi
    echo "  FUZZ   $t for ${FUZZ_SECONDS}s (log: $log)"
    rc=0
    started=$SECONDS
    "${env_run[@]}" "$OUT/fuzz_$t" "${args[@]}" "$work" >"$log" 2>&1 || rc=$?
    elapsed=$((SECONDS - started))

    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    if [[ -z $runs ]]; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
    fi
    if [[ -z $runs ]]; then # a crash ends the run before the final lines: take the last status
        runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    fi
    runs=${runs:-0}
    [[ -n $secs && $secs -gt 0 ]] || secs=$elapsed # a crash ends the run before "Done"
    [[ $secs -gt 0 ]] || secs=1
    corp=$(find "$work" -type f | wc -l)
    artifacts=$(find "$OUT" -maxdepth 1 -type f -newer "$stamp" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \
        -o -name 'slow-unit-*' \) | sort)
    rm -f "$stamp"
    if [[ $rc -ne 0 ]]; then
        status=1
        verdict="FAILED (exit $rc)"
    else
        verdict="ok"
    fi
    if [[ $regress -ne 0 ]]; then
        verdict="$verdict; a regression input fails (log: $OUT/fuzz_$t.regressions.log)"
    fi
    line=$(printf '%-8s %12s executions in %4ss  %9s exec/s  corpus %5s  %s' \
        "$t" "$runs" "$secs" "$((runs / secs))" "$corp" "$verdict")
    summary+=("$line")
    echo "  $line"
    if [[ $regress -ne 0 ]]; then
        grep -E '^(Running:|.*invariant broken|==[0-9]+==ERROR|SUMMARY)' \
            "$OUT/fuzz_$t.regressions.log" | head -n 6 | sed 's/^/    /' || true
    fi
    if [[ $rc -ne 0 ]]; then
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)' "$log" | head -n 5 |
            sed 's/^/    /' || true
        for a in $artifacts; do
            echo "    reproduce: $OUT/fuzz_$t $a"
        done
        # Again at the very end, where a CI log's tail shows it: the sanitizer's report (its
        # first frames) and the input itself, so that a failure seen only in CI can be replayed
        # (base64 -d > crash.ini; $OUT/fuzz_$t crash.ini).
        details+=("$t: $verdict")
        while IFS= read -r l; do details+=("  $l"); done < <(
            grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error| +#[0-9] )' \
                "$log" | head -n 12 || true)
        for a in $artifacts; do
            if [[ $(stat -c %s "$a") -le 4096 ]]; then
                details+=("  input $(basename "$a") as base64:")
                while IFS= read -r l; do details+=("  $l"); done < <(base64 -w 96 "$a")
            fi
        done
    fi
done

echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
if [[ ${#details[@]} -gt 0 ]]; then
    echo "what failed:"
    printf '  %s\n' "${details[@]}"
fi
exit $status
