# SPDX-License-Identifier: Apache-2.0
"""Prints the same-layer comparisons of one Scripts/bench run: our core against SwiftNIO where
both do the same work at the same layer.

Micro rows (BenchRunner, AllocCounter): ours against NIOWebSocket's decoder/encoder called by hand
(`nio-direct`, no ByteToMessageHandler, no EmbeddedChannel I/O), ChaCha masking keys on both sides,
UTF-8 validation against `UTF8Span(validating:)` (validation only), and our binding on NIO
(`nio-ours`, WSNIO's ChannelHandler) against NIO's pipeline, both on EmbeddedChannel.
End-to-end rows: our core on NIO (`nio-ours`, WSNIO's ChannelHandler) against NIOWebSocket's
server (`nio`) on the same NIO, bootstrap, echo logic and load generator, with NIO's default
64 KiB reads and again with 256 KiB reads (`-256k`). Target: >= 1.5x NIOWebSocket's messages
per second on the 32 B rows, never slower (>= 1.0x) on any row.

Usage: same_layer.py RESULTS.tsv
Cells are the medians in the raw file; a micro ratio is the median [min–max] of the per-round
paired ratios (BenchRunner's `pair` lines) where the run has them; otherwise a ratio is ours / peer for rates, peer / ours for times
and allocations (> 1 = ours better)."""
import sys

from table import fmt  # the main table's number format

MICRO = [
    # (key, label, ours impl, peer impl)
    ("decode.16B.64K", "decode 16 B masked frames, 64 KiB reads", "ours", "nio-direct"),
    ("decode.16B.1frame", "decode 16 B masked frames, 1 frame/read", "ours", "nio-direct"),
    ("decode.125B.64K", "decode 125 B masked frames, 64 KiB reads", "ours", "nio-direct"),
    ("decode.125B.1frame", "decode 125 B masked frames, 1 frame/read", "ours", "nio-direct"),
    ("decode.1MiB.64K", "decode+unmask 1 MiB frames, 64 KiB reads", "ours", "nio-direct"),
    ("encode.16B.server", "encode 16 B, server", "ours", "nio-direct"),
    ("encode.125B.server", "encode 125 B, server", "ours", "nio-direct"),
    ("encode.16B.client", "encode 16 B, client, system RNG keys", "ours", "nio-direct"),
    ("encode.16B.client", "encode 16 B, client, ChaCha keys", "ours-chacha", "nio-direct-chacha"),
    ("encode.16B.client", "encode 16 B, client, ChaCha keys, NIO pipeline", "ours-chacha", "nio-chacha"),
    ("encode.125B.client", "encode 125 B, client, system RNG keys", "ours", "nio-direct"),
    ("encode.125B.client", "encode 125 B, client, ChaCha keys", "ours-chacha", "nio-direct-chacha"),
    ("encode.125B.client", "encode 125 B, client, ChaCha keys, NIO pipeline", "ours-chacha", "nio-chacha"),
    ("encode.1MiB.client", "encode+mask 1 MiB, client, system RNG key", "ours", "nio-direct"),
    ("encode.1MiB.client", "encode+mask 1 MiB, client, ChaCha key", "ours-chacha", "nio-direct-chacha"),
    ("utf8.ascii", "UTF-8 validation only, 1 MiB ASCII", "ours", "stdlib-validate"),
    ("utf8.mixed", "UTF-8 validation only, 1 MiB mixed", "ours", "stdlib-validate"),
    ("echo.16B.64K", "receive+send 16 B, 64 KiB reads: our binding vs NIO's pipeline, both on EmbeddedChannel", "nio-ours", "nio"),
    ("echo.16B.1msg", "receive+send 16 B, 1 msg/read: our binding vs NIO's pipeline", "nio-ours", "nio"),
    ("echo.125B.64K", "receive+send 125 B, 64 KiB reads: our binding vs NIO's pipeline", "nio-ours", "nio"),
    ("echo.1MiB.64K", "receive+send 1 MiB, 64 KiB reads: our binding vs NIO's pipeline", "nio-ours", "nio"),
    ("alloc.echo.16B.1msg", "allocations per 16 B message echoed: our binding vs NIO's pipeline", "nio-ours", "nio"),
    ("alloc.decode.16B.1frame", "allocations per 16 B message received (1/read)", "ours", "nio-direct"),
    ("alloc.decode.16B.64K", "allocations per 16 B message received (64 KiB reads)", "ours", "nio-direct"),
    ("alloc.encode.16B.server", "allocations per 16 B message sent (server)", "ours", "nio-direct"),
    ("alloc.encode.16B.client", "allocations per 16 B message sent (client)", "ours", "nio-direct"),
]
NAMES = {"ours": "ours", "nio-ours": "our binding (WSNIO)", "nio": "NIO pipeline", "ours-chacha": "ours (ChaCha)", "nio-direct": "NIO codec direct",
         "nio-direct-chacha": "NIO codec direct (ChaCha)", "nio-chacha": "NIO pipeline (ChaCha)",
         "stdlib-validate": "UTF8Span(validating:)"}

E2E_ROWS = [  # (row, label, rate metric, target on nio-ours / nio)
    ("small.1", "e2e 1 conn, 32 B", "rate", 1.5),
    ("small.50", "e2e 50 conns, 32 B", "rate", 1.5),
    ("big.1", "e2e 1 conn, 64 KiB", "mbps", 1.0),
    ("big.50", "e2e 50 conns, 64 KiB", "mbps", 1.0),
]
E2E_PAIRS = [  # (ours, peer, label, judged against the target?)
    ("nio-ours", "nio", "64 KiB reads", True),
    ("nio-ours-256k", "nio-256k", "256 KiB reads", True),
    ("nio-256k", "nio", "NIO's read size", False),
]
SERVERS = {"nio-ours": "our core on NIO", "nio-ours-256k": "our core on NIO, 256 KiB reads", "nio": "NIOWebSocket",
           "nio-256k": "NIOWebSocket, 256 KiB reads"}


def main():
    data, units, pairs = {}, {}, {}
    quick = False
    for line in open(sys.argv[1]):
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "machine":
            quick = "quick=1" in parts
        if parts[0] == "pair" and len(parts) >= 7:  # per-round paired ratio a ÷ b: median, min, max
            pairs[(parts[1], parts[2], parts[3])] = (float(parts[4]), float(parts[5]), float(parts[6]))
            continue
        if len(parts) < 5 or parts[0] != "row":
            continue
        data.setdefault(parts[1], {})[parts[2]] = float(parts[3])
        units[parts[1]] = parts[4]

    lines = ["| same-layer micro row | unit | ours | peer | peer value | ours ÷ peer |", "|---|---|---|---|---|---|"]
    for key, label, ours_impl, peer_impl in MICRO:
        row = data.get(key, {})
        ours, peer = row.get(ours_impl), row.get(peer_impl)
        if ours is None and peer is None:
            continue
        unit = units[key]
        ratio = None
        if ours and peer:
            ratio = peer / ours if unit.startswith("allocs") else ours / peer
        if unit.startswith("allocs") and ours == 0 and peer:
            ratio = float("inf")
        paired = pairs.get((key, ours_impl, peer_impl))
        if paired and not unit.startswith("allocs"):
            text = f"{paired[0]:.2f}× [{paired[1]:.2f}–{paired[2]:.2f}]"  # median of per-round ratios, range
        else:
            text = f"{ratio:.2f}×" if ratio is not None and ratio != float("inf") else ("∞" if ratio else "—")
        lines.append(f"| {label} | {unit} | {fmt(ours, unit)} | {NAMES[peer_impl]} | {fmt(peer, unit)} | {text} |")
    print("\n".join(lines))
    print()

    lines = ["| same-NIO end-to-end row | A | B | A value | B value | unit | A ÷ B | server CPU/msg A | B | target | met |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    missed = []
    for row, label, metric, target in E2E_ROWS:
        rate = data.get(f"e2e.{row}.{metric}", {})
        srvus = data.get(f"e2e.{row}.srvus", {})
        unit = units.get(f"e2e.{row}.{metric}", "")
        for ours_impl, peer_impl, pair_label, judged in E2E_PAIRS:
            ours, peer = rate.get(ours_impl), rate.get(peer_impl)
            if ours is None and peer is None:
                continue
            ratio = ours / peer if ours and peer else None
            ok = ratio is not None and ratio >= target
            met = ("yes" if ok else "no") if judged else "—"
            if judged and not ok:
                missed.append(f"MISSED e2e.{row} ({pair_label}): ≥ {target:g}× NIOWebSocket"
                              + (f", measured {ratio:.2f}×" if ratio else ", no result"))
            lines.append(f"| {label}, {pair_label} | {SERVERS[ours_impl]} | {SERVERS[peer_impl]} | {fmt(ours, unit)} | {fmt(peer, unit)} | {unit} | "
                         + (f"{ratio:.2f}×" if ratio else "—") + f" | {fmt(srvus.get(ours_impl), 'us')} µs | "
                         + f"{fmt(srvus.get(peer_impl), 'us')} µs | " + (f"≥ {target:g}×" if judged else "—") + f" | {met} |")
    print("\n".join(lines))
    if quick:
        print()
        print("Smoke run (--quick): the 'met' column is not a verdict.")
    elif missed:
        print()
        print("\n".join(missed))


if __name__ == "__main__":
    main()
