"""The three ways `protect firewall` puts its rules on a host, one class per way, all with
the same steps: what of ours is there, what the plan makes of it, the watchdog's backup and
restore, the apply, the persistence, the removal, the listing kept as evidence.

- Nft: our own table `inet dhcp_wizard` (nftables hosts, and hosts with no firewall but nft),
  persisted as a marked block in /etc/nftables.conf.
- Iptables: our own chain DHCP-WIZARD jumped from the top of INPUT (iptables-legacy, or
  iptables-nft without an nftables setup), persisted in /etc/iptables/rules.v4 where that
  layout (iptables-persistent) exists, runtime only otherwise.
- Firewalld: a policy and an ipset of our own in firewalld's permanent config, loaded by a
  reload (see firewall_firewalld for why).

Every kind's restore also puts back our nft table as it was: an earlier release applied
that table on every host, and a host whose kind now takes another way has it removed.
"""

from __future__ import annotations

import hashlib
import shlex

from wizard.errors import OperationFailed
from wizard.ops import firewall_firewalld as fwd
from wizard.ops import firewall_host as host
from wizard.ops import firewall_iptables as ipt
from wizard.ops.firewall_rules import (FAMILY, TABLE, Detected, Plan, apply_script, diff,
                                       planned_digest, restore_script)

D = host.RUN_DIR


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _nft_back(det: Detected) -> tuple[str, str]:
    """Backup and restore of our nft table (absent stays absent)."""
    if not det.has_nft:
        return "true", "true"
    return (f"{host.write_script('restore.nft', restore_script(det.ours))}; "
            f"nft -c -f {D}/restore.nft", f"nft -f {D}/restore.nft || rc=1")


def _drop_nft_table(det: Detected) -> str:
    return f"nft delete table {FAMILY} {TABLE}" if det.ours else "true"


class Backend:
    name = ""
    what = ""                     # what our rules are, for the diff's header
    persist_files: tuple[str, ...] = ()
    artifact_ext = "nft"
    # How long a restore over the old SSH session may take: short where our rules may have
    # cut that session (the watchdog is the fallback), long for firewalld's reload (its
    # policies never cut an established session: firewalld accepts those first).
    restore_timeout = 15

    def __init__(self, det: Detected):
        self.det = det

    # -- what is there, what is planned --------------------------------------------------
    def ours(self) -> str:
        raise NotImplementedError

    def planned(self, plan: Plan) -> str:
        raise NotImplementedError

    def in_place(self, plan: Plan) -> bool:
        raise NotImplementedError

    def anything(self) -> bool:
        """Anything of ours on the host, runtime or persisted."""
        raise NotImplementedError

    def change(self, plan: Plan, role: str) -> str:
        """What applying the plan changes, as a diff; "" when it is in place. Never "" when
        it is not: our rules as planned but not in effect (firewalld files not loaded, our
        iptables jump pushed down) have no diff of their text, and still need the apply."""
        if self.in_place(plan):
            return ""
        text = _nft_leftover_diff(self, role) + diff(self.ours(), self.planned(plan), role,
                                                     self.what)
        return text or (f"{role}: {self.what}: as planned, but not in effect (not loaded, or "
                        "not first); the apply puts it in effect\n")

    def removal(self, role: str) -> str:
        """What removal takes out, as a diff; "" when nothing of ours is there."""
        if not self.anything():
            return ""
        text = _nft_leftover_diff(self, role) + diff(self.ours(), "", role, self.what,
                                                     to="removed") + self.persisted_note()
        return text or f"{role}: {self.what}: still loaded at runtime; the removal drops it\n"

    # -- the transaction ---------------------------------------------------------------
    def arm_parts(self) -> tuple[str, str]:
        """(backup shell, restore.sh) for the watchdog."""
        backs, restores = [], []
        for n, path in enumerate(self.persist_files):
            b, r = host.keep_file(path, n)
            backs.append(b)
            restores.append(f"{{ {r}; }} || rc=1")
        b, r = self.runtime_back()
        nb, nr = _nft_back(self.det) if self.name != "nftables" else ("true", "true")
        backs += [b, nb]
        restores += [r, nr]
        return "; ".join(backs), "rc=0\n" + "\n".join(restores) + "\nexit $rc\n"

    def runtime_back(self) -> tuple[str, str]:
        raise NotImplementedError

    def apply_sh(self, plan: Plan) -> str:
        raise NotImplementedError

    def persist(self, conn, plan: Plan) -> str:
        raise NotImplementedError

    def remove_sh(self) -> str:
        raise NotImplementedError

    def unpersist(self, conn) -> str:
        raise NotImplementedError

    def persisted_note(self) -> str:
        """What of ours goes from the persisted config, beside the runtime diff."""
        return ""

    def listing_found(self) -> str | None:
        """The evidence listing as detection already read it (None: list it again)."""
        return None

    listing = ("nft list ruleset; echo '---- /etc/nftables.conf'; "
               "cat /etc/nftables.conf 2>/dev/null")


class Nft(Backend):
    name = "nftables"
    what = f"nft table {FAMILY} {TABLE}"
    persist_files = (host.NFTABLES_CONF,)

    def ours(self) -> str:
        return self.det.ours

    def planned(self, plan: Plan) -> str:
        return plan.table

    def in_place(self, plan: Plan) -> bool:
        return planned_digest(self.det.ours) == plan.digest

    def anything(self) -> bool:
        return bool(self.det.ours) or self.det.nftables_conf_ours

    def runtime_back(self) -> tuple[str, str]:
        return (f"{host.write_script('restore.nft', restore_script(self.det.ours))}; "
                f"nft -c -f {D}/restore.nft", f"nft -f {D}/restore.nft || rc=1")

    def apply_sh(self, plan: Plan) -> str:
        return host.apply(apply_script(plan))

    def persist(self, conn, plan: Plan) -> str:
        res = conn.run(host.persist(), privileged=True, label="firewall-persist")
        out = res.stdout.strip().splitlines()[-1] if res.ok and res.stdout \
            else f"failed: {res.stderr.strip()[:200]}"
        if out == "persisted" and "nftables-enabled" not in self.det.persist:
            out += (" in /etc/nftables.conf (nftables.service is not enabled: "
                    "`systemctl enable nftables` loads it at boot)")
        elif out == "persisted":
            out += " in /etc/nftables.conf"
        elif out == "no-nftables-conf":
            out = "runtime only (no /etc/nftables.conf on this host)"
        return out

    def remove_sh(self) -> str:
        return f"nft delete table {FAMILY} {TABLE}" if self.det.ours else "true"

    def persisted_note(self) -> str:
        return (f"{host.NFTABLES_CONF}: the marked block `{host.BEGIN}` ... `{host.END}` "
                "goes\n") if self.det.nftables_conf_ours else ""

    def unpersist(self, conn) -> str:
        res = conn.run(host.unpersist(), privileged=True, label="firewall-unpersist")
        return res.stdout.strip().splitlines()[-1] if res.ok and res.stdout \
            else f"failed: {res.stderr.strip()[:200]}"


class Iptables(Backend):
    name = "iptables"
    what = f"iptables chain {ipt.CHAIN}"
    artifact_ext = "iptables"

    def __init__(self, det: Detected):
        super().__init__(det)
        self.v = det.iptables_variant
        self.persist_files = (ipt.RULES_V4,) if det.rules_v4 is not None else ()

    def ours(self) -> str:
        return ipt.ours(self.det.iptables)

    def planned(self, plan: Plan) -> str:
        return ipt.planned(plan)

    def in_place(self, plan: Plan) -> bool:
        return planned_digest(self.ours()) == plan.digest and ipt.jump_first(self.det.iptables)\
            and not self.det.ours

    def anything(self) -> bool:
        persisted = self.det.rules_v4 is not None and \
            ipt.rules_v4_without(self.det.rules_v4) != self.det.rules_v4
        return bool(self.ours()) or persisted or bool(self.det.ours)

    def runtime_back(self) -> tuple[str, str]:
        # The whole filter table as it was (the only table we touch), restored whole: the
        # exact state before, whatever happened to it since.
        return (f"{self.v}-save -t filter > {D}/iptables.save; "
                f"{self.v}-restore --test < {D}/iptables.save",
                f"{self.v}-restore < {D}/iptables.save || rc=1")

    def apply_sh(self, plan: Plan) -> str:
        script = ipt.apply_script(plan, self.det.iptables)
        return (f"{host.write_script('apply.iptables', script)} && "
                f"{self.v}-restore --noflush --test < {D}/apply.iptables && "
                f"{self.v}-restore --noflush < {D}/apply.iptables && "
                f"{_drop_nft_table(self.det)}")

    def persist(self, conn, plan: Plan) -> str:
        if self.det.rules_v4 is None:
            return ("runtime only (no /etc/iptables/rules.v4: install iptables-persistent, or "
                    "save the rules the way this host loads them at boot)")
        new = ipt.rules_v4_with(self.det.rules_v4, plan)
        return self._write_rules_v4(conn, new, "persisted in /etc/iptables/rules.v4")

    def _write_rules_v4(self, conn, new: str, said: str) -> str:
        res = conn.run(host.write_checked(ipt.RULES_V4, new, _sha(self.det.rules_v4),
                                          f"{self.v}-restore --test"),
                       privileged=True, label="firewall-persist")
        out = res.stdout.strip().splitlines()[-1] if res.ok and res.stdout else \
            f"failed: {res.stderr.strip()[:200]}"
        return {"written": said,
                "changed-since-read": f"not written: {ipt.RULES_V4} changed since it was "
                                      "read; run again",
                "check-failed": f"not written: {self.v}-restore --test refused the new "
                                f"{ipt.RULES_V4} (kept as it was)"}.get(out, out)

    def remove_sh(self) -> str:
        script = ipt.remove_script(self.det.iptables)
        if script is None:
            return _drop_nft_table(self.det)
        return (f"t=$(mktemp) && printf %s {shlex.quote(script)} > $t && "
                f"{self.v}-restore --noflush < $t && rm -f $t && {_drop_nft_table(self.det)}")

    def unpersist(self, conn) -> str:
        if self.det.rules_v4 is None:
            return "nothing"
        new = ipt.rules_v4_without(self.det.rules_v4)
        if new == self.det.rules_v4:
            return "nothing"
        return self._write_rules_v4(conn, new, "unpersisted")

    def persisted_note(self) -> str:
        if self.det.rules_v4 is None:
            return ""
        new = ipt.rules_v4_without(self.det.rules_v4)
        return diff(self.det.rules_v4, new, "", ipt.RULES_V4, to="without ours") \
            if new != self.det.rules_v4 else ""

    @property
    def listing(self) -> str:
        # Without iptables-save's time stamps, so that equal rules hash equal.
        return (f"{self.v}-save | grep -v '^# \\(Generated\\|Completed\\)'; "
                f"echo '---- {ipt.RULES_V4}'; cat {ipt.RULES_V4} 2>/dev/null; "
                "command -v nft >/dev/null 2>&1 && { echo '---- nft list ruleset'; "
                "nft list ruleset; }; true")


class Firewalld(Backend):
    name = "firewalld"
    what = f"firewalld policy {fwd.POLICY} and ipset {fwd.IPSET} (permanent)"
    persist_files = fwd.FILES
    artifact_ext = "firewalld"
    restore_timeout = 130
    listing = ("firewall-cmd --list-all-zones; echo '---- policies'; "
               "firewall-cmd --list-all-policies; echo '---- ipsets'; "
               # Only when it exists: firewalld logs an ERROR for every query of a missing one.
               f"firewall-cmd --get-ipsets | tr ' ' '\\n' | grep -qx {fwd.IPSET} && "
               f"firewall-cmd --info-ipset={fwd.IPSET}; "
               f"echo '---- {fwd.POLICY_FILE}'; cat {fwd.POLICY_FILE} 2>/dev/null; "
               f"echo '---- {fwd.IPSET_FILE}'; cat {fwd.IPSET_FILE} 2>/dev/null; "
               "echo '---- nft list ruleset'; nft list ruleset")

    def ours(self) -> str:
        return fwd.files_text(self.det.firewalld_policy, self.det.firewalld_ipset)

    def listing_found(self) -> str | None:
        # The drift check listed the whole runtime config already: a dozen calls saved.
        if not self.det.firewalld_listing:
            return None
        return (f"{self.det.firewalld_listing}\n---- {fwd.POLICY_FILE}\n"
                f"{self.det.firewalld_policy}---- {fwd.IPSET_FILE}\n{self.det.firewalld_ipset}"
                f"---- nft list ruleset\n{self.det.nft_ruleset}\n")

    def planned(self, plan: Plan) -> str:
        return fwd.planned(plan)

    def in_place(self, plan: Plan) -> bool:
        # Our files as planned, loaded (runtime), and no nft table of ours beside them.
        return self.ours() == fwd.planned(plan) and \
            set(self.det.firewalld_runtime) == {"policy", "ipset"} and not self.det.ours

    def anything(self) -> bool:
        return bool(self.ours()) or bool(self.det.firewalld_runtime) or bool(self.det.ours)

    def runtime_back(self) -> tuple[str, str]:
        # Runtime comes from the permanent files: they are put back (keep_file), then this
        # reload makes the runtime what it was (the host had no runtime-only settings).
        return "true", "timeout 120 firewall-cmd --reload || rc=1"

    def apply_sh(self, plan: Plan) -> str:
        return (f"set -e; mkdir -p {shlex.quote(fwd.POLICY_FILE.rsplit('/', 1)[0])} "
                f"{shlex.quote(fwd.IPSET_FILE.rsplit('/', 1)[0])}; "
                f"printf %s {shlex.quote(fwd.ipset_xml(plan))} > {fwd.IPSET_FILE}; "
                f"printf %s {shlex.quote(fwd.policy_xml(plan))} > {fwd.POLICY_FILE}; "
                "firewall-cmd --check-config; timeout 120 firewall-cmd --reload; "
                f"{_drop_nft_table(self.det)}")

    def persist(self, conn, plan: Plan) -> str:
        return (f"persisted (firewalld permanent config: policy {fwd.POLICY}, ipset "
                f"{fwd.IPSET}; loaded by a reload and at every start)")

    def remove_sh(self) -> str:
        return (f"set -e; rm -f {' '.join(fwd.FILES)}; "
                "timeout 120 firewall-cmd --reload; "
                f"{_drop_nft_table(self.det)}")

    def unpersist(self, conn) -> str:
        return "unpersisted (our firewalld files removed with the reload)"


def _nft_leftover_diff(be: Backend, role: str) -> str:
    """Our nft table on a host that now takes another way (left by an earlier release):
    it goes with this change."""
    if be.name == "nftables" or not be.det.ours:
        return ""
    return diff(be.det.ours, "", role)


def backend_for(det: Detected, role: str) -> Backend:
    """The way this host takes our rules, or why it cannot (nothing is changed then)."""
    if det.kind == "firewalld":
        if det.firewalld_drift is None:
            raise OperationFailed(f"{role}: firewalld is running but its state could not be "
                                  "read", "check `firewall-cmd --state` on the host")
        if not det.firewalld_policies:
            raise OperationFailed(f"{role}: this firewalld has no policies (0.9 or later is "
                                  "needed)", "upgrade firewalld, or limit the failover port "
                                  "and OMAPI with rich rules in the host's zones yourself")
        if det.firewalld_drift.strip():
            raise OperationFailed(
                f"{role}: firewalld's runtime differs from its permanent config, and the "
                "reload that loads dhcp-wizard's policy would throw the difference away:\n"
                + det.firewalld_drift.strip()[:1500],
                "make those settings permanent (`firewall-cmd --runtime-to-permanent`) or "
                "drop them (`firewall-cmd --reload`), then run again; nothing was changed")
        return Firewalld(det)
    if det.kind == "iptables":
        if not det.iptables_variant:
            raise OperationFailed(f"{role}: iptables rules but no iptables-save/-restore",
                                  "install the iptables package")
        return Iptables(det)
    if det.kind == "nftables" or (det.kind == "none" and det.has_nft):
        if not det.has_nft:
            raise OperationFailed(f"{role}: no `nft` on the host", "install nftables")
        return Nft(det)
    if det.iptables_tools:
        return Iptables(det)
    raise OperationFailed(f"{role}: neither nft nor iptables on the host",
                          "install nftables; the wizard's rules live in a table of their own")
