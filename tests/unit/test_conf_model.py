import pytest

from tests.helpers.conf import CORPUS, corpus_params
from wizard.conf.loader import MemoryLoader
from wizard.conf.model import load
from wizard.errors import InputError

CONF = """\
omapi-port 7911;
omapi-key k;
key k { algorithm hmac-md5; secret "c2VjcmV0c2VjcmV0"; }
failover peer "fo" {
  primary;
  address 10.0.0.1;
  peer address 10.0.0.2;
  max\u2010response\u2010delay 60;
  load balance max seconds 3;
}
shared-network campus {
  subnet 10.1.0.0 netmask 255.255.255.0 { }
  pool { failover peer "fo"; range 10.1.0.10 10.1.0.20; }
}
group {
  subnet 10.2.0.0 netmask 255.255.0.0 {
    range dynamic-bootp 10.2.0.5;
    host h1 { hardware ethernet 0:1:2:3:4:5; }
  }
}
include "more.conf";
"""
MORE = "subnet 10.3.0.0 netmask 255.255.255.0 { pool { range 10.3.0.1 10.3.0.9; } }\n"


def test_model_over_includes_and_nesting():
    c = load("/etc/dhcp/main.conf", MemoryLoader({"/etc/dhcp/more.conf": MORE}), CONF)
    assert [d.path for d in c.docs] == ["/etc/dhcp/main.conf", "/etc/dhcp/more.conf"]
    assert [s.cidr for s in c.subnets] == ["10.1.0.0/24", "10.2.0.0/16", "10.3.0.0/24"]
    assert c.subnets[0].shared.name == "campus"
    campus_pool, inc_pool = c.pools
    assert campus_pool.shared is c.shared_networks[0] and campus_pool.peer == "fo"
    assert inc_pool.subnet is c.subnets[2] and inc_pool.at.doc.path == "/etc/dhcp/more.conf"
    # Pools in included files are "used" where the include statement stands.
    assert inc_pool.at.anchor.keyword == "include"
    bootp = c.subnets[1].bare_ranges[0]
    assert bootp.bootp and bootp.lo == bootp.hi == 0x0A020005
    peer = c.peers["fo"]
    assert peer.value("role") == "primary" and peer.value("peer address") == "10.0.0.2"
    assert peer.value("port") is None
    assert "max-response-delay" in peer.settings  # typographic hyphens recognised
    assert c.keys["k"].secret == "c2VjcmV0c2VjcmV0" and c.keys["k"].algorithm == "hmac-md5"
    assert c.omapi_port.node.arg(1) == "7911" and c.omapi_key.node.arg(1) == "k"
    assert [name for name, _ in c.hosts] == ["h1"]
    assert c.pools[0].at.location == "/etc/dhcp/main.conf:13"


def test_unreadable_include_is_located():
    with pytest.raises(InputError) as exc:
        load("/x/main.conf", MemoryLoader({}), 'a 1;\ninclude "/nowhere/missing.conf";\n')
    assert exc.value.message.startswith("/x/main.conf:2:1: cannot read included file "
                                        "/nowhere/missing.conf")


def test_an_include_nested_in_a_subdirectory_names_its_path_from_the_main_files_directory(
        tmp_path):
    # dhcpd opens a relative include from its working directory: run from the main file's
    # (`dhcpd -t -cf main.conf` there), sub/a.conf's `include "sub/b.conf"` is sub/b.conf,
    # not sub/sub/b.conf. The plan refused such a tree as "cannot read included file".
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.conf").write_text('include "sub/b.conf";\n')
    (tmp_path / "sub" / "b.conf").write_text(MORE)
    (tmp_path / "main.conf").write_text('include "sub/a.conf";\n')
    c = load(str(tmp_path / "main.conf"))
    assert [d.path for d in c.docs] == [str(tmp_path / p)
                                        for p in ("main.conf", "sub/a.conf", "sub/b.conf")]
    assert [s.cidr for s in c.subnets] == ["10.3.0.0/24"]


def test_a_nested_include_found_only_beside_its_includer_is_read_from_there(tmp_path):
    # Copies fetched into one folder keep their includes side by side.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.conf").write_text('include "b.conf";\n')
    (tmp_path / "sub" / "b.conf").write_text(MORE)
    (tmp_path / "main.conf").write_text('include "sub/a.conf";\n')
    assert load(str(tmp_path / "main.conf")).docs[-1].path == str(tmp_path / "sub" / "b.conf")


SHARED_PEER = """\
shared-network campus {
  subnet 10.4.0.0 netmask 255.255.255.0 { pool { range 10.4.0.10 10.4.0.20; } }
  failover peer "old" { primary; address 10.0.0.1; peer address 10.0.0.2; mclt 60; split 128; }
  subnet 10.5.0.0 netmask 255.255.255.0 {
    pool { failover peer "old"; range 10.5.0.10 10.5.0.20; }
    pool { range 10.5.0.30 10.5.0.40; }
  }
}
"""


def test_a_peer_declared_in_a_shared_network_is_the_peer_of_the_pools_read_after_it():
    # confpars.c: a peer declared inside a shared-network becomes the network's, and each
    # pool parsed later inherits it; the model took those pools for pools out of failover,
    # and the plan gave them a second relationship.
    c = load("/x/main.conf", text=SHARED_PEER)
    assert [p.peer for p in c.pools] == [None, "old", "old"]


def test_include_loop_is_refused():
    loader = MemoryLoader({"/x/b.conf": 'include "/x/a.conf";\n'})
    with pytest.raises(InputError, match="include loop"):
        load("/x/a.conf", loader, 'include "/x/b.conf";\n')


@pytest.mark.parametrize("text, where", [
    ("subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.0.9\n  option routers 10.0.0.1;\n}\n",
     "3:3"),
    ("subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.0.999;\n}\n", "2:18"),
    ("subnet 10.0.0.0 255.255.255.0 { }\n", "1:17"),
])
def test_malformed_declarations_are_located(text, where):
    with pytest.raises(InputError) as exc:
        load("f.conf", text=text)
    assert exc.value.message.startswith(f"f.conf:{where}: ")


@pytest.mark.parametrize("path", corpus_params())
def test_model_does_not_choke_on_corpus(path):
    c = load(str(path))
    for subnet in c.subnets:
        assert subnet.cidr is not None
        assert all(subnet.contains(r.lo) for r in subnet.bare_ranges)
    for rng in c.all_ranges():
        assert rng.lo is not None and rng.lo <= rng.hi


def test_corpus_model_finds_shared_network_pools():
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    c = load(str(CORPUS / "server_dhcpd.conf.example"))
    assert [s.name for s in c.shared_networks] == ["224-29"]
    assert len(c.shared_networks[0].pools) == 2 and len(c.shared_networks[0].subnets) == 2
    assert sum(len(s.bare_ranges) for s in c.subnets) == 3


def test_hosts_are_found_on_demand_in_file_order():
    text = ('host t1 { }\nsubnet 10.9.0.0 netmask 255.255.0.0 {\n  option x 1;\n'
            '  host s1 { hardware ethernet 0:1:2:3:4:5; }\n  pool { range 10.9.0.1 10.9.0.2; }\n'
            '  host s2 { if a { b; } }\n}\nclass "c" { host no; }\ninclude "more.conf";\n'
            'host t2;\n')
    more = "group { host g1 { } }\n"
    c = load("/x/main.conf", MemoryLoader({"/x/more.conf": more}), text)
    assert [(name, w.node.line, w.anchor.keyword) for name, w in c.hosts] == [
        ("t1", 1, "host"), ("s1", 4, "subnet"), ("s2", 6, "subnet"), ("g1", 1, "include"),
        ("t2", 10, "host")]
