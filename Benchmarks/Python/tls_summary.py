# SPDX-License-Identifier: Apache-2.0
"""The summary of Scripts/bench-tls, from the raw lines of one results file.

Usage: tls_summary.py RESULTS.tsv

Raw lines (TSV, written by Scripts/bench-tls), read with e2e_summary.py's loader:
    e2e   REP  SERVER  ROW  STATUS  key=value ...   one per repetition, server and row
    idle  SERVER  COUNT  key=value ...              once per server, on a fresh process
Rows: wss.1x32, wss.1x64k, wss.50x64k (loadgen -S: msgs_per_s, server_us_per_msg) and
handshakes (tls_handshakes: conns_per_s, server_us_per_conn).

For every row and server: the rate's and the server's CPU per operation's median [min-max] over
the repetitions, and the paired per-repetition ratios of the rate to nio's and to c-floor's and of
the CPU per operation to nio's (both measured in the same repetition; the servers run in a
shuffled order each repetition) as median [min-max] (95% bootstrap interval of the median).
Targets (issue 9): every row ahead of NIOSSL (ours ÷ nio > 1) and at least 0.85 of the C OpenSSL
floor; handshakes per second ahead of NIOSSL; idle memory per connection no more than NIOSSL's.
A ratio target counts as met when the bootstrap interval clears it; each verdict also says
whether the whole min-max range clears it.
Exit status 1 when a measured row had errors."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_summary import cell, judge, load, paired, ratio_cell, spread  # noqa: E402

OURS, NIO, FLOOR = "ours", "nio", "c-floor"
ROWS = {  # row -> (label, rate field, rate unit, CPU field)
    "wss.1x32": ("1 conn × 32 B", "msgs_per_s", "msgs/s", "server_us_per_msg"),
    "wss.1x64k": ("1 conn × 64 KiB", "msgs_per_s", "msgs/s", "server_us_per_msg"),
    "wss.50x64k": ("50 conns × 64 KiB", "msgs_per_s", "msgs/s", "server_us_per_msg"),
    "handshakes": ("handshakes (8 in flight)", "conns_per_s", "conns/s", "server_us_per_conn"),
}
FLOOR_TARGET = 0.85


def idle_lines(path):
    idle = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "idle" and len(parts) >= 4:
            fields = dict(kv.partition("=")[::2] for kv in parts[3].split() if "=" in kv)
            idle[parts[1]] = fields
    return idle


def main():
    path = sys.argv[1]
    runs, _, seed = load(path)
    servers = list(dict.fromkeys(server for (_, server) in runs))  # in first-seen order
    failed, verdicts = [], []
    print(f"wss:// end to end: median [min–max] over repetitions in a shuffled server order (seed {seed}).")
    print("Ratios: median [min–max] (95% bootstrap CI of the median) of the paired per-repetition ratios. "
          "A target is met when the CI clears it; each verdict also says whether the whole min–max range does.")
    print()
    header = ["row", "server", "rate", "server CPU µs/op", f"rate ÷ {NIO}", f"rate ÷ {FLOOR}", f"CPU/op ÷ {NIO}",
              "notes"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row, (label, rate, unit, cpu) in ROWS.items():
        for server in servers:
            reps = runs.get((row, server))
            if not reps:
                continue
            ok = [f for f in reps.values() if f["status"] == 0]
            notes = []
            if len(ok) < len(reps):
                notes.append(f"ERRORS in {len(reps) - len(ok)}/{len(reps)} repetitions")
                failed.append(f"{row} {server}")
            to_nio = paired(runs, row, server, NIO, rate) if server != NIO else None
            to_floor = paired(runs, row, server, FLOOR, rate) if server != FLOOR else None
            print(f"| {label} | {server} | {cell(spread([f.get(rate) for f in ok]))} {unit} | "
                  f"{cell(spread([f.get(cpu) for f in ok]), lambda v: f'{v:.1f}')} | "
                  f"{ratio_cell(to_nio)} | {ratio_cell(to_floor)} | "
                  f"{ratio_cell(paired(runs, row, server, NIO, cpu) if server != NIO else None)} | "
                  f"{'; '.join(notes) or '—'} |")
            if server != OURS:
                continue
            bad = len(ok) < len(reps)
            verdicts.append(f"{label}: ahead of NIOSSL (ours ÷ nio > 1): {judge(to_nio, 1, strict=True, bad=bad)[1]}; "
                            f"{ratio_cell(to_nio)}")
            if row != "handshakes":
                verdicts.append(f"{label}: ≥ {FLOOR_TARGET}× the C OpenSSL floor: {judge(to_floor, FLOOR_TARGET, bad=bad)[1]}; "
                                f"{ratio_cell(to_floor)}")
    idle = idle_lines(path)
    if idle:
        print()
        print("Idle memory per connection (fresh server, one run each): " +
              ", ".join(f"{s} {int(float(f.get('bytes_per_conn', 0))):,} B ({f.get('conns', '?')} conns)"
                        for s, f in idle.items()))
        if OURS in idle and NIO in idle:
            ours, nio = float(idle[OURS].get("bytes_per_conn", 0)), float(idle[NIO].get("bytes_per_conn", 0))
            met = 0 < ours <= nio
            verdicts.append(f"idle memory per connection ≤ NIOSSL's: {'met' if met else 'NOT met'} "
                            f"({ours:,.0f} B against {nio:,.0f} B, one run)")
    print()
    print("Targets:")
    print("\n".join("- " + v for v in verdicts))
    if failed:
        print()
        print("FAILED (a measured row had errors): " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
