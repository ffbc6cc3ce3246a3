# Start a throwaway PostgreSQL for the store tests.  Source it, do not run it:
#
#     . scripts/postgres-for-tests.sh; .venv/bin/pytest
#
# On success it exports COMPANION_TEST_POSTGRES_URL (psycopg 3 URL over a unix socket in
# a fresh temporary directory, so no TCP port is opened and no other cluster is touched).
# When it cannot, it prints one line saying why and exports COMPANION_TEST_POSTGRES_UNAVAILABLE
# with the same reason; the PostgreSQL tests then skip with it.
#
# The server stops, and its directory is removed, once the shell that sourced this file
# exits: a watcher process polls that shell's pid.  Clusters whose shell died without the
# watcher (a machine reboot, a kill -9 of both) are swept away by the next run.
#
# Plain POSIX sh (make runs recipes with /bin/sh); safe to source: no `set -e`, no `exit`,
# every helper and variable is prefixed and unset afterwards.
# An already exported COMPANION_TEST_POSTGRES_URL is left alone (bring your own server).

_cpg_say() {
    echo "postgres-for-tests: $*" >&2
}

_cpg_unavailable() {
    _cpg_say "PostgreSQL tests will be skipped: $*"
    COMPANION_TEST_POSTGRES_UNAVAILABLE="$*"
    export COMPANION_TEST_POSTGRES_UNAVAILABLE
}

# Server binaries: Debian keeps them under /usr/lib/postgresql/N/bin (the last N wins).
_cpg_bindir() {
    _cpg_found=""
    for _cpg_dir in /usr/lib/postgresql/*/bin; do
        [ -x "$_cpg_dir/postgres" ] && [ -x "$_cpg_dir/initdb" ] && _cpg_found="$_cpg_dir"
    done
    if [ -z "$_cpg_found" ] && command -v initdb >/dev/null 2>&1; then
        _cpg_found=$(dirname "$(command -v initdb)")
    fi
    if [ -n "$_cpg_found" ]; then echo "$_cpg_found"; fi
}

# Run a command as the cluster's owner: PostgreSQL refuses to run as root.
_cpg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c '"$0" "$@"' -- "$@"
        fi
    else
        "$@"
    fi
}

# Stop and remove clusters left behind by shells that no longer exist.
_cpg_sweep() {
    for _cpg_old in "${TMPDIR:-/tmp}"/companion-pg.*; do
        [ -d "$_cpg_old" ] || continue
        _cpg_owner=$(cat "$_cpg_old/owner.pid" 2>/dev/null)
        if [ -n "$_cpg_owner" ] && kill -0 "$_cpg_owner" 2>/dev/null; then
            continue
        fi
        _cpg_as_owner "$1/pg_ctl" -D "$_cpg_old/data" -m immediate stop >/dev/null 2>&1
        rm -rf "$_cpg_old"
    done
}

_cpg_main() {
    if [ -n "${COMPANION_TEST_POSTGRES_URL:-}" ]; then
        _cpg_say "using COMPANION_TEST_POSTGRES_URL from the environment"
        return 0
    fi
    unset COMPANION_TEST_POSTGRES_UNAVAILABLE

    _cpg_bin=$(_cpg_bindir)
    if [ -z "$_cpg_bin" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            _cpg_unavailable "no PostgreSQL server installed and not root to install it (apt-get install postgresql)"
            return 1
        fi
        if ! command -v apt-get >/dev/null 2>&1; then
            _cpg_unavailable "no PostgreSQL server installed and no apt-get to install it"
            return 1
        fi
        _cpg_say "installing Debian's postgresql package for the store tests"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends postgresql; } >/dev/null 2>&1; then
            _cpg_unavailable "apt-get install postgresql failed"
            return 1
        fi
        _cpg_bin=$(_cpg_bindir)
        if [ -z "$_cpg_bin" ]; then
            _cpg_unavailable "postgresql installed but no server binaries under /usr/lib/postgresql"
            return 1
        fi
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        _cpg_unavailable "running as root and there is no 'postgres' user to own the cluster"
        return 1
    fi

    _cpg_sweep "$_cpg_bin"

    _cpg_dir=$(mktemp -d "${TMPDIR:-/tmp}/companion-pg.XXXXXX") || {
        _cpg_unavailable "cannot create a temporary directory"
        return 1
    }
    echo "$$" >"$_cpg_dir/owner.pid"
    [ "$(id -u)" -eq 0 ] && chown postgres "$_cpg_dir"

    if ! _cpg_as_owner "$_cpg_bin/initdb" -D "$_cpg_dir/data" -U companion -A trust \
        -E UTF8 --locale=C --no-sync >"$_cpg_dir/initdb.log" 2>&1; then
        _cpg_unavailable "initdb failed (see $_cpg_dir/initdb.log)"
        return 1
    fi
    # Unix socket only, in our own directory; durability is pointless for a test cluster.
    if ! _cpg_as_owner "$_cpg_bin/pg_ctl" -D "$_cpg_dir/data" -l "$_cpg_dir/server.log" -w -t 30 \
        -o "-c listen_addresses='' -k $_cpg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start </dev/null >/dev/null 2>&1; then
        _cpg_unavailable "the server did not start (see $_cpg_dir/server.log)"
        rm -rf "$_cpg_dir/data"
        return 1
    fi

    # The watcher: once the sourcing shell is gone, stop the server and clean up.  Its
    # output goes nowhere so it never holds a pipe a caller is waiting on.
    # A subshell's $$ is still the sourcing shell's pid.
    (
        trap '' HUP INT
        while kill -0 "$$" 2>/dev/null; do sleep 1; done
        _cpg_as_owner "$_cpg_bin/pg_ctl" -D "$_cpg_dir/data" -m immediate stop
        rm -rf "$_cpg_dir"
    ) </dev/null >/dev/null 2>&1 &

    if ! _cpg_as_owner "$_cpg_bin/createdb" -h "$_cpg_dir" -U companion companion_test \
        >/dev/null 2>&1; then
        _cpg_unavailable "createdb failed (see $_cpg_dir/server.log)"
        return 1
    fi
    COMPANION_TEST_POSTGRES_URL="postgresql+psycopg://companion@/companion_test?host=$_cpg_dir"
    export COMPANION_TEST_POSTGRES_URL
    _cpg_say "throwaway PostgreSQL at $_cpg_dir (stops when this shell exits)"
    return 0
}

# Called in an || list so a caller's `set -e` cannot turn a failure here into its exit.
_cpg_main || :
unset -f _cpg_say _cpg_unavailable _cpg_bindir _cpg_as_owner _cpg_sweep _cpg_main
unset _cpg_found _cpg_dir _cpg_bin _cpg_old _cpg_owner
