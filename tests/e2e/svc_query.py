#!/usr/bin/env python3
"""One service of nfdsr.ko's service table, from `nfdsrctl show -o json` on stdin.

    svc_query.py ADDRESS PORT [tcp|udp] [entry|tunnel] FIELD

FIELD: dispatch | maglev_size | draining | no_backend_drops -> the value;
backends -> one line per backend: "ADDRESS:PORT BUCKETS PACKETS ROUTE_MARK".
Exit 1 (and a message on stderr) when the service is not in the table.
"""
import json
import sys


def main(argv):
    addr, port = argv[1], int(argv[2])
    rest = argv[3:]
    field = rest.pop()
    proto = rest[0] if rest else "tcp"
    kind = rest[1] if len(rest) > 1 else "entry"
    services = json.load(sys.stdin)["module"].get("services", [])
    for s in services:
        if (s["address"], s["port"], s["protocol"], s["kind"]) == (addr, port, proto, kind):
            if field == "backends":
                for b in s["backends"]:
                    print(f'{b["address"]}:{b["port"]} {b["buckets"]} {b["packets"]} {b["route_mark"]:#x}')
            else:
                v = s[field]
                print(str(v).lower() if isinstance(v, bool) else v)
            return 0
    print(f"no service {addr}:{port}/{proto} ({kind}) in nfdsr.ko", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
