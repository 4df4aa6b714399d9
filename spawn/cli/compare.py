"""The ``lineage-sim compare`` subcommand: attribution rules side by side on one lineage."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from attribution import AttributionError, Rule, rule_names
from attribution.comparison import compare, render_comparison
from attribution.plot import plot_credit
from attribution.table import frame_csv, resolve_rules
from lineage import atomic_write
from lineage.text import plain, printable
from spawn.cli import PROG
from spawn.cli.args import whole_number
from spawn.cli.files import check_output, load_lineage
from spawn.errors import SpawnError, UsageError

__all__ = ["cmd_compare", "register"]

_NAME = f"{PROG} compare"


def _lineage_path(run: str) -> Path:
    from spawn.run.layout import lineage_file

    try:
        return lineage_file(run)
    except SpawnError as exc:
        raise UsageError(f"{_NAME}: {exc}") from None


def cmd_compare(args: argparse.Namespace) -> int:
    """Check every output path, load, compute everything, and only then write: an error never
    leaves a file half-written, nor one file written and the other not."""
    outputs: dict[str, Path] = {}
    for flag, given in (("--csv", args.csv), ("--json", args.json), ("--plot", args.plot)):
        if given is None:
            continue
        path = check_output("compare", flag, given)
        for other, seen in outputs.items():
            if seen.resolve() == path.resolve():
                raise UsageError(f"{_NAME}: {other} and {flag} name the same file {given!r}")
        outputs[flag] = path
    csv_out, json_out, plot_out = (outputs.get(f) for f in ("--csv", "--json", "--plot"))
    if _is_sweep(args.run):
        return _compare_sweep(args, csv_out, json_out, plot_out)
    source = _lineage_path(args.run)
    try:
        rules: list[Rule] = resolve_rules(_rule(r) for r in args.rule)
        lineage = load_lineage(source)
        comparison = compare(lineage, rules)
        solo = _solo(args.run, comparison)
        universal = _universal(source, lineage, rules) if args.universal else None
        # credit per rule, then liability[<rule>] per rule: the same credit bytes as attribution.csv
        csv_text = frame_csv(comparison.credit_and_liability()) if csv_out is not None else None
        json_text = _json(source, comparison, solo, universal) if json_out is not None else None
        png = plot_credit(lineage, comparison.table, title=printable(source)) if plot_out is not None else None
    except (AttributionError, SpawnError) as exc:
        raise UsageError(f"{_NAME}: {exc}") from None

    from rich.console import Console

    console = Console()
    console.print(plain(f"{source}: {len(lineage)} agents; rules: {', '.join(r.spec for r in rules)}"), soft_wrap=True)
    for part in render_comparison(comparison, top=args.top):
        console.print(part)
    if solo is not None:
        console.print(_solo_table(solo))
    if universal is not None:
        from spawn.experiments.universal import render_universal

        for part in render_universal(universal):
            console.print(part)
    if csv_text is not None and csv_out is not None:
        atomic_write(csv_out, csv_text)
        print(f"wrote {printable(csv_out)} ({len(lineage)} agents x {len(rules)} rules)", file=sys.stderr)
    if json_text is not None and json_out is not None:
        atomic_write(json_out, json_text)
        print(f"wrote {printable(json_out)}", file=sys.stderr)
    if png is not None and plot_out is not None:
        atomic_write(plot_out, png)
        print(f"wrote {printable(plot_out)}", file=sys.stderr)
    return 0


def _is_sweep(run: str) -> bool:
    from spawn.run.layout import SweepDir, open_output

    return isinstance(open_output(run), SweepDir)


def _compare_sweep(args: argparse.Namespace, csv_out: Path | None, json_out: Path | None, plot_out: Path | None) -> int:
    """``compare`` on a sweep directory: every arm's seed runs compared, aggregated over seeds."""
    from spawn.experiments.compare_sweep import compare_sweep, render_sweep_comparison

    if plot_out is not None:
        raise UsageError(f"{_NAME}: --plot draws one lineage; give one of the sweep's runs, {args.run}/<arm>/seed-<s>")
    try:
        rules: list[Rule] = resolve_rules(_rule(r) for r in args.rule)
        result = compare_sweep(args.run, rules, universal=args.universal)
        csv_text = result.to_csv() if csv_out is not None else None
        json_text = result.to_json() if json_out is not None else None
    except (AttributionError, SpawnError) as exc:
        raise UsageError(f"{_NAME}: {exc}") from None

    from rich.console import Console

    console = Console()
    runs = sum(len(s) for s in result.seeds.values())
    console.print(
        plain(f"{args.run}: sweep of {len(result.seeds)} arms, {runs} runs; rules: {', '.join(result.rules)}"),
        soft_wrap=True,
    )
    for part in render_sweep_comparison(result):
        console.print(part)
    if csv_text is not None and csv_out is not None:
        atomic_write(csv_out, csv_text)
        rows = len(result.statistics)
        print(f"wrote {printable(csv_out)} ({rows} rows: arm, rule, statistic)", file=sys.stderr)
    if json_text is not None and json_out is not None:
        atomic_write(json_out, json_text)
        print(f"wrote {printable(json_out)}", file=sys.stderr)
    return 0


def _universal(source: Path, lineage: Any, rules: list[Rule]) -> Any:
    """``--universal``: the root's Upsilon and Sigma per rule, from the run's config.toml."""
    from spawn.experiments.universal import run_complexities, universal_credit

    return universal_credit(lineage, rules, run_complexities(source))


def _json(source: Path, comparison: Any, solo: dict[str, Any] | None = None, universal: Any = None) -> str:
    """The comparison as one JSON document (NaN as null; see :meth:`attribution.Comparison.to_dict`),
    with ``"solo"`` (see :func:`_solo`) when the run trained the root alone and ``"universal"`` (see
    :meth:`spawn.experiments.universal.UniversalCredit.to_dict`) with ``--universal``."""
    doc = {"lineage": str(source), **comparison.to_dict()}
    if solo is not None:
        doc["solo"] = solo
    if universal is not None:
        doc["universal"] = universal.to_dict()
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x


def _solo(run: str, comparison: Any) -> dict[str, Any] | None:
    """When ``run`` is a run directory whose ``summary.json`` has ``"solo"`` (``[baseline] solo``):
    the solo agent's value and, per rule, the root's credit, the rule's credit of the solo agent (a
    lineage of that one agent, :func:`spawn.run.baseline.solo_credit`) and the lineage's gain over it
    (root credit - solo credit); else ``None``. Missing numbers are ``None``."""
    from lineage import LineageError, read_text
    from spawn.run.baseline import gain, solo_credit

    path = Path(run) / "summary.json"
    if not Path(run).is_dir() or not path.is_file():
        return None
    try:
        data = json.loads(read_text(path, limit=2**24, what="a run summary"))
    except LineageError as exc:
        raise UsageError(f"{_NAME}: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{_NAME}: {printable(path)}: is not a run summary ({str(exc)[:120]})") from None
    solo = data.get("solo") if isinstance(data, dict) else None
    if not isinstance(solo, dict):
        return None
    value = solo.get("value")
    value = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    table = comparison.table
    rules: dict[str, dict[str, float | None]] = {}
    for rule in table.columns:
        credit = float(table.loc["0", rule]) if "0" in table.index else math.nan
        mine = _finite(solo_credit(str(rule), solo))
        rules[str(rule)] = {
            "root_credit": _finite(credit),
            "solo_credit": mine,
            "gain": _finite(gain(_finite(credit), mine)),
        }
    return {"value": value, "rules": rules}


def _solo_table(solo: dict[str, Any]) -> Any:
    """The rich table of :func:`_solo`: per rule, the root's credit, the solo agent's and the gain."""
    from rich.table import Table

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.6g}"

    t = Table(
        title="gain over the root trained alone (root credit - the rule's credit of the solo agent)",
        title_justify="left",
    )
    for name, just in (("rule", "left"), ("root credit", "right"), ("solo credit", "right"), ("gain", "right")):
        t.add_column(name, justify=just, overflow="fold")  # type: ignore[arg-type]
    for rule, row in solo["rules"].items():
        t.add_row(plain(rule), num(row["root_credit"]), num(row["solo_credit"]), num(row["gain"]))
    return t


def _rule(spec: str) -> Rule:
    """A rule from its spec within the work limits (``shapley:samples=10**9`` is refused)."""
    from spawn.config import check_rule

    try:
        rule: Rule = check_rule(spec)
    except SpawnError as exc:
        raise UsageError(f"{_NAME}: --rule {exc}") from None
    return rule


def register(subparsers: Any) -> None:
    """Add ``compare`` to the ``lineage-sim`` command line."""
    p = subparsers.add_parser(
        "compare",
        help="compare attribution rules on a lineage",
        description=(
            "Credit every agent under each rule and compare: top agents with the liability each rule "
            "charged (liability=<weight>,penalty=<attribute>), who comes first, Gini "
            "concentration, Kendall tau between rules, the alignment tax, and how well each rule "
            "predicts later clade value. On a sweep directory, every arm's seed runs are compared and "
            "each statistic is shown as its mean and 95% interval over seeds. "
            f"Rules: {', '.join(rule_names())}; parameters as "
            "name:key=value,... (e.g. discounted:gamma=0.5,transform=multiplicative)."
        ),
    )
    p.add_argument(
        "run",
        metavar="RUN",
        help=(
            "a run directory (containing lineage.json), a lineage file, or a sweep directory "
            "(every arm's seeds compared, each statistic's mean and 95%% interval over seeds)"
        ),
    )
    p.add_argument("--rule", action="append", required=True, metavar="R", help="a rule spec; repeat for several")
    p.add_argument(
        "--csv",
        default=None,
        metavar="FILE",
        help=(
            "write every agent's credit per rule, then the liability each rule subtracted (CSV); on a "
            "sweep, one row per arm, rule and statistic: mean, lo, hi, n_seeds, method"
        ),
    )
    p.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help=(
            "write the whole comparison, credit and liability per agent included (JSON); on a sweep, "
            "every statistic's interval and per-seed values"
        ),
    )
    p.add_argument(
        "--universal",
        action="store_true",
        help=(
            "apply every rule on each environment alone and add, per rule, the root's Upsilon "
            "(sum of 2^-K x credit), Sigma (V' = V 2^-D; Sigma_K with each constitution's bits added "
            "to K), the tax and the environment that dominates, with an equal-weight mix (a departure "
            "from Legg and Hutter); needs the run's config.toml; on a sweep, each with its interval "
            "over seeds and the value lost to the constitution between constitutions = true and false arms"
        ),
    )
    p.add_argument("--plot", default=None, metavar="FILE", help="write the tree coloured by each rule (PNG)")
    p.add_argument("--top", type=whole_number(1), default=10, help="agents shown per rule (default 10)")
    p.set_defaults(func=cmd_compare)
