"""Shell snippets the apply step runs on the servers. POSIX sh, GNU and BSD userlands.

Kept apart from the transaction logic so what runs as root on a production server can be
read in one place.
"""

from __future__ import annotations

import shlex

q = shlex.quote

# Mode and owner of an existing file, on GNU (stat -c) and BSD (stat -f).
_META = ('if stat -c %a {src} >/dev/null 2>&1; then m=$(stat -c %a {src}); o=$(stat -c %u:%g {src}); '
         'else m=$(stat -f %Lp {src}); o=$(stat -f %u:%g {src}); fi')


def write_like(target: str, like: str, private: bool) -> str:
    """Read stdin into target with like's owner and mode; private drops the 'other' bits
    (a file that holds the OMAPI key is never world-readable)."""
    lines = [
        "set -e",
        "umask 077",
        # A full disk must not leave a truncated copy behind.
        f"cat > {q(target)} || {{ rm -f {q(target)}; exit 1; }}",
        f"if [ -e {q(like)} ]; then " + _META.format(src=q(like)) +
        f"; chown \"$o\" {q(target)}; chmod \"$m\" {q(target)}; else chmod 644 {q(target)}; fi",
    ]
    if private:
        lines.append(f"chmod o-rwx {q(target)}")
    return "\n".join(lines)


def detached(script: str) -> str:
    """Start `script` in the background, in a session of its own and holding none of ours
    (no terminal, no SSH channel): it outlives the SSH session that started it, which is the
    point of every timer, watchdog and maintenance window run this way. `$!` right after is
    its shell's pid (nohup and setsid exec, they do not fork)."""
    return f"nohup setsid sh -c {q(script)} >/dev/null 2>&1 </dev/null &"


def validate(dhcpd: str, conf: str) -> str:
    # Never -q: it hides the errors. -4: failover is IPv4 only.
    return f"{q(dhcpd)} -4 -t -cf {q(conf)}"


def backup(path: str, to: str, missing_ok: bool) -> str:
    if missing_ok:
        return f"if [ -e {q(path)} ]; then cp -p {q(path)} {q(to)}; else echo absent; fi"
    return f"cp -p {q(path)} {q(to)}"


def switch(tmp: str, target: str) -> str:
    # rename(2) in one directory is atomic: the file is either all old or all new.
    return f"mv -f {q(tmp)} {q(target)}"


def restore(backup_path: str, target: str) -> str:
    return f"cp -p {q(backup_path)} {q(target)}.dhcp-wizard-restore && " + switch(
        f"{target}.dhcp-wizard-restore", target)


def dhcpd_pids() -> str:
    """PIDs of the IPv4 dhcpd serving this host.

    Processes in another network namespace are skipped: on a host that runs containers (or
    the wizard's own lab) their dhcpd serves other networks, and its restart is not ours.
    """
    # Not the daemon: an empty command line (a `dhcpd --version` just ended, a zombie not
    # yet reaped) or a `-t`/`-T`/`--version` run; seen first after pids wrapped around, it
    # was taken for the server (`head -n 1`) and read as "no dhcpd runs".
    return ("me=$(readlink /proc/self/ns/net 2>/dev/null); "
            "for p in $(pgrep -x dhcpd 2>/dev/null); do "
            "if [ -r /proc/$p/cmdline ]; then a=$(tr '\\0' ' ' < /proc/$p/cmdline); "
            "[ -n \"$a\" ] || continue; "
            "[ \"$(readlink /proc/$p/ns/net 2>/dev/null)\" = \"$me\" ] || continue; "
            "else a=$(ps -o args= -p $p); fi; "
            "case \" $a \" in *' -6 '*|*' -t '*|*' -T '*|*' --version '*) ;; "
            "*) echo $p;; esac; done")


def dhcpd_log_tail(lines: int = 300) -> str:
    """The recent dhcpd log, wherever this system keeps it."""
    return (f"(journalctl -q -u isc-dhcp-server -u dhcpd -n {lines} --no-pager 2>/dev/null; "
            f"for f in /var/log/syslog /var/log/messages /var/log/dhcpd.log; do "
            f"[ -r $f ] && tail -n {lines * 4} $f | grep -i dhcpd; done) | tail -n {lines}")


def failover_link(ports: list[int]) -> str:
    """Established TCP connections on the failover ports with ms since data last arrived
    (`lastrcv`), one number a line; prints `no-ss` where iproute2's ss is missing."""
    flt = " or ".join(f"sport = :{int(p)} or dport = :{int(p)}" for p in sorted(set(ports)))
    return (f"command -v ss >/dev/null 2>&1 || {{ echo no-ss; exit 0; }}; "
            f"ss -tniH state established '( {flt} )' | "
            "sed -n 's/.*lastrcv:\\([0-9]*\\).*/\\1/p'")
