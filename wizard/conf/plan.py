"""Both new configs of a failover pair, from the two current ones and the answers."""

from __future__ import annotations

import re

from wizard import forked
from wizard.answers import Answers
from wizard.conf import edits, failover, omapi, omapi_key, owners, pairing
from wizard.conf.diff import unified
from wizard.conf.loader import Loader, LocalLoader, MemoryLoader
from wizard.conf.located import secrets_in
from wizard.conf.model import Config, _at, load, read
from wizard.conf.parser import paused_gc
from wizard.conf.tree import Document
from wizard.errors import InputError

_BARE_NEWLINE = re.compile(r"(?<!\r)\n")


# Plain classes rather than dataclasses: `plan --from` is timed against one `dhcpd -t`, and
# importing dataclasses (inspect with it) and building its classes cost it about 10 ms.
class FilePlan:
    """One file of a server before and after the plan."""

    __slots__ = ("role", "path", "before", "after", "includes", "made_diff")

    def __init__(self, role: str, path: str, before: str, after: str,
                 includes: dict[str, str] | None = None, made_diff: str | None = None):
        self.role, self.path, self.before, self.after = role, path, before, after
        # What each include statement of the file names -> the path of the file it brought in.
        self.includes = {} if includes is None else includes
        # The unified diff once made (a campus config's costs tens of milliseconds).
        self.made_diff = made_diff

    def __repr__(self) -> str:
        return f"FilePlan({self.role!r}, {self.path!r}, changed={self.changed})"

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        if self.made_diff is None:
            name = self.path.lstrip("/")
            self.made_diff = unified(self.before, self.after, f"a/{name}", f"b/{name}") \
                if self.changed else ""
        return self.made_diff

    def swapped(self) -> "FilePlan":
        """The way back: after becomes before (its diff made anew, not this one's)."""
        return FilePlan(self.role, self.path, self.after, self.before, self.includes)


class PairPlan:
    """Both servers' files, the OMAPI secret they end with, and what the plan found."""

    def __init__(self, files: list[FilePlan], secret: str, secret_origin: str,
                 differences: list[pairing.Difference] | None = None,
                 notes: list[str] | None = None, input_secrets: list[str] | None = None):
        self.files, self.secret, self.secret_origin = files, secret, secret_origin
        self.differences = [] if differences is None else differences
        self.notes = [] if notes is None else notes
        # Every secret the input configs hold: a key's old secret shows in the diff where the
        # plan replaces it, and the statement-shaped masking misses one written on a line of
        # its own or after a comment (`secret # vault` NEWLINE `VALUE;`).
        self.input_secrets = [] if input_secrets is None else input_secrets

    def __repr__(self) -> str:
        return f"PairPlan({self.files!r}, secret_origin={self.secret_origin!r})"

    def swapped(self) -> "PairPlan":
        """The plan that undoes this one, file by file."""
        return PairPlan([f.swapped() for f in self.files], self.secret, self.secret_origin,
                        self.differences, self.notes, self.input_secrets)

    def register_secrets(self, redactor) -> None:
        redactor.add(self.secret)
        for secret in self.input_secrets:
            redactor.add(secret)

    def main(self, role: str) -> FilePlan:
        return next(f for f in self.files if f.role == role)

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)

    def record(self, session) -> int:
        """Every file before and after as session artifacts, under names of this plan's own
        (plan1-primary.before.conf, ...): the TUI plans again each time Review is reached,
        and an earlier plan's files stay as they were hashed. The secret is registered first,
        so no artifact or event can carry it. Returns the plan's number in the session."""
        self.register_secrets(session.redactor)
        number = session.count("plan", "plan") + 1
        # Numbered before its files, so that a plan cut short still owns its number.
        session.event("plan", "plan", plan=number, changed=self.changed, notes=self.notes,
                      secret_origin=self.secret_origin)
        stems: set[str] = set()
        for file in self.files:
            base = stem = file.role if file is self.main(file.role) else \
                f"{file.role}-{file.path.rsplit('/', 1)[-1]}"
            # Two includes may share a file name in different directories.
            while stem in stems:
                stem = f"{base}-{len(stems)}"
            stems.add(stem)
            for when, text in (("before", file.before), ("after", file.after)):
                session.artifact(f"plan{number}-{stem}.{when}.conf", text, step="plan",
                                 host=file.role, path=file.path, plan=number)
        return number


def peer_specs(answers: Answers) -> tuple[failover.PeerSpec, failover.PeerSpec]:
    fo = answers.failover
    p_addr = fo.primary_address or answers.primary.host
    s_addr = fo.secondary_address or answers.secondary.host
    common = dict(name=fo.name, max_response_delay=fo.max_response_delay,
                  max_unacked_updates=fo.max_unacked_updates,
                  load_balance_max_seconds=fo.load_balance_max_seconds)
    primary = failover.PeerSpec(role="primary", address=p_addr, port=fo.primary_port,
                                peer_address=s_addr, peer_port=fo.secondary_port, mclt=fo.mclt,
                                split=fo.split if fo.hba is None else None, hba=fo.hba, **common)
    secondary = failover.PeerSpec(role="secondary", address=s_addr, port=fo.secondary_port,
                                  peer_address=p_addr, peer_port=fo.primary_port, **common)
    return primary, secondary


def plan_pair(answers: Answers, primary_path: str, secondary_path: str,
              loader: Loader | None = None, secondary_loader: Loader | None = None, *,
              parallel: bool = False) -> PairPlan:
    """secondary_loader reads the secondary's files when they live elsewhere (over SSH, the
    two hosts' files share paths); by default both come from loader. parallel: a large
    secondary is edited, rendered and diffed in a forked child while this process does the
    primary (wizard.forked); only for a caller that runs no other thread (a child forked
    while another thread holds a lock could wait on it for ever). Each file's diff is then
    made here, and kept."""
    # The collector stays off for the whole plan, not only while reading: once on, its first
    # passes would walk both models' hundreds of thousands of objects (still in the youngest
    # generation after the paused reads) twice over, about 13 ms on a 60k-line pair; the
    # models are let go by reference counting below, so it then has next to nothing to walk.
    with paused_gc():
        return _plan_pair(answers, primary_path, secondary_path, loader, secondary_loader,
                          parallel)


# Below this many characters a fork costs more than the secondary's share of the work.
_FORK_ABOVE = 200_000
# Above this many (about 150k lines), memory goes before time: each process lets its model go
# before it diffs (a diff's lists of lines are as large again), which costs it the freeing of
# hundreds of thousands of objects.
_FREE_ABOVE = 4_000_000


def _plan_pair(answers: Answers, primary_path: str, secondary_path: str, loader: Loader | None,
               secondary_loader: Loader | None, parallel: bool) -> PairPlan:
    loader = loader or LocalLoader()
    s_loader = secondary_loader or loader
    p = load(primary_path, loader)
    s_text = read(secondary_path, s_loader)
    if s_text == p.main.source:  # one string for both: masked and hashed once when recorded
        s_text = p.main.source
    # Only where a child can be started: otherwise the fallback would plan everything twice.
    split = parallel and len(s_text) > _FORK_ABOVE and forked.available()
    # The secondary has the primary's very bytes (one file given for both, or a copy of it,
    # the usual start of a pair) and includes nothing: with the secondary edited in a child,
    # whose memory is a copy of this one's, the primary's model serves as the secondary's
    # there (under the secondary's path), and is neither copied nor walked again. Models of
    # the same bytes have no differences, and the key found in one is found in the other.
    shared = (split and s_loader is loader and len(p.docs) == 1 and not p.included
              and s_text == p.main.source)
    s = p if shared else load(secondary_path, s_loader, text=s_text, like=p)
    befores = {("primary", d.path): d.source for d in p.docs}
    befores.update({("secondary", secondary_path): s_text} if shared else
                   {("secondary", d.path): d.source for d in s.docs})
    input_secrets = _secrets(p, s)
    scope = failover.Scope(answers.failover.pools)
    bare = _check_scope(p, answers, scope)
    notes: list[str] = []
    p_spec, s_spec = peer_specs(answers)
    # Pools of a relationship the primary has with a third server stay as they are, there.
    third = set() if shared else pairing.third_party_peers(p, s, s_spec.address)
    if not shared:
        pairing.check_one_sided(p, s, "primary", s_spec.address, answers.failover.name)
        pairing.check_one_sided(s, p, "secondary", p_spec.address, answers.failover.name)
        owners.check(p, s, scope, answers.failover.name, third,
                     pairing.third_party_peers(s, p, p_spec.address))
    _check_taken(p, answers, scope, bare)
    diffs = [] if shared else pairing.compare(
        p, s, lambda h: _in_scope(scope, h) and not pairing.of_third_party(h, third))
    if diffs and pairing.match_secondary(p, s, diffs, notes, answers.failover.name):
        # The secondary's tree changed under its model: read it again from the edited text.
        s = load(secondary_path, MemoryLoader({d.path: d.render() for d in s.docs}, s_loader))
    key = omapi_key.decide(answers.omapi.key_name, answers.omapi.secret_file, p, s)
    notes += key.notes
    # A subnet only the secondary declares is not the pair's (pairing notes it is left out):
    # the secondary's scope is the primary's subnets in scope.
    # Sharing the primary's model, the secondary declares the primary's subnets and no other:
    # its scope is the primary's (no CIDR worked out for each of a campus's subnets, a few
    # milliseconds).
    # Nor a subnet whose pools the primary gives to another relationship: the secondary's
    # pools there stay out of this one, as the primary's do.
    s_scope = scope if shared else failover.Scope(
        tuple(sub.cidr for sub in p.subnets
              if scope.subnet(sub) and not owners.taken(sub, answers.failover.name)))
    # A file that shows no indentation of its own (a new secondary) takes the primary's.
    unit = edits.indent_unit(p.main)

    def side(config: Config, spec: failover.PeerSpec, side_scope) -> tuple[list, list[str]]:
        done: list[str] = []
        failover.apply(config, spec, side_scope, done, unit)
        omapi.apply(config, answers.omapi.port, answers.omapi.key_name, key.secret, unit,
                    key.algorithm, done)
        files = [_file_plan(spec.role, d, befores, config.resolved) for d in config.docs]
        return files, [f"{spec.role}: {note}" for note in done]

    if split:
        big = len(s_text) > _FREE_ABOVE and not diffs

        def secondary() -> list:
            nonlocal p, s
            if shared:  # this process's copy of the model becomes the secondary's file
                s.main.path = secondary_path
            if big and p is not s:  # the primary's model is this process's alone
                _release(p)
                p = None
            files, side_notes = side(s, s_spec, s_scope)
            if big:  # the model let go before the diff's own lists of lines are made
                model, p, s = s, None, None
                _release(model)
                del model
            return [[_portable(f) for f in files], side_notes]

        # Should the child not deliver, the plan is made again in this process alone: the
        # models here are edited (or let go) by then.
        pending = forked.start(secondary, fallback=lambda: None)
        try:
            if big:  # the secondary's model is the child's alone now
                if s is not p:
                    _release(s)
                s = None
            files, p_notes = side(p, p_spec, scope)
            if big:
                model, p = p, None
                _release(model)
                del model
            for file in files:
                file.diff()  # made beside the child's, and kept
            delivered = pending.result()
        finally:
            pending.cancel()
        if delivered is None:
            return _plan_pair(answers, primary_path, secondary_path, loader, secondary_loader,
                              False)
        portable, s_notes = delivered
        files += [FilePlan(role, path, befores.get((role, path), ""), after, includes, diff)
                  for role, path, after, includes, diff in portable]
        if not diffs and p is not None:
            _release(p)
            _release(s)
        return PairPlan(files, key.secret, key.origin, diffs, notes + p_notes + s_notes,
                        input_secrets)
    files, p_notes = side(p, p_spec, scope)
    if not diffs:
        # Nothing returned refers to the models: let them go now rather than at some later
        # full collection (which costs more than the whole plan on a campus config), the
        # primary's before the secondary's text is rendered (a lower peak of memory).
        _release(p)
        del p
    s_files, s_notes = side(s, s_spec, s_scope)
    if not diffs:
        _release(s)
    return PairPlan(files + s_files, key.secret, key.origin, diffs, notes + p_notes + s_notes,
                    input_secrets)


def _portable(file: FilePlan) -> list:
    """A file's plan as values marshal carries, its diff made; its text before the plan is
    known to the parent already."""
    return [file.role, file.path, file.after, file.includes, file.diff()]


def _file_plan(role: str, doc: Document, befores: dict[tuple[str, str], str],
               resolved: dict[str, dict[str, str]]) -> FilePlan:
    before = befores.get((role, doc.path), "")
    after = doc.render()
    # The edits write bare \n: in a file written with CRLF throughout, the new lines get CRLF
    # too. A file with any bare \n of its own is left as it is. Its first line decides whether
    # to count at all: scanning a campus config for a "\r" it lacks costs a millisecond.
    first = before.find("\n")
    if (first > 0 and before[first - 1] == "\r" and after != before
            and before.count("\n") == before.count("\r\n")):
        after = _BARE_NEWLINE.sub("\r\n", after)
    return FilePlan(role, doc.path, before, after, resolved.get(doc.path, {}))


def _secrets(*configs: Config) -> list[str]:
    found = {k.secret for c in configs for k in c.keys.values() if k.secret}
    # Each text once: a secondary copied from an identical primary shares its source, and
    # lowering a campus config costs a millisecond.
    sources = {id(d.source): d.source for c in configs for d in c.docs}.values()
    found |= {v for src in sources if "secret" in src.lower() for v in secrets_in(src)}
    return sorted(found, key=len, reverse=True)


def _release(config: Config) -> None:
    """Cut the model's back references (pool -> subnet -> pools), its only cycles, so that
    reference counting frees it with the last reference."""
    for pool in config.pools:
        pool.subnet = pool.shared = None
    for subnet in config.subnets:
        subnet.shared = None


def _in_scope(scope: failover.Scope, holder) -> bool:
    if isinstance(holder, failover.Subnet):
        return scope.subnet(holder)
    return scope.shared_ranges(holder, pairing._ranges(holder))


def _check_scope(primary: Config, answers: Answers, scope: failover.Scope) -> bool:
    """Refuse answers whose scope cannot be planned; whether bare ranges are in it."""
    known = {s.cidr for s in primary.subnets} if answers.failover.pools else set()
    for cidr in answers.failover.pools or ():
        if cidr not in known:
            raise InputError(f"failover.pools names {cidr}, but {primary.main.path} declares no "
                             "such subnet",
                             "list subnets exactly as the primary declares them (network/prefix)")
    for pool in primary.pools:
        if pool.subnet is None and scope.cidrs is not None and scope.pool(pool):
            # A pool joins failover whole: lint then counts every subnet its ranges lie in
            # as failover, and would fail the other pools of a subnet left out.
            out = sorted({s.cidr for s in pool.shared.subnets for r in pool.ranges
                          if s.contains(r.lo) and not scope.subnet(s)})
            if out:
                raise _at(pool.at, "this pool of shared-network "
                          f"{pool.shared.name} has ranges in subnets that failover.pools "
                          f"names and in {', '.join(out)}, which it does not; a pool joins "
                          "failover whole",
                          f"add {', '.join(out)} to failover.pools, or split the pool so that "
                          "each pool's ranges lie in chosen subnets only")
    bare = scope.bare_ranges_in(primary)
    if not any(scope.pool(pool) for pool in primary.pools) and not bare:
        raise InputError(f"{primary.main.path} has no pool or range to put under failover",
                         "dhcpd refuses a failover peer that no pool refers to; add a pool with "
                         "a range, or choose subnets that have one in failover.pools")
    return bare


def _check_taken(primary: Config, answers: Answers, scope: failover.Scope, bare: bool) -> None:
    """After the refusals that say more (a relationship one server lacks): every pool in
    scope already in another relationship of the pair."""
    name = answers.failover.name
    chosen = [pool for pool in primary.pools if scope.pool(pool) and not pool.no_failover]
    taken = [pool for pool in chosen if pool.peer not in (None, name)]
    if taken and len(taken) == len(chosen) and not bare:
        # Each such pool is left to its relationship: the plan would declare nothing of the
        # answers' one, and every later step (check, drill) would look for it in vain.
        others = sorted({pool.peer for pool in taken})
        which = "the only pool in scope" if len(taken) == 1 else \
            f"every pool in scope ({len(taken)}, this one first)"
        peers = " or ".join(f'"{other}"' for other in others)
        raise _at(taken[0].at, f"{which} already belongs to failover peer {peers}; the "
                  f"answers name the relationship \"{name}\", which would get no pool",
                  f"to plan the existing relationship, set name = \"{others[0]}\" under "
                  f"[failover] in the answers; to add \"{name}\" beside it, give it pools of "
                  "its own")
