#!/usr/bin/env python3
"""Canonical form of `nft list table` text, for comparing two tables by content.

    nft list table ip nfdsr | nft_canon.py

An updated table and a freshly built one hold the same objects but can list
them in another order: objects in creation order (an update appends new
chains and sets at the end) and set elements in hash-table order. This sorts
the set/map/chain blocks by their header line and the elements inside each
`elements = { ... }` list; everything else (types, comments, rules in their
order, counters) is kept as nft printed it.
"""
import sys


def canon(text):
    lines = text.rstrip("\n").split("\n")
    if not lines or not lines[0].startswith("table "):
        return text
    head, blocks, cur = [lines[0]], [], None
    i = 1
    while i < len(lines):
        line = lines[i]
        if cur is None:
            if line.startswith("\t") and line.endswith("{") and not line.startswith("\t\t"):
                cur = [line]
            elif line.strip() and line != "}":
                head.append(line)  # table comment, flags
        elif line == "\t}":
            cur.append(line)
            blocks.append(cur)
            cur = None
        elif line.strip().startswith("elements = {"):
            body = line.strip()[len("elements = {"):]
            while not body.rstrip().endswith("}"):
                i += 1
                body += " " + lines[i].strip()
            items = [x.strip() for x in body.rstrip()[:-1].split(", ") if x.strip()]
            cur.append("\t\telements = { " + ", ".join(sorted(items)) + " }")
        else:
            cur.append(line)
        i += 1
    blocks.sort(key=lambda b: b[0])
    out = head + [l for b in blocks for l in b] + ["}"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(canon(sys.stdin.read()))
