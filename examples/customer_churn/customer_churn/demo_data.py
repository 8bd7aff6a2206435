"""`mlplatform demo-data`: realistic landing files with a learnable churn signal.

Each customer has hidden traits (engagement, spend level, friction) that set both their behaviour
(how often they come, what they do, how much they spend) and their churn propensity: the chance
of leaving within any 30-day window while still a customer. A customer's events stop when they
leave. Customers are observed every `window` days within the event history (at least three
times); at each observation a customer still active gets a label row, `churned` = 1 when they
leave within the following window. Events go on after the earlier observations, so only a
point-in-time join keeps later events out of a label's features. The true propensity is written
outside the landing zone (``$MLPLATFORM_HOME/demo/customer_truth.parquet``) so training can report
the ceiling ROC AUC a perfect model would reach. Bad records of each kind are mixed in at chosen
shares.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import click
import numpy as np
import polars as pl
from tqdm import tqdm

EVENT_TYPES = np.array(["page_view", "login", "add_to_cart", "purchase", "support_ticket"])
END = datetime(2026, 11, 1)
DRIFT = 5.0
"""How fast activity decays, per observation window, for a propensity of 1."""


@dataclass(frozen=True)
class BadShares:
    """Share of event lines of each bad kind (0 to 1)."""

    null_customer_id: float = 0.01
    bad_amount: float = 0.01  # zero, negative or non-numeric text
    malformed: float = 0.002  # truncated JSON, garbage, a JSON array or scalar
    unknown_field: float = 0.002  # an extra field, rescued into _rescued_data
    numeric_text: float = 0.01  # customer_id or amount written as the other JSON type
    blank_lines: float = 0.001

    def validate(self) -> None:
        for name, value in self.__dict__.items():
            if not 0 <= value <= 1:
                raise click.BadParameter(f"share of {name} must be between 0 and 1, got {value}")
        if sum(self.__dict__.values()) > 0.5:
            raise click.BadParameter("bad-record shares add up to more than half of the lines")


def landing_has_files(landing: Path) -> bool:
    return any(landing.glob("customer_events/*.json"))


def observation_window(days: int) -> float:
    """Days between observations (30, or a third of a shorter history)."""
    return min(30.0, days / 3)


def _customers(n: int, days: int, rng: np.random.Generator) -> pl.DataFrame:
    engagement, spend, friction = rng.normal(size=(3, n))
    logit = -0.9 - 1.3 * engagement - 0.5 * spend + 0.9 * friction
    propensity = 1 / (1 + np.exp(-logit))
    window = observation_window(days)
    # everyone is a customer at the first observation; then whole windows survived, and a
    # uniform time within the window of leaving
    leaves = (rng.geometric(propensity) + rng.random(n)) * window
    return pl.DataFrame(
        {
            "customer_id": [str(100000 + i) for i in range(n)],
            "engagement": engagement,
            "spend": spend,
            "friction": friction,
            "propensity": propensity,
            "leaves_after_days": leaves,
        }
    )


def _labels(customers: pl.DataFrame, days: int) -> pl.DataFrame:
    """A label row per observation date and customer still active then."""
    window = observation_window(days)
    start = END - timedelta(days=days)
    leaves = customers["leaves_after_days"].to_numpy()
    frames = []
    for k in range(1, int(days // window) + 1):
        t = k * window
        active = leaves > t
        frames.append(
            pl.DataFrame(
                {
                    "customer_id": customers["customer_id"].to_numpy()[active],
                    "churned": (leaves[active] <= t + window).astype(np.int8),
                    "label_timestamp": (start + timedelta(days=t)).strftime("%Y-%m-%dT%H:%M:%S"),
                }
            )
        )
    return pl.concat(frames)


def _events(customers: pl.DataFrame, n: int, days: int, rng: np.random.Generator) -> pl.DataFrame:
    eng = customers["engagement"].to_numpy()
    spend = customers["spend"].to_numpy()
    fric = customers["friction"].to_numpy()
    rate = np.exp(0.7 * eng + 0.3 * rng.normal(size=len(eng)))
    # a customer is active from the start until they leave (or the end of the history), and
    # churn-prone customers drift away: their activity decays at a speed set by the propensity
    active_days = np.clip(customers["leaves_after_days"].to_numpy(), 0.0, days)
    decay = DRIFT * customers["propensity"].to_numpy() / observation_window(days)
    mass = -np.expm1(-decay * active_days) / decay  # integral of exp(-decay t) over the activity
    who = rng.choice(len(eng), size=n, p=rate * mass / (rate * mass).sum())
    u = rng.random(n)
    offset = -np.log1p(u * np.expm1(-decay[who] * active_days[who])) / decay[who]
    seconds = (offset * 86400).astype(np.int64)
    type_logits = np.stack(
        [
            np.full(n, 1.5),
            0.5 + 1.5 * eng[who],
            0.8 * eng[who],
            -0.3 + 1.5 * spend[who],
            -1.8 + 2.0 * fric[who],
        ],
        axis=1,
    )
    probs = np.exp(type_logits)
    probs /= probs.sum(axis=1, keepdims=True)
    etype = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    amount = np.round(rng.lognormal(3.0 + 0.8 * spend[who], 0.4), 2)
    start = END - timedelta(days=days)
    ts = (np.datetime64(start, "s") + seconds.astype("timedelta64[s]")).astype("datetime64[ms]")
    frame = pl.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[who],
            "event_type": EVENT_TYPES[etype],
            "amount": amount,
            "event_timestamp": ts,
        }
    )
    return frame.sort("event_timestamp").with_columns(
        pl.col("event_timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S")
    )


def _corrupt(lines: list[str], shares: BadShares, rng: np.random.Generator) -> list[str]:
    """Replace chosen lines by bad records of each kind; blank lines are inserted."""
    n = len(lines)
    kinds = ["null_customer_id", "bad_amount", "malformed", "unknown_field", "numeric_text"]
    p = np.array([getattr(shares, k) for k in kinds])
    pick = rng.random(n)
    edges = np.cumsum(p)
    chosen = np.searchsorted(edges, pick, side="right")
    for i in np.flatnonzero(chosen < len(kinds)):
        kind = kinds[chosen[i]]
        rec = json.loads(lines[i])
        if kind == "null_customer_id":
            if rng.random() < 0.5:
                rec["customer_id"] = None  # explicit JSON null
            else:
                del rec["customer_id"]  # missing field
            lines[i] = json.dumps(rec)
        elif kind == "bad_amount":
            rec["amount"] = [0, -abs(rec["amount"]), "n/a"][int(rng.integers(3))]
            lines[i] = json.dumps(rec)
        elif kind == "malformed":
            text = json.dumps(rec)
            lines[i] = [text[: len(text) // 2], "#garbage%%", "[1, 2, 3]", "42"][
                int(rng.integers(4))
            ]
        elif kind == "unknown_field":
            rec["coupon_code"] = f"SAVE{int(rng.integers(5, 50))}"
            lines[i] = json.dumps(rec)
        else:
            if rng.random() < 0.5:
                rec["customer_id"] = int(rec["customer_id"])
            else:
                rec["amount"] = f"{rec['amount']:.2f}"
            lines[i] = json.dumps(rec)
    blanks = np.flatnonzero(rng.random(n) < shares.blank_lines)
    for i in blanks[::-1]:
        lines.insert(int(i), "")
    return lines


def generate(
    home: Path,
    customers: int = 2_000,
    events: int = 100_000,
    files: int = 10,
    seed: int = 7,
    days: int = 90,
    shares: BadShares | None = None,
    labels: bool = True,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Write landing files under ``home/landing``; return what was written."""
    shares = shares or BadShares()
    shares.validate()
    if customers < 1 or events < 1 or files < 1:
        raise click.BadParameter("customers, events and files must be at least 1")
    rng = np.random.default_rng(seed)
    cust = _customers(customers, days, rng)
    ev_dir, lab_dir = home / "landing" / "customer_events", home / "landing" / "customer_labels"
    ev_dir.mkdir(parents=True, exist_ok=True)
    lab_dir.mkdir(parents=True, exist_ok=True)
    names = [ev_dir / f"events-s{seed}-{i:05d}.json" for i in range(files)]
    existing = [p for p in names if p.exists()]
    if existing and not overwrite:
        raise click.ClickException(
            f"{existing[0]} already exists (and {len(existing) - 1} more): landing files are "
            "never replaced silently. Use another --seed for a new batch, or --overwrite."
        )
    frame = _events(cust, events, days, rng)
    bounds = np.linspace(0, events, files + 1).astype(int)
    written = 0
    for i in tqdm(range(files), desc="landing files", unit="file", disable=not progress):
        chunk = frame.slice(bounds[i], bounds[i + 1] - bounds[i])
        lines = chunk.write_ndjson().splitlines()
        lines = _corrupt(lines, shares, rng)
        names[i].write_text("\n".join(lines) + "\n")
        written += len(lines)
    out = {"event_files": files, "event_lines": written, "events": events, "customers": customers}
    if labels:
        lab = _labels(cust, days)
        lab_path = lab_dir / f"labels-s{seed}.json"
        if lab_path.exists() and not overwrite:
            raise click.ClickException(
                f"{lab_path} already exists; use another --seed or --overwrite"
            )
        lab.write_ndjson(lab_path)
        truth_dir = home / "demo"
        truth_dir.mkdir(parents=True, exist_ok=True)
        cust.select("customer_id", "propensity", "leaves_after_days").write_parquet(
            truth_dir / "customer_truth.parquet"
        )
        out["labels"] = lab.height
    return out


@click.command("demo-data")
@click.option("--customers", default=2_000, show_default=True, help="Number of customers.")
@click.option("--events", default=100_000, show_default=True, help="Number of events.")
@click.option("--files", default=10, show_default=True, help="Number of event files.")
@click.option("--seed", default=7, show_default=True, help="Random seed (also names the files).")
@click.option("--days", default=90, show_default=True, help="Days of history the events span.")
@click.option(
    "--null-customer-id",
    default=0.01,
    show_default=True,
    help="Share of events with a null or missing customer_id.",
)
@click.option(
    "--bad-amount",
    default=0.01,
    show_default=True,
    help="Share of events with a zero, negative or non-numeric amount.",
)
@click.option(
    "--malformed",
    default=0.002,
    show_default=True,
    help="Share of lines that are not JSON objects (truncated, garbage, array, scalar).",
)
@click.option(
    "--unknown-field",
    default=0.002,
    show_default=True,
    help="Share of events with an extra field (rescued at bronze).",
)
@click.option(
    "--numeric-text",
    default=0.01,
    show_default=True,
    help="Share of events with customer_id as a JSON number or amount as a string.",
)
@click.option("--blank-lines", default=0.001, show_default=True, help="Share of blank lines.")
@click.option("--no-labels", is_flag=True, help="Write only events (a later batch).")
@click.option("--overwrite", is_flag=True, help="Replace landing files of the same seed.")
def demo_data_command(
    customers,
    events,
    files,
    seed,
    days,
    null_customer_id,
    bad_amount,
    malformed,
    unknown_field,
    numeric_text,
    blank_lines,
    no_labels,
    overwrite,
):
    """Write demo landing files under $MLPLATFORM_HOME/landing."""
    from mlplatform.settings import get_settings

    home = get_settings().home
    shares = BadShares(
        null_customer_id, bad_amount, malformed, unknown_field, numeric_text, blank_lines
    )
    out = generate(
        home,
        customers=customers,
        events=events,
        files=files,
        seed=seed,
        days=days,
        shares=shares,
        labels=not no_labels,
        overwrite=overwrite,
        progress=True,
    )
    click.echo(
        f"wrote {out['event_lines']:,} event lines in {out['event_files']} files"
        + (f" and {out['labels']:,} labels" if "labels" in out else "")
        + f" under {home / 'landing'}"
    )
