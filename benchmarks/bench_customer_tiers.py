"""Customer tiers across seeds: how far one network's tiers move with the seed, and how many
networks an ensemble needs to steady them (``--ensemble N``), on the real marketing-campaign
table. Each row: a run per seed (0-4), tiers compared customer by customer; the time is one
run's (median over the seeds). The single network (the paper's method) is the baseline.
"""

from __future__ import annotations

import os

from benchmarks._common import ROOT, SHARED_DATA, write_section

SIZES = (1, 10, 40, 160, 320)


def main(quick: bool = False) -> None:
    from netpersona.customers import CustomerSettings, score_table, seed_agreement

    data = SHARED_DATA / "customers" / "marketing_campaign.tsv"
    system = ROOT / "examples" / "customers" / "marketing_campaign.toml"
    table = score_table(data, system)
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    sizes = (1, 10) if quick else SIZES
    from netpersona.customers._pipeline import train_on

    train_on(table, CustomerSettings(ensemble=1))  # warm-up: compiled code and caches, not timed
    rows = []
    for n in sizes:
        agreement = seed_agreement(table, CustomerSettings(ensemble=n), seeds)
        rows.append((n, agreement, os.getloadavg()[0]))
        print(n, agreement.lines()[0], flush=True)
    base = rows[0][1].seconds / len(seeds)
    lines = [
        "## Customer tiers across seeds (`--ensemble`)",
        "",
        f"`python -m benchmarks customer_tiers`: marketing_campaign.tsv ({len(table.target):,} "
        f"real customers, examples/customers/marketing_campaign.toml), one run per seed "
        f"({', '.join(map(str, seeds))}); each run trains N networks the paper's way (own "
        "stratified sample and initial weights) and K is their mean. Agreement: the share of "
        "customers put in the same tier by every seed, and by two seeds (lowest and median "
        "over the pairs). Baseline: one network, the paper's method.",
        "",
        "| networks per run | same tier, every seed | two seeds (lowest) | two seeds (median) "
        "| seconds per run | x one network | tier A share (seeds) | load avg |",
        "|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for n, a, load in rows:
        per_run = a.seconds / len(seeds)
        shares = [s["A"] for s in a.tier_shares]
        lines.append(
            f"| {n} | {a.all_agree:.1%} | {a.pairwise_min:.1%} | {a.pairwise_median:.1%} | "
            f"{per_run:.1f} | {per_run / base:.0f} | {min(shares):.1%}-{max(shares):.1%} | "
            f"{load:.2f} |"
        )
    enough = next((n for n, a, _ in rows if a.all_agree >= 0.95), None)
    lines += [
        "",
        "One network stops as soon as its training error reaches the goal 0.01, so its K "
        "depends mostly on its random initial weights; averaging networks removes that, and "
        "what is left is the sample each draws. "
        + (
            f"{enough} networks per run put 95% or more of the customers in the same tier "
            "under every seed."
            if enough
            else "None of the sizes run reached 95% agreement under every seed."
        ),
    ]
    text = "\n".join(lines)
    print(text)
    write_section("customer_tiers", text)
