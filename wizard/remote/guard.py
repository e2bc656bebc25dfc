"""The host-side half of every change: a lock, and a guard that finishes the job alone.

A change of a production pair must end with each server on a valid, serving config whatever
happens to the wizard: killed, interrupted, its terminal lost, its link cut. So on each host,
before anything is written, the wizard starts a small detached shell process, the guard, that:

- holds the host's lock (`/var/run/dhcp-wizard/lock`, a symlink to this run's directory), so
  a second run refuses instead of interleaving backups and restarts with the first;
- expects a heartbeat: the wizard touches `hb` every HEARTBEAT seconds over SSH. When none
  has come for MISS_LIMIT seconds, the guard decides on its own: before the switch it removes
  the uploaded files; after it, it restores the backups and restarts dhcpd (again, with the
  lease backup too, if dhcpd will not run), so the host serves again within about
  MISS_LIMIT plus one restart;
- carries out the wizard's decision (`decided`, a symlink whose target is the decision, so
  that writing it is one atomic step and the guard and the wizard cannot both decide):
  `commit`, `abort` or `rollback`. A rollback is always done by the guard, so a wizard that
  dies halfway through its rollback leaves nothing half-done. An operation that changes more
  than files (`protect tunnel` brings a tunnel up) leaves its own undo script, `undo`, which
  the rollback runs before it restarts dhcpd.

Everything lives in /var/run (tmpfs, root only, gone at boot together with the guard), except
the backups, which sit beside the files they back up.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from wizard.remote import shell as sh

BASE = "/var/run/dhcp-wizard"
LOCK = f"{BASE}/lock"
HEARTBEAT = 2.0
# 15 s: seven missed heartbeats, far beyond an SSH hiccup, short enough that a network left
# without DHCP by a dead wizard is served again within about 20 s (one restart takes ~4 s).
MISS_LIMIT = 15

q = shlex.quote

# What every guard script starts with (POSIX sh, run as root): its directory, the lock it
# releases, its log and its one-line account. $1: seconds without a heartbeat before it acts.
PRELUDE = r"""
D=$(cd "$(dirname "$0")" && pwd) || exit 1
G=$(dirname "$D")
LIMIT=${1:-15}
cd "$D" || exit 1
echo $$ > guard.pid
log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> guard.log; }
decision() { readlink decided 2>/dev/null; }
release() {
    [ "$(readlink "$G/lock" 2>/dev/null)" = "$(basename "$D")" ] && rm -f "$G/lock"
    rm -f guard.pid
}
finish() {
    [ -n "${CLEANUP:-}" ] && rm -f $CLEANUP
    printf '%s\n' "$1" > result.tmp && mv -f result.tmp result; log "$1"; release; exit 0
}
"""

SCRIPT = PRELUDE + r"""
dhcpd_running() { [ -n "$(sh ./pids 2>/dev/null)" ]; }
remove_uploads() {
    [ -e tmpfiles ] || return 0
    while IFS= read -r f; do [ -n "$f" ] && rm -f -- "$f"; done < tmpfiles
}
wait_for_restart() {
    n=0
    while [ -e restart.started ] && [ ! -e restart.rc ] && [ "$n" -lt 120 ]; do
        sleep 1; n=$((n + 1))
    done
}
rollback() {
    log "rollback: $(decision)"
    wait_for_restart
    bad=""
    while IFS='	' read -r bak target; do
        [ -n "$bak" ] || continue
        if cp -p -- "$bak" "$target.dhcp-wizard-restore" && \
                mv -f -- "$target.dhcp-wizard-restore" "$target"; then
            log "restored $target"
        else
            bad="$bad $target"; log "cannot restore $target"
        fi
    done < restore
    remove_uploads
    # What else the change put in place (a tunnel, say) goes before dhcpd restarts on the
    # old config; `undo` is written by the operation that needs it, idempotent.
    if [ -s undo ]; then sh ./undo >> rollback.out 2>&1; log "undo exit $?"; fi
    tries=0
    while [ "$tries" -lt 3 ]; do
        tries=$((tries + 1))
        sh ./restart > rollback.out 2>&1
        echo "restart exit $?" >> rollback.out
        n=0
        while [ "$n" -lt 5 ] && ! dhcpd_running; do sleep 1; n=$((n + 1)); done
        if dhcpd_running; then
            [ -n "$bad" ] && finish "rolled-back incomplete:$bad"
            finish "rolled-back running"
        fi
        # Lease state written under the new config can stop the old one from starting;
        # the lease backup is from just before the switch.
        if [ "$tries" = 1 ] && [ -s lease ]; then
            IFS='	' read -r lbak lpath < lease
            cp -p -- "$lbak" "$lpath" && log "restored $lpath"
        fi
        sleep 2
    done
    finish "rolled-back not-running"
}
miss=0
while :; do
    case "$(decision)" in
        commit) remove_uploads; finish committed ;;
        abort*) remove_uploads; finish aborted ;;
        rollback*)
            if [ "$(cat phase 2>/dev/null)" = armed ]; then rollback; fi
            remove_uploads; finish aborted ;;
    esac
    if [ -e hb ]; then rm -f hb; miss=0; else miss=$((miss + 1)); fi
    echo "$miss" > miss
    if [ "$miss" -ge "$LIMIT" ]; then
        ln -s rollback-heartbeat-lost decided 2>/dev/null && log "no heartbeat for $LIMIT s"
        continue
    fi
    sleep 1
done
"""


@dataclass(frozen=True)
class Owner:
    """Who holds a lock: enough to tell the operator who to ask, or that it is stale."""

    pid: int
    host: str
    user: str
    command: str
    session: str
    stamp: str

    def line(self) -> str:
        return (f"pid={self.pid} host={self.host} user={self.user} command={self.command} "
                f"session={self.session} stamp={self.stamp}")

    @classmethod
    def parse(cls, text: str) -> "Owner | None":
        fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
        try:
            return cls(int(fields["pid"]), fields.get("host", "?"), fields.get("user", "?"),
                       fields.get("command", "?"), fields.get("session", "?"),
                       fields.get("stamp", "?"))
        except (KeyError, ValueError):
            return None


def run_dir(stamp: str) -> str:
    return f"{BASE}/{stamp}"


def acquire(stamp: str, owner: Owner, restart: str, miss_limit: int = MISS_LIMIT) -> str:
    """Take the lock and start the guard. Prints `locked` on success; `held` and the holder's
    details when another run holds it (a live guard); exits 0 either way."""
    d = run_dir(stamp)
    return "\n".join([
        "umask 077",
        f"mkdir -p {q(BASE)} && chmod 700 {q(BASE)} || exit 1",
        f"mkdir {q(d)} || exit 1",
        # A lock whose guard is gone (killed, or a reboot took /var/run's process but not a
        # persistent /var/run) is stale: take it over, the scan has reported it.
        f"if [ -L {q(LOCK)} ]; then o=$(readlink {q(LOCK)}); "
        f"p=$(cat {q(BASE)}/\"$o\"/guard.pid 2>/dev/null); "
        f"if [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null; then echo held \"$o\"; "
        f"cat {q(BASE)}/\"$o\"/owner 2>/dev/null; echo; cat {q(BASE)}/\"$o\"/miss 2>/dev/null; "
        f"rm -rf {q(d)}; exit 0; fi; rm -f {q(LOCK)}; fi",
        f"ln -s {q(stamp)} {q(LOCK)} || {{ echo held; rm -rf {q(d)}; exit 0; }}",
        f"printf '%s\\n' {q(owner.line())} > {q(d)}/owner",
        f"echo prepare > {q(d)}/phase",
        f"printf '%s\\n' {q(restart)} > {q(d)}/restart",
        f"printf '%s\\n' {q(sh.dhcpd_pids())} > {q(d)}/pids",
        f": > {q(d)}/restore; : > {q(d)}/tmpfiles; touch {q(d)}/hb",
        f"cat > {q(d)}/guard.sh",
        f"nohup setsid sh {q(d)}/guard.sh {int(miss_limit)} >/dev/null 2>&1 </dev/null &",
        f"n=0; while [ ! -s {q(d)}/guard.pid ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done",
        f"[ -s {q(d)}/guard.pid ] && echo locked",
    ])


def add_tmp(stamp: str, path: str) -> str:
    """Record an uploaded file before it is written, so an abort removes even a partial one."""
    return f"printf '%s\\n' {q(path)} >> {q(run_dir(stamp))}/tmpfiles"


def arm(stamp: str, restore: list[tuple[str, str]], lease: tuple[str, str] | None) -> str:
    """From here on, a missing heartbeat or a rollback decision restores the backups."""
    d = run_dir(stamp)
    rows = "".join(f"{b}\t{t}\n" for b, t in restore)
    lines = [f"printf '%s' {q(rows)} > {q(d)}/restore"]
    if lease:
        lines.append(f"printf '%s\\t%s\\n' {q(lease[0])} {q(lease[1])} > {q(d)}/lease")
    lines.append(f"echo armed > {q(d)}/phase")
    return " && ".join(lines)


def heartbeat(stamp: str) -> str:
    # Fails (exit 1) once the guard has decided by itself, so the wizard learns it at once.
    d = run_dir(stamp)
    return f"[ ! -L {q(d)}/decided ] && touch {q(d)}/hb"


def decide(stamp: str, what: str) -> str:
    """Prints the decision in force: ours, or the guard's if it decided first."""
    d = run_dir(stamp)
    return f"ln -s {q(what)} {q(d)}/decided 2>/dev/null; readlink {q(d)}/decided"


def result(stamp: str) -> str:
    d = run_dir(stamp)
    return (f"cat {q(d)}/result 2>/dev/null || echo pending; "
            f"tail -n 20 {q(d)}/rollback.out 2>/dev/null | sed 's/^/| /'")


def run_detached(stamp: str, name: str) -> str:
    """Run the guard directory's script NAME in its own session: it completes even if our SSH
    session dies (a restart, or the operator's upgrade command in a maintenance window).
    NAME.rc appears, atomically, when it has ended; NAME.out holds what it printed."""
    d = run_dir(stamp)
    f = f"{q(d)}/{name}"
    body = (f"echo $$ > {f}.started; sh {f} > {f}.out 2>&1; "
            f"echo $? > {f}.rc.tmp; mv -f {f}.rc.tmp {f}.rc")
    return (f"rm -f {f}.started {f}.rc; "
            f"{sh.detached(body)} "
            f"n=0; while [ ! -e {f}.started ] && [ $n -lt 50 ]; do sleep 0.1; "
            f"n=$((n+1)); done; [ -e {f}.started ]")


def restart_detached(stamp: str) -> str:
    """Start the host's restart command (written to `restart` by acquire()) detached."""
    return run_detached(stamp, "restart")


def pid_set(text: str) -> set[int]:
    """The pids in a snippet's output (sh.dhcpd_pids() prints them one a line)."""
    return {int(p) for p in text.split() if p.isdigit()}


def parse_restart_status(stdout: str) -> tuple[str, int | None, set[int], str]:
    """detached_status()'s output as (`running` or `done`, exit code or None, dhcpd pids,
    the restart's own output)."""
    head, _, rest = stdout.partition("\n--\n")
    pids_text, _, out = rest.partition("\n--\n")
    words = head.split()
    rc = int(words[1]) if len(words) > 1 and words[1].lstrip("-").isdigit() else None
    return (words[0] if words else "running"), rc, pid_set(pids_text), out.strip()


def detached_status(stamp: str, name: str) -> str:
    """`running`, or `done RC` with the script's output; then the dhcpd pids."""
    d = run_dir(stamp)
    f = f"{q(d)}/{name}"
    return (f"if [ -e {f}.rc ]; then echo done $(cat {f}.rc); "
            f"else echo running; fi; echo '--'; sh {q(d)}/pids; echo '--'; "
            f"tail -c 800 {f}.out 2>/dev/null")


def restart_status(stamp: str) -> str:
    return detached_status(stamp, "restart")
