"""Tables and a plot from bench/results/*.json, into docs/benchmarks.md and a PNG.

    python -m bench.report [--results bench/results] [--doc docs/benchmarks.md]

Only the part of the document between the two `bench:results` markers is rewritten; the
prose around it (what bounds each figure, design changes) is kept as written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
ORDER = {"tiny": 0, "smoke": 1, "S": 2, "M": 3}
PATHS = (("ledger_now", "Ledger.who_pays, now"), ("ledger_at_k", "Ledger.who_pays, at K"),
         ("view_now", "WhoPaysView.payer_on, now"), ("view_at_k", "WhoPaysView.payer_on, at K"),
         ("http_now", "HTTP GET /v1/patients/{id}/payer, now"),
         ("http_at_k", "HTTP, known_at=K"))


def load(results: Path) -> list[dict[str, Any]]:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))]
    # the benchmark's runs only (soak-*.json is the soak's, docs/reliability.md)
    runs = [r for r in runs if "size" in r and "database" in r]
    return sorted(runs, key=lambda r: (ORDER.get(r["size"], 9), r["database"]))


def get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float) and digits and abs(value) < 100:
        return f"{value:,.{digits}f}"
    if isinstance(value, (int, float)):
        return f"{value:,.0f}" if abs(value) >= 10 or not digits else f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def name(r: dict[str, Any]) -> str:
    return f"{r['size']} ({r['patients']:,} patients), {r['database']}"


def runs_table(runs: list[dict[str, Any]]) -> str:
    rows = [[name(r), r["date"], fmt(r["steps"]), fmt(get(r, "ingest", "events")),
             fmt(r.get("database_bytes", 0) / 2**20),
             " / ".join(fmt(x, 1) for x in (r.get("load_average_after") or {}).values()),
             fmt(r.get("seconds", 0) / 60, 1), r["revision"], f"`{r['command']}`"]
            for r in runs]
    return table(["run", "date (UTC)", "steps", "facts", "MiB on disk",
                  "load average after ingest / imports / rebuild / who pays", "minutes",
                  "revision", "command"], rows)


def ingest_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        i, ra = r["ingest"], r["ratios"]
        rows.append([
            name(r), fmt(get(i, "single", "commands_per_second")),
            fmt(get(i, "single", "facts_per_second")),
            f"{fmt(get(i, 'single', 'command_ms', 'p50'), 2)} / "
            f"{fmt(get(i, 'single', 'command_ms', 'p99'), 2)}",
            fmt(get(i, "single", "raw", "rows_per_second")
                or get(i, "raw_single", "rows_per_second")),
            fmt(ra["single_commands_vs_raw_single_rows"], 3),
            fmt(get(i, "bulk", "facts_per_second")),
            fmt(get(i, "bulk", "raw", "rows_per_second") or get(i, "raw_batch", "rows_per_second")),
            fmt(ra["bulk_facts_vs_raw_batch_rows"], 3),
            fmt(get(i, "imports", "cli", "facts_per_second")),
            fmt(get(i, "imports", "http", "facts_per_second")),
            f"{fmt(get(i, 'bulk', 'ticks'))} in {fmt(get(i, 'bulk', 'tick_seconds'), 1)} s; "
            f"{fmt(get(i, 'single', 'ticks'))} in {fmt(get(i, 'single', 'tick_seconds'), 1)} s",
            f"{fmt(get(i, 'single', 'warm_up', 'streams'))} in "
            f"{fmt(get(i, 'single', 'warm_up', 'seconds'), 1)} s"])
    return table(["run", "app: commands/s", "app: facts/s", "app: ms p50 / p99",
                  "raw 1 row/commit: rows/s", "app ÷ raw", "bulk: facts/s",
                  "raw 1000 rows/commit: rows/s", "bulk ÷ raw", "CLI import: facts/s",
                  "HTTP import: facts/s", "ticks (bulk; one by one), counted in the figures",
                  "fresh Ledger: long streams read"], rows)


def read_side_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        rs = r.get("read_side")
        if not rs:
            continue
        def ms(k: str, rs: dict[str, Any] = rs) -> str:
            return f"{fmt(get(rs, k, 'p50'), 1)} / {fmt(get(rs, k, 'max'), 1)}"

        tick = get(rs, "tick") or {}
        some = tick.get("some_due") or {}
        rows.append([
            name(r), f"{rs.get('rhf')} {rs.get('year')}", ms("public_cost"),
            f"{ms('restatement')} ({fmt(get(rs, 'restatement', 'changes'))} changes, "
            f"{fmt(get(rs, 'restatement', 'facts'))} facts)",
            f"{ms('worklist')} ({fmt(get(rs, 'worklist', 'items'))} items)",
            f"{fmt(get(rs, 'payers_page', 'p50'), 1)} / {fmt(get(rs, 'payers_page', 'p99'), 1)}",
            fmt(get(tick, "nothing_due", "seconds"), 3),
            f"{fmt(some.get('seconds'), 2)} ({fmt(some.get('patients_due'))} patients, "
            f"{fmt(some.get('facts'))} facts)",
            fmt(rs.get("cost_lines"))])
    if not rows:
        return "_No run with the read side yet._"
    return table(["run", "RHF, year (the heaviest)", "public cost by month: ms p50 / max",
                  "restatement K -> now: ms p50 / max", "worklist of the RHF: ms p50 / max",
                  "page of 500 payers: ms p50 / p99", "tick, nothing due: s",
                  "tick, 1 % due: s", "cost lines"], rows)


def latency_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        q = r["who_pays"]
        rows.append([name(r)] + [f"{fmt(get(q, k, 'p50'), 2)} / {fmt(get(q, k, 'p99'), 2)}"
                                 for k, _ in PATHS])
    return table(["run (ms, p50 / p99)"] + [label for _, label in PATHS], rows)


def concurrent_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        c = get(r, "who_pays", "http_concurrent") or {}
        if "who_pays" not in c:
            continue

        def figures(k: str, c: dict[str, Any] = c) -> str:
            return (f"{fmt(get(c, k, 'requests_per_second'))} /s, "
                    f"{fmt(get(c, k, 'p50'), 2)} / {fmt(get(c, k, 'p99'), 2)}")

        rows.append([name(r), figures("constant"), figures("who_pays"),
                     fmt(c.get("who_pays_vs_constant"), 2), figures("payers_page"),
                     f"{fmt(c.get('load_average_before'), 1)} -> "
                     f"{fmt(c.get('load_average_after'), 1)}"])
    if not rows:
        return "_No run with concurrent HTTP load yet._"
    return table(["run (8 connections, 2 workers; ms p50 / p99)", "constant endpoint",
                  "who pays", "who pays / constant", "page of 500 payers (1 client)",
                  "load average"], rows)


def rebuild_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        b = r["rebuild"]
        before = get(b, "raw_read_before") or get(b, "raw_read")
        rows.append([name(r), fmt(get(b, "rebuild", "events_per_second")),
                     f"{fmt(get(b, 'rebuild', 'seconds'), 1)} / "
                     f"{fmt(get(b, 'rebuild', 'cpu_seconds'), 1)}",
                     fmt(get(b, "rebuild", "peak_rss_mib")),
                     f"{fmt(get(before, 'events_per_second'))} / "
                     f"{fmt(get(b, 'raw_read_after', 'events_per_second'))}",
                     fmt(r["ratios"]["rebuild_vs_raw_read"], 3),
                     fmt(r["ratios"].get("rebuild_vs_raw_read_cpu"), 3),
                     fmt(get(b, "log_read", "events_per_second"))])
    return table(["run", "rebuild: facts of the log/s", "rebuild: s / CPU s",
                  "rebuild: peak MiB", "raw read of the same rows, before / after: rows/s",
                  "rebuild ÷ raw (time)", "rebuild ÷ raw (CPU)",
                  "EventLog.read, same rows: rows/s"], rows)


def tree_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        b, i = get(r, "tree", "bulk") or {}, get(r, "tree", "inclusion") or {}
        w = get(r, "tree", "writer") or {}
        rows.append([name(r), fmt(b.get("steps")), fmt(b.get("facts_per_second_on")),
                     fmt(b.get("facts_per_second_off")),
                     " / ".join(fmt(b[k] * 100, 1) + " %" if k in b else "–"
                                for k in ("slowdown", "cpu_slowdown")),
                     f"{fmt(w.get('tree_us_per_fact'), 2)} of "
                     f"{fmt(w.get('us_per_fact_with_tree'), 2)}",
                     fmt(i.get("tree_size")),
                     f"{fmt(get(i, 'ms', 'p50'), 2)} / {fmt(get(i, 'ms', 'p99'), 2)}",
                     fmt(i.get("path_hashes_max")), fmt(i.get("sign_head_ms"), 1)])
    return table(["run", "bulk steps", "tree on: facts/s", "tree off: facts/s",
                  "slower by: wall / client CPU", "writer: µs a fact for the tree, of all",
                  "tree size", "inclusion proof: ms p50 / p99", "path hashes (max)",
                  "sign a head: ms"], rows)


def bundle_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        b = get(r, "bundles") or {}
        if "error" in b:
            rows.append([name(r), b["error"], *["–"] * 6])
            continue
        rows.append([name(r), f"{b.get('company', '–')} {b.get('period', '')}",
                     fmt(b.get("lines")), fmt(b.get("facts")),
                     fmt((b.get("bytes") or 0) / 1e6, 1) if b.get("bytes") else "–",
                     f"{fmt(get(b, 'build_ms', 'p50'), 0)} / {fmt(get(b, 'build_ms', 'max'), 0)}",
                     f"{fmt(get(b, 'verify_ms', 'p50'), 0)} / "
                     f"{fmt(get(b, 'verify_ms', 'max'), 0)}"])
        v3 = b.get("resting") or {}
        if v3:  # the same quarter resting on the previous one's bundle (ADR 0031)
            rows.append([name(r), f"… resting on {v3.get('previous', '')} (v3, store)", "",
                         fmt(v3.get("facts")), fmt((v3.get("bytes") or 0) / 1e6, 1),
                         f"{fmt(get(v3, 'build_ms', 'p50'), 0)} / "
                         f"{fmt(get(v3, 'build_ms', 'max'), 0)}",
                         f"{fmt(get(v3, 'verify_ms', 'p50'), 0)} / "
                         f"{fmt(get(v3, 'verify_ms', 'max'), 0)}"])
    return table(["run", "partner, quarter", "lines", "facts", "MB",
                  "build: ms p50 / max", "impress-verify (whole command): ms p50 / max"], rows)


def goals_table(runs: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(g for r in runs for g in r["goals"]))
    rows = []
    for g in names:
        rows.append([g] + [f"{fmt(get(r, 'goals', g, 'value'), 3)}: "
                           f"{fmt(get(r, 'goals', g, 'met'))}" for r in runs])
    return table(["goal"] + [name(r) for r in runs], rows)


def growth(runs: list[dict[str, Any]]) -> str:
    by = {(r["size"], r["database"]): r for r in runs}
    rows = []
    for db in sorted({r["database"] for r in runs}):
        s, m = by.get(("S", db)), by.get(("M", db))
        if not (s and m):
            continue
        for key, label in PATHS:
            a, b = get(s, "who_pays", key, "p99"), get(m, "who_pays", key, "p99")
            ratio = round(b / a, 2) if a and b else None
            rows.append([db, label, fmt(a, 2), fmt(b, 2), fmt(ratio, 2),
                         fmt(ratio is not None and ratio <= 1.5)])
    if not rows:
        return "_Growth S → M needs results at both S and M._"
    return table(["database", "path", "p99 at S (ms)", "p99 at M (ms)", "M ÷ S", "<= 1.5x"],
                 rows)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({r["database"] for r in runs})
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 5), sharey=True,
                             squeeze=False)
    for ax, db in zip(axes[0], kinds, strict=True):
        mine = sorted((r for r in runs if r["database"] == db), key=lambda r: r["patients"])
        for n, (key, label) in enumerate(PATHS):
            points = [(r["patients"], get(r, "who_pays", key, "p99")) for r in mine]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                now = key.endswith("now")
                ax.plot(*zip(*points), "-" if now else "--", marker="os^"[n // 2],
                        color=f"C{n // 2}", mfc=None if now else "none", label=label)
        for goal in (5, 15):
            ax.axhline(goal, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("patients in the ledger")
        ax.set_title(db)
        ax.grid(True, which="major", linewidth=0.3)
    axes[0][0].set_ylabel("who pays: p99 latency (ms); goals 5 ms, 15 ms over HTTP")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(runs: list[dict[str, Any]], png: str) -> str:
    parts = [
        "### Runs\n", runs_table(runs),
        "\n### Ingest\n", ingest_table(runs),
        "\n### Who pays: latency\n", latency_table(runs),
        "\n### Who pays over HTTP, concurrent (issue 11)\n", concurrent_table(runs),
        f"\n![who-pays p99 latency against size]({png})\n",
        "\n### Who pays: growth from S to M (p99)\n", growth(runs),
        "\n### The read side (issue 11)\n", read_side_table(runs),
        "\n### Rebuild of every read model\n", rebuild_table(runs),
        "\n### Merkle tree: bulk import with the tree on and off, inclusion proofs\n",
        tree_table(runs),
        "\n### Statement bundles: a partner's quarter, built and verified\n", bundle_table(runs),
        "\n### Goals (issues 6, 11 and 14)\n", goals_table(runs),
    ]
    return "\n".join(parts) + "\n"


SKELETON = f"""# Benchmarks

Generated by `make bench` (bench/run.py, bench/report.py).

{START}
{END}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    parser.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    runs = load(args.results)
    if not runs:
        parser.error(f"no results in {args.results}")
    png = args.doc.with_name("benchmarks-latency.png")
    plot(runs, png)
    text = args.doc.read_text(encoding="utf-8") if args.doc.exists() else SKELETON
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    body = f"{START}\n{section(runs, png.name)}{END}"
    args.doc.write_text(before + body + after, encoding="utf-8")
    print(f"wrote {args.doc} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
