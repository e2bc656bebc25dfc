"""The drill's safety net on the server it shuts down: if the wizard goes silent while that
server is out of service, the server puts itself back into operation.

The drill holds the host's lock (wizard.remote.guard) for as long as the peer is out, so no deploy
starts meanwhile, and runs a guard whose one job, after MISS_LIMIT seconds without a
heartbeat, is what the drill would have done next: set the server's own failover state to
recover over OMAPI, from the host itself, with omshell (shipped with ISC dhcpd). The key
reaches the host on stdin into a root-only file on tmpfs, next to a config that already holds
it, and is deleted with the guard's directory record.
"""

from __future__ import annotations

import shlex
import threading

from wizard.remote import guard

q = shlex.quote

SCRIPT = guard.PRELUDE + r"""
CLEANUP="recover.oms state.oms"
miss=0
while :; do
    case "$(readlink decided 2>/dev/null)" in
        commit|abort*) finish "drill-done" ;;
    esac
    if [ -e hb ]; then rm -f hb; miss=0; else miss=$((miss + 1)); fi
    echo "$miss" > miss
    if [ "$miss" -ge "$LIMIT" ]; then
        ln -s recover-heartbeat-lost decided 2>/dev/null
        log "no heartbeat for $LIMIT s: setting this server back to recover"
        # An upgrade's command may still run (a package manager half-way): let it end, up to
        # its own time limit, before the server is put back.
        if [ -e window.started ] && [ ! -e window.rc ]; then
            log "waiting for the maintenance command to end first"
            w=0; lim=$(cat window.limit 2>/dev/null || echo 1800)
            while [ ! -e window.rc ] && [ $w -lt "$lim" ]; do sleep 1; w=$((w + 1)); done
        fi
        # The wizard may have been cut off while it restarted dhcpd: the restart completes
        # (it runs detached), and OMAPI answers again once dhcpd is up, so try for a minute.
        # Only a server still shut down is put back: one the wizard already returned (normal,
        # or on its way) would be thrown out of normal by a recover, into an MCLT wait.
        sed '/^set local-state/,$d' recover.oms > state.oms
        n=0
        while [ $n -lt 30 ]; do
            omshell < state.oms > omshell.out 2>&1
            if grep -Eq 'local-state = ' omshell.out && \
                    ! grep -Eq 'local-state = (8|00:00:00:08)$' omshell.out; then
                finish "already-back"
            fi
            omshell < recover.oms > omshell.out 2>&1
            # omshell echoes the object after the update, the value as it was set (6).
            if grep -Eq 'local-state = (6|00:00:00:06)$' omshell.out; then finish recovered; fi
            n=$((n + 1)); sleep 2
        done
        finish "recover-failed"
    fi
    sleep 1
done
"""


def omshell_script(port: int, key_name: str, secret: str, relationship: str) -> str:
    rel = relationship.replace("\\", "\\\\").replace('"', '\\"')
    return (f"server 127.0.0.1\nport {int(port)}\nkey {key_name} {secret}\nconnect\n"
            f"new failover-state\nset name = \"{rel}\"\nopen\nset local-state = 6\nupdate\n")


class DrillGuard:
    """Started before a peer is shut down, finished once both are normal again."""

    def __init__(self, conn, role: str, *, omapi_port: int, key_name: str, secret: str,
                 relationship: str, owner: guard.Owner, miss_limit: int = guard.MISS_LIMIT,
                 restart: str | None = None, reconnect=None):
        self.conn, self.role = conn, role
        self.reconnect = reconnect          # () -> a new connection to this host, or None
        self.restart_command = restart      # None: the drill recovers it without a restart
        self.stamp = owner.stamp
        self.owner = owner
        self.miss_limit = miss_limit
        self.oms = omshell_script(omapi_port, key_name, secret, relationship)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost_contact = False

    def start(self) -> None:
        """Take the lock and arm the guard; raises RuntimeError with the reason if refused."""
        d = guard.run_dir(self.stamp)
        res = self.conn.run(guard.acquire(self.stamp, self.owner, self.restart_command or "true",
                                          self.miss_limit),
                            privileged=True, stdin=SCRIPT, timeout=15, label="drill guard")
        out = res.stdout.strip()
        if not out.endswith("locked"):
            raise RuntimeError(out or res.stderr.strip() or "could not take the lock")
        res = self.conn.run(f"umask 077; cat > {q(d)}/recover.oms", privileged=True,
                            stdin=self.oms, timeout=15, label="drill guard",
                            record_output=False)
        if not res.ok:
            self.finish()
            raise RuntimeError(res.stderr.strip() or "could not write the guard's recipe")
        self._thread = threading.Thread(target=self._beat, name="drill-heartbeat", daemon=True)
        self._thread.start()

    def restart(self, timeout: float = 90.0, contact_limit: float = 30.0) -> tuple[bool, str]:
        """Restart the server's dhcpd with the host's own command, detached (so a cut-off
        wizard never leaves it stopped). (ok, what happened). `lost_contact` is set when the
        host stopped answering for contact_limit seconds: the restart goes on there, and the
        wizard cannot tell how it ended."""
        import time

        self.lost_contact = False
        res = self.conn.run(guard.restart_detached(self.stamp), privileged=True, timeout=15,
                            label="drill restart")
        if not res.ok:
            return False, f"could not start `{self.restart_command}`: {res.stderr.strip()}"
        deadline = time.monotonic() + timeout
        heard = time.monotonic()
        while time.monotonic() < deadline:
            try:
                st = self.conn.run(guard.restart_status(self.stamp), privileged=True,
                                   timeout=10, label="drill restart", quiet=True)
            except Exception:  # noqa: BLE001 - the link dropped: the restart runs on; look again
                st = None
            if st is None or st.exit_code is None:
                if time.monotonic() - heard > contact_limit:
                    self.lost_contact = True
                    return False, (f"lost contact with {self.role} while its dhcpd restarted "
                                   f"(no answer over SSH for {contact_limit:.0f} s); the "
                                   f"restart runs detached there and completes by itself")
                self._reconnect()
                time.sleep(2.0)
                continue
            heard = time.monotonic()
            state, rc, pids, out = guard.parse_restart_status(st.stdout)
            if state == "done":
                if not pids:
                    return False, (f"`{self.restart_command}` exited {rc} and dhcpd is not "
                                   f"running: {out[-300:]}")
                return True, (f"`{self.restart_command}` exited {rc}; dhcpd runs as pid "
                              f"{' '.join(map(str, sorted(pids)))}")
            time.sleep(0.5)
        return False, f"`{self.restart_command}` did not finish within {timeout:.0f} s"

    def run_window(self, command: str, timeout: float, cancel=None,
                   on_wait=None) -> tuple[int | None, str]:
        """Run the operator's maintenance command on the shut-down host, detached (a dropped
        link or a killed wizard does not kill a package manager half-way; the guard waits
        for it before it puts the server back). Returns (exit code or None if still running
        after `timeout`, the end of its output). A cancel does not stop it: it is waited for."""
        import time

        d = guard.run_dir(self.stamp)
        res = self.conn.run(f"umask 077; cat > {q(d)}/window && "
                            f"echo {int(timeout)} > {q(d)}/window.limit",
                            privileged=True, stdin=command + "\n", timeout=15,
                            label="maintenance command")
        if not res.ok:
            return 127, f"could not hand the command to the host: {res.stderr.strip()}"
        res = self.conn.run(guard.run_detached(self.stamp, "window"), privileged=True,
                            timeout=15, label="maintenance command")
        if not res.ok:
            return 127, f"could not start the command: {res.stderr.strip()}"
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                st = self.conn.run(guard.detached_status(self.stamp, "window"),
                                   privileged=True, timeout=10, label="maintenance command",
                                   quiet=True)
            except Exception:  # noqa: BLE001 - the link dropped: the command runs on; look again
                self._reconnect()
                time.sleep(2.0)
                continue
            state, rc, _pids, out = guard.parse_restart_status(st.stdout)
            if st.ok and state == "done":
                return rc, out
            if on_wait is not None:
                on_wait(time.monotonic() - started)
            time.sleep(1.0)
        return None, f"still running after {timeout:.0f} s"

    def _reconnect(self) -> None:
        if self.reconnect is None:
            return
        try:
            self.conn = self.reconnect()
        except Exception:  # noqa: BLE001 - still cut off; the caller tries again
            pass

    def _beat(self) -> None:
        while not self._stop.wait(guard.HEARTBEAT):
            try:
                self.conn.run(guard.heartbeat(self.stamp), privileged=True, timeout=5,
                              label="heartbeat", quiet=True)
            except Exception:  # noqa: BLE001 - a missed beat; the guard counts them
                pass

    def finish(self) -> str:
        """Stand the guard down; returns what it says it did."""
        self._stop.set()
        try:
            self.conn.run(guard.decide(self.stamp, "commit"), privileged=True, timeout=10,
                          label="drill guard")
            res = self.conn.run(f"n=0; while [ ! -e {q(guard.run_dir(self.stamp))}/result ] "
                                "&& [ $n -lt 30 ]; do sleep 0.1; n=$((n+1)); done; "
                                + guard.result(self.stamp), privileged=True, timeout=10,
                                label="drill guard", quiet=True)
            return res.stdout.strip().splitlines()[0] if res.stdout.strip() else "pending"
        except Exception as exc:  # noqa: BLE001 - it stands down by itself (and recovers)
            return f"unreachable ({exc})"
