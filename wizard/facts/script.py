"""The one shell script that gathers every fact of a host in a single SSH round trip.

POSIX sh only (dash, bash, FreeBSD sh): it runs with `sh -s` whatever the login shell is.
Each section starts with a marker line; the pure parsers in wizard.facts.parse read them.
Nothing here changes the host.
"""

from __future__ import annotations

MARK = "@@dhw@@"

SCRIPT = r"""
LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin:/usr/local/bin"
sec() { echo "@@dhw@@ $1"; }
has() { command -v "$1" >/dev/null 2>&1; }
sec os-release; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
sec uname; uname -srm
sec dhcpd
for d in "$(command -v dhcpd 2>/dev/null)" /usr/sbin/dhcpd /usr/local/sbin/dhcpd; do
  if [ -n "$d" ] && [ -x "$d" ]; then echo "path $d"; "$d" --version 2>&1; break; fi
done
sec pidfiles
for f in /run/dhcpd.pid /var/run/dhcpd.pid /run/dhcp-server/dhcpd.pid /run/dhcpd/dhcpd.pid \
         /var/run/dhcpd/dhcpd.pid; do
  [ -r "$f" ] && echo "$f $(cat "$f" 2>/dev/null)"
done
sec procs
me=$(readlink /proc/$$/ns/net 2>/dev/null)
ps ax -o pid= -o args= 2>/dev/null | awk '{ n = $2; sub(/.*\//, "", n); if (n == "dhcpd") print }' |
while read -r pid args; do
  if [ -n "$me" ]; then
    ns=$(readlink /proc/$pid/ns/net 2>/dev/null)
    if [ -z "$ns" ]; then same="?"; elif [ "$ns" = "$me" ]; then same=1; else same=0; fi
  else same="?"; fi
  echo "$pid $same $args"
done
sec config-files
for f in /etc/default/isc-dhcp-server /etc/sysconfig/dhcpd; do
  [ -r "$f" ] && { echo "@@file $f"; cat "$f"; }
done
for f in /etc/rc.conf /etc/rc.conf.local; do
  [ -r "$f" ] && { echo "@@file $f"; grep -E '^[[:space:]]*dhcpd_' "$f"; }
done
sec service
[ -d /run/systemd/system ] && echo "manager systemd"
for s in /etc/init.d/isc-dhcp-server /etc/init.d/dhcpd /etc/rc.d/init.d/dhcpd \
         /usr/local/etc/rc.d/isc-dhcpd /usr/local/etc/rc.d/dhcpd; do
  [ -x "$s" ] && echo "script $s"
done
has service && echo "service-command $(command -v service)"
if [ -d /run/systemd/system ]; then
  for u in isc-dhcp-server.service dhcpd.service; do
    echo "unit $u"
    systemctl show -p LoadState -p ActiveState -p FragmentPath -p ExecStart "$u" 2>/dev/null
  done
fi
sec interfaces
if has ip && ip -j addr >/dev/null 2>&1; then echo "#ip-json"; ip -j addr
elif has ifconfig; then echo "#ifconfig"; ifconfig -a
fi
sec ntp
if has chronyc; then echo "#chronyc"; chronyc -n -c tracking 2>&1; fi
if has ntpq; then echo "#ntpq"; ntpq -pn 2>&1; fi
if [ -d /run/systemd/system ] && has timedatectl; then
  echo "#timedatectl"; timedatectl show -p NTP -p NTPSynchronized 2>&1
fi
sec listen
if has ss; then echo "#ss"; ss -lntu 2>/dev/null
elif has sockstat; then echo "#sockstat"; sockstat -4l 2>/dev/null
elif has netstat; then echo "#netstat"; netstat -an 2>/dev/null
fi
sec tools
for t in bash nc ncat python3 timeout dhcrelay; do has "$t" && echo "$t $(command -v "$t")"; done
sec end
"""


def split_sections(output: str) -> dict[str, str]:
    """Script output -> {section name: text}."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            current = sections.setdefault(line[len(MARK) + 1:].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) + ("\n" if lines else "") for name, lines in sections.items()}
