"""Synthetic portable / car Wi-Fi device reports, purchases and tiers (paper B's data, made up).

A month of device reports for ``users`` subscribers, shaped like the paper's Table 1 (most users
online 2.5-4.3 h a day, 180-350 MB a day, buying one or two data packages a month):

- ``reports.jsonl.gz``: one JSON report per line. Each session sends a periodic report every
  ``report_interval_min`` minutes (``logofftime`` null, cumulative flows so far), on-demand
  reports at random moments, and a final report at logoff. A few sessions lose their final
  report (still open when the log ends). Flows are bytes; ``logontime`` / ``logofftime`` are ISO
  strings, ``reporttime`` epoch seconds; a nested ``device`` object carries device state.
- ``purchases.csv``: ``username, buytime, package_mb`` (this month and the month before).
- ``labels.csv``: ``user, tier`` from a hidden business rule on the month's features, with
  ``label_noise`` of the users given another tier at random.

Sessions stay inside one day and never overlap, so the features the rule saw are exactly what
``netpersona devices features`` computes from the files. Deterministic for a seed.
"""

from __future__ import annotations

import calendar
import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from netpersona._core import Progress, atomic_output
from netpersona.io import month_bounds

TIERS = ("vip", "growth", "ordinary")
_PREFIXES = np.array([134, 135, 136, 137, 138, 139, 150, 151, 152, 157, 158, 177, 180, 182, 183])
_MODELS = np.array(["MF-910", "MF-920", "E5573", "M2-car", "R216"])
_DAY_START_H, _DAY_HOURS = 6.0, 18.0  # sessions happen between 06:00 and midnight
_MB = 1024 * 1024


@dataclass(frozen=True)
class DeviceSynthSettings:
    """Knobs of the synthetic device month (defaults give the paper's shapes)."""

    report_interval_min: float = 60.0
    #: mean number of on-demand reports per session
    on_demand_per_session: float = 0.3
    #: share of sessions whose final report is lost (still open when the log ends)
    open_share: float = 0.02
    #: share of users whose tier is replaced by another one at random
    label_noise: float = 0.05
    #: users generated per block (bounds memory)
    block_users: int = 20_000
    #: gzip level of reports.jsonl.gz (1: fastest)
    gzip_level: int = 1


def hidden_tier(avgontime: np.ndarray, avguseflow: np.ndarray, buycounts: np.ndarray) -> np.ndarray:
    """The business rule behind the synthetic labels (index into :data:`TIERS`).

    vip: buys at least twice and is online >= 3.8 h a day or uses >= 280 MB a day; growth:
    >= 320 MB or >= 3.5 h a day, or buys at least three times; everyone else ordinary. It
    puts the paper's Table 1 rows in their published tiers.
    """
    vip = (buycounts >= 2) & ((avgontime >= 3.8) | (avguseflow >= 280))
    growth = ~vip & ((avguseflow >= 320) | (avgontime >= 3.5) | (buycounts >= 3))
    return np.where(vip, 0, np.where(growth, 1, 2))


def _user_ids(first: int, count: int, rng: np.random.Generator) -> np.ndarray:
    index = np.arange(first, first + count, dtype=np.int64)
    # a bijection on 0..1e8-1 (multiplier coprime with 10), so ids never collide
    low = (index * 48_271 + 12_345_679) % 100_000_000
    prefix = rng.choice(_PREFIXES, size=count)
    return np.char.add(prefix.astype(str), np.char.zfill(low.astype(str), 8))


def _block(
    first: int,
    count: int,
    month_start: np.datetime64,
    days_in_month: int,
    settings: DeviceSynthSettings,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    users = _user_ids(first, count, rng)
    # latent monthly behaviour, around the paper's Table 1
    ontime = np.clip(rng.normal(3.1, 0.75, count), 0.3, 9.0)
    flow_mb = np.clip(70.0 * ontime + rng.normal(30.0, 55.0, count), 15.0, 1200.0)
    buys = rng.poisson(np.clip(0.25 + flow_mb / 260.0 + (ontime - 3.0) * 0.25, 0.05, None))
    days = 1 + rng.binomial(days_in_month - 1, rng.beta(2.0, 4.0, count))

    # online days: a random subset of the month's days per user
    day_user = np.repeat(np.arange(count), days)
    order = np.argsort(rng.random((count, days_in_month)), axis=1)
    rank = np.arange(day_user.size) - np.repeat(np.cumsum(days) - days, days)
    day_of_month = order[day_user, rank]
    # hours per online day: the user's mean, varied per day, rescaled to keep the mean
    weight = rng.uniform(0.6, 1.4, day_user.size)
    weight /= np.bincount(day_user, weight)[day_user] / days[day_user]
    day_hours = np.minimum(ontime[day_user] * weight, _DAY_HOURS * 0.9)

    # sessions: 1-3 per online day in equal slots of the day, never overlapping
    per_day = 1 + rng.binomial(2, 0.25, day_user.size)
    s_day = np.repeat(np.arange(day_user.size), per_day)
    s_user = day_user[s_day]
    slot = np.arange(s_day.size) - np.repeat(np.cumsum(per_day) - per_day, per_day)
    share = rng.uniform(0.5, 1.5, s_day.size)
    share /= np.bincount(s_day, share)[s_day]
    slot_h = _DAY_HOURS / per_day[s_day]
    dur_s = np.minimum(day_hours[s_day] * share, slot_h * 0.98) * 3600.0
    start_h = _DAY_START_H + slot * slot_h + rng.random(s_day.size) * (slot_h - dur_s / 3600.0)
    logon_s = (day_of_month[s_day] * 86400.0 + start_h * 3600.0).astype(np.int64)
    dur_s = np.floor(dur_s).astype(np.int64)
    # traffic: the user's MB per hour, varied per session; a fifth of it up
    rate = flow_mb[s_user] / np.maximum(ontime[s_user], 0.1) * rng.uniform(0.7, 1.3, s_day.size)
    total_b = rate * dur_s / 3600.0 * _MB
    up_share = rng.uniform(0.1, 0.3, s_day.size)

    # reports: periodic every interval, on demand at random, final at logoff (unless lost)
    step = int(settings.report_interval_min * 60)
    n_periodic = np.maximum(dur_s - 1, 0) // step
    n_demand = rng.poisson(settings.on_demand_per_session, s_day.size)
    final = rng.random(s_day.size) >= settings.open_share
    n_rep = n_periodic + n_demand + final
    r_sess = np.repeat(np.arange(s_day.size), n_rep)
    k = np.arange(r_sess.size) - np.repeat(np.cumsum(n_rep) - n_rep, n_rep)
    kind = np.where(k < n_periodic[r_sess], 0, np.where(k < (n_periodic + n_demand)[r_sess], 1, 2))
    elapsed = np.where(
        kind == 0,
        (k + 1) * step,
        np.where(
            kind == 1, (rng.random(r_sess.size) * dur_s[r_sess]).astype(np.int64), dur_s[r_sess]
        ),
    )
    frac = np.where(dur_s[r_sess] > 0, elapsed / np.maximum(dur_s[r_sess], 1), 1.0)
    up = np.round(total_b[r_sess] * up_share[r_sess] * frac).astype(np.int64)
    down = np.round(total_b[r_sess] * (1 - up_share[r_sess]) * frac).astype(np.int64)

    # what a reader keeps: the latest report of each session that sent any
    last = np.full(s_day.size, -1, dtype=np.int64)
    np.maximum.at(last, r_sess, elapsed)
    kept = last >= 0
    kept_flow = np.zeros(s_day.size)
    is_last = elapsed == last[r_sess]
    np.maximum.at(kept_flow, r_sess[is_last], (up + down)[is_last].astype(float))
    user_secs = np.bincount(s_user[kept], last[kept], minlength=count)
    user_bytes = np.bincount(s_user[kept], kept_flow[kept], minlength=count)
    day_online = np.bincount(s_day[kept], minlength=day_user.size) > 0
    user_days = np.bincount(day_user[day_online], minlength=count)

    # times travel as epoch seconds, formatted by the writer; reports arrive in time order,
    # interleaving sessions and users
    base = int(month_start.astype("datetime64[s]").astype(np.int64))
    sent = base + logon_s[r_sess] + elapsed
    r_user = s_user[r_sess]
    order = np.lexsort((r_user, sent))
    reports = pa.table(
        {
            "kind": kind[order].astype(np.int8),
            "username": pc.take(pa.array(users), pa.array(r_user[order])),
            "logon": (base + logon_s[r_sess])[order],
            "reporttime": sent[order],
            "upflow": up[order],
            "downflow": down[order],
            "imei": 860_000_000_000_000 + first + r_user[order].astype(np.int64),
            "model": pa.DictionaryArray.from_arrays(
                ((first + r_user[order]) % _MODELS.size).astype(np.int32), _MODELS.tolist()
            ),
            "battery": rng.integers(5, 101, r_sess.size, dtype=np.int16),
            "signal": rng.integers(-110, -50, r_sess.size, dtype=np.int16),
        }
    )

    # purchases: the month's, plus some the month before (the reader must leave those out)
    prev = rng.poisson(0.6, count)
    p_user = np.concatenate([np.repeat(np.arange(count), buys), np.repeat(np.arange(count), prev)])
    p_off = np.concatenate(
        [
            rng.random(buys.sum()) * days_in_month * 86400,
            -rng.random(prev.sum()) * 28 * 86400,
        ]
    ).astype(np.int64)
    buytime = pa.array(base + p_off).cast(pa.timestamp("s"))
    purchases = pa.table(
        {
            "username": users[p_user],
            "buytime": pc.strftime(buytime, format="%Y-%m-%dT%H:%M:%S"),
            "package_mb": rng.choice(np.array([512, 1024, 2048, 5120]), p_user.size),
        }
    )

    online = user_days > 0
    avgontime = np.where(online, user_secs / 3600.0 / np.maximum(user_days, 1), 0.0)
    avguseflow = np.where(online, user_bytes / _MB / np.maximum(user_days, 1), 0.0)
    tier = hidden_tier(avgontime, avguseflow, buys)
    flip = rng.random(count) < settings.label_noise
    tier = np.where(flip, (tier + rng.integers(1, 3, count)) % 3, tier)
    labels = pa.table({"user": users[online], "tier": np.array(TIERS)[tier][online]})
    return reports, purchases, labels


def write_device_reports(
    out_dir: str | Path,
    users: int = 130,
    month: str = "2024-05",
    seed: int = 0,
    *,
    settings: DeviceSynthSettings = DeviceSynthSettings(),
    force: bool = False,
    progress: Progress = Progress(),
) -> dict[str, int]:
    """Write ``reports.jsonl.gz``, ``purchases.csv`` and ``labels.csv`` into ``out_dir``.

    Returns counts: users, reports, purchases, labelled users.
    """
    import duckdb

    start, _ = month_bounds(month)
    days_in_month = calendar.monthrange(start.year, start.month)[1]
    month_start = np.datetime64(start, "s")
    seeds = np.random.SeedSequence(seed).spawn(max(1, -(-users // settings.block_users)))
    counts = {"users": users, "reports": 0, "purchases": 0, "labelled": 0}
    with atomic_output(out_dir, force=force, directory=True) as tmp:
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute("SET threads = 2")
        con.execute("SET preserve_insertion_order = true")
        reports_path = tmp / "reports.jsonl.gz"
        with (
            gzip.open(reports_path, "wb", compresslevel=settings.gzip_level) as gz,
            open(tmp / "purchases.csv", "wb") as purchases_out,
            open(tmp / "labels.csv", "wb") as labels_out,
        ):
            blocks = range(0, users, settings.block_users)
            for nth, first in enumerate(progress.track(blocks, "synthetic device reports")):
                count = min(settings.block_users, users - first)
                rng = np.random.default_rng(seeds[nth])
                reports, purchases, labels = _block(
                    first, count, month_start, days_in_month, settings, rng
                )
                _append_reports(con, reports, tmp / f".part{nth}.jsonl", gz)
                options = pacsv.WriteOptions(include_header=nth == 0)
                pacsv.write_csv(purchases, purchases_out, options)
                pacsv.write_csv(labels, labels_out, options)
                counts["reports"] += reports.num_rows
                counts["purchases"] += purchases.num_rows
                counts["labelled"] += labels.num_rows
        con.close()
    return counts


_REPORT_JSON = """to_json({
    'type': ['periodic', 'on_demand', 'logoff'][kind + 1],
    'username': username,
    'logontime': make_timestamp(logon * 1000000)::VARCHAR,
    'logofftime': CASE WHEN kind = 2 THEN make_timestamp(reporttime * 1000000)::VARCHAR END,
    'upflow': upflow, 'downflow': downflow, 'reporttime': reporttime,
    'device': {'imei': imei, 'model': model::VARCHAR, 'battery': battery, 'signal': signal}
})"""


def _append_reports(con, reports: pa.Table, part: Path, gz) -> None:
    """Format a block's reports as JSON lines (in DuckDB) and append them to the gzip stream."""
    con.register("block", reports)
    con.execute(
        f"""COPY (SELECT {_REPORT_JSON} FROM block)
        TO '{part}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')"""
    )
    con.unregister("block")
    with open(part, "rb") as src:
        shutil.copyfileobj(src, gz, 1 << 20)
    part.unlink()
