"""Renders results.json as benchmarks/results.md: figures, targets (PASS/MISS), machine.

What the page shows is the two tables at the end, TARGET_ROWS and SECTIONS, in order."""

from collections.abc import Callable


def _range(summary: dict, digits: int = 2) -> str:
    return (
        f"{summary['median']:.{digits}f} (range {summary['low']:.{digits}f}–{summary['high']:.{digits}f}, "
        f"{summary['runs']} runs)"
    )


def _mark(passed: bool) -> str:
    return "PASS" if passed else "MISS"


FRAMEWORK_NAMES = {"cdktf": "CDKTF", "cdktn": "CDK Terrain"}
INTRODUCTION = [
    "# Benchmarks",
    "",
    "Written by `make bench` (benchmarks/run.py); raw figures in results.json. Medians, with the",
    "range over the runs. Targets are reported, never enforced.",
    "",
    "## Targets",
    "",
    "| Target | Measured | Result |",
    "|---|---|---|",
]
NO_NOTES = "## Where the time and memory go\n\n(not written yet)\n"


def markdown(results: dict, notes: str) -> str:
    """results.md: the targets table (a row or more from each of TARGET_ROWS), then each of
    SECTIONS in turn, then the hand-written notes. Both tables are at the end of this file."""
    lines = list(INTRODUCTION)
    for target_rows in TARGET_ROWS:
        lines += target_rows(results, results["targets"])
    for section in SECTIONS:
        lines += section(results)
    return "\n".join(lines) + "\n\n" + (notes or NO_NOTES)


# --- synth ----------------------------------------------------------------------------------


def _synth_targets_per_framework(results: dict, targets: dict) -> list[str]:
    return [
        row
        for framework, synth in results["synth"].items()
        for row in _synth_targets(FRAMEWORK_NAMES.get(framework, framework), synth, targets)
    ]


def _synth_sections(results: dict) -> list[str]:
    return [
        line
        for framework, synth in results["synth"].items()
        for line in _synth_section(FRAMEWORK_NAMES.get(framework, framework), synth)
    ]


def _synth_targets(framework: str, synth: dict, targets: dict) -> list[str]:
    ours = synth["ours"]
    lines = []
    for kind, label in (("first", "first synth after the set-up"), ("later", "later synths")):
        seconds = ours[kind]["seconds"]["median"]
        lines.append(
            f"| {framework}: {label} ≤ {targets['synth_seconds']} s median | {seconds:.2f} s "
            f"| {_mark(seconds <= targets['synth_seconds'])} |"
        )
    largest = max(ours[kind]["largest_process_mb"]["high"] for kind in ("first", "later"))
    tree = max(ours[kind]["peak_mb"]["high"] for kind in ("first", "later"))
    lines += [
        f"| {framework}: synth peak memory, largest process ≤ {targets['synth_largest_process_mb']} MB "
        f"(worst run) | {largest:.0f} MB | {_mark(largest <= targets['synth_largest_process_mb'])} |",
        f"| {framework}: synth peak memory, sum of the process tree ≤ {targets['synth_tree_mb']} MB "
        f"(worst run) | {tree:.0f} MB | {_mark(tree <= targets['synth_tree_mb'])} |",
    ]
    for kind in ("first", "later"):
        ratio = synth[f"ratio_{kind}"]
        lines.append(
            f"| {framework}: {kind} synth ≤ {targets['synth_vs_predecessor']}× the predecessor's AWS CDK "
            f"synth | {ratio:.2f}× | {_mark(ratio <= targets['synth_vs_predecessor'])} |"
        )
    return lines


def _synth_section(framework: str, synth: dict) -> list[str]:
    ours, theirs = synth["ours"], synth["predecessor"]
    lines = [
        "",
        f"## Synth on {framework} from empty jsii caches: ours (`python main.py`) vs the predecessor's AWS CDK app",
        "",
        f"`make deps CDK=...` installed {framework} first in {synth['install']['seconds']:.0f} s (largest process "
        f"{synth['install']['largest_process_mb']:.0f} MB). Then, for each fresh cache: the set-up (`make deps`:",
        "only its jsii cache step has work to do), then the first synth; then later synths on the last",
        "cache, alternating the two apps. The predecessor (`python tap.py`, aws-cdk-lib 2.275.0 in its own",
        "virtualenv, on the project's Node.js too) gets an empty jsii cache the same way and no set-up step.",
        "",
        "| | ours, first | ours, later | predecessor, first | predecessor, later |",
        "|---|---|---|---|---|",
        _synth_row("wall time, s", synth, "seconds", 2),
        _synth_row("CPU time (user + sys, whole process tree), s", synth, "cpu_seconds", 2),
        _synth_row("template written after, s", synth, "json_written_after", 2),
        _synth_row("peak RSS, largest process, MB", synth, "largest_process_mb", 0),
        _synth_row("peak RSS, each process's peak summed, MB", synth, "peak_mb", 0),
        f"| worst peak by command, MB | {_by_command(ours['first'])} | {_by_command(ours['later'])} "
        f"| {_by_command(theirs['first'])} | {_by_command(theirs['later'])} |",
        "",
        f"Ratio of medians, ours / predecessor: first **{synth['ratio_first']:.2f}×**, later "
        f"**{synth['ratio_later']:.2f}×**. The set-up step took {_range(synth['setup']['seconds'], 1)} s, "
        f"peak {synth['setup']['largest_process_mb']['high']:.0f} MB in its largest process. Load average "
        f"after the section: {', '.join(f'{load:.2f}' for load in synth['load_average_after'])}.",
        "",
        "Where one of our synths spends its time (benchmarks/synth_phases.py: main.py's steps with a",
        "clock reading after each; ms):",
        "",
        "| phase | median | range |",
        "|---|---|---|",
    ]
    for phase, summary in synth["phases_ms"].items():
        lines.append(f"| {phase} | {summary['median']:.0f} | {summary['low']:.0f}–{summary['high']:.0f} |")
    return lines


def _synth_row(label: str, synth: dict, key: str, digits: int) -> str:
    cells = [_range(synth[app][kind][key], digits) for app in ("ours", "predecessor") for kind in ("first", "later")]
    return f"| {label} | " + " | ".join(cells) + " |"


def _by_command(variant: dict) -> str:
    return ", ".join(f"{command} {mb}" for command, mb in sorted(variant["peak_mb_by_command"].items()))


# --- the handler: cold start and work per request ------------------------------------------


def _cold_start_target(results: dict, targets: dict) -> list[str]:
    ratio, limit = results["cold_start_ms"]["ratio"], targets["cold_start_ratio"]
    return [f"| handler cold start ≤ {limit}× bare boto3 client | {ratio:.2f}× | {_mark(ratio <= limit)} |"]


def _request_targets(results: dict, targets: dict) -> list[str]:
    budget = targets["handler_own_work_ms"]
    return [
        f"| `{route}` handler's own work ≤ {budget} ms per request "
        f"(Stubber ratio {figures['ratio']:.2f}×, was a ≤ {targets['request_ratio']}× target) "
        f"| {figures['own_work_ms']:.3f} ms | {_mark(figures['own_work_ms'] <= budget)} |"
        for route, figures in results["requests"].items()
    ]


def _cold_start_section(results: dict) -> list[str]:
    cold = results["cold_start_ms"]
    return [
        "",
        "## Handler cold start (fresh interpreter; import + client creation, start-up excluded)",
        "",
        f"- `import reviews.app; reviews.app.default_app()`: {_range(cold['handler'])} ms",
        f"- `import boto3; boto3.client('dynamodb', ...)`: {_range(cold['bare_boto3'])} ms",
        f"- ratio: **{cold['ratio']:.2f}×**",
    ]


def _requests_section(results: dict) -> list[str]:
    lines = [
        "",
        "## Handler overhead per request (Stubber answers both sides; µs per request)",
        "",
        "The handler's own work is end to end minus the bare call(s); "
        f"budget ≤ {results['targets']['handler_own_work_ms'] * 1000:.0f} µs.",
        "",
        "| route | handler end to end | bare boto3 call(s) | ratio | handler's own work |",
        "|---|---|---|---|---|",
    ]
    for route, f in results["requests"].items():
        lines.append(
            f"| `{route}` "
            f"| {f['handler_us']:.0f} ({f['handler_range_us'][0]:.0f}–{f['handler_range_us'][1]:.0f}) "
            f"| {f['bare_us']:.0f} ({f['bare_range_us'][0]:.0f}–{f['bare_range_us'][1]:.0f}) "
            f"| {f['ratio']:.2f}× | {f['own_work_ms'] * 1000:.0f} µs |"
        )
    return lines


# --- the local gateway and the emulator ---------------------------------------------------------


def _gateway_target(results: dict, targets: dict) -> list[str]:
    """The local gateway under a storefront's burst answers every request."""
    gateway = results["gateway"]
    if "not_measured" in gateway:
        return []
    busiest = max(gateway["gateway"], key=int)
    figures = gateway["gateway"][busiest]
    clean = figures["errors"] == 0 and figures.get("resets", 0) == 0
    return [
        f"| local gateway at concurrency {busiest}: 0 resets, 0 errors "
        f"| {figures.get('resets', '–')} resets, {figures['errors']} errors | {_mark(clean)} |"
    ]


def _gateway_section(results: dict) -> list[str]:
    gateway = results["gateway"]
    lines = ["", "## Local gateway (localaws): GET /v1/reviews?product_id=…", ""]
    if "not_measured" in gateway:
        return [*lines, f"not measured: {gateway['not_measured']}"]
    lines += [
        f"Deploying (emulator, synth, terraform init + apply, gateway start) took {gateway['deploy_seconds']:.0f} s.",
        "",
        "| caller | concurrency | requests/s | p50 ms | p99 ms | resets | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for caller in ("gateway", "direct_handler"):
        for concurrency, f in gateway[caller].items():
            lines.append(
                f"| {caller.replace('_', ' ')} | {concurrency} | {f['requests_per_second']:.0f} "
                f"| {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f.get('resets', '–')} | {f['errors']} |"
            )
    return lines


def _http_layer_section(results: dict) -> list[str]:
    """Rendered by benchmarks/http_layer.py, imported only with its figures: it needs Powertools
    (`make bench-packages`)."""
    if not results.get("http_layer"):
        return []
    import http_layer

    return http_layer.report_lines(results["http_layer"])


def _persistence_section(results: dict) -> list[str]:
    """What saving the emulator's state costs per write (benchmarks/emulator_persistence.py)."""
    persistence = results.get("emulator_persistence")
    if not persistence:
        return []
    return [
        "",
        f"## Emulator state saved after every write: DynamoDB PutItem, {persistence['items']} items in the table",
        "",
        "| request | median ms |",
        "|---|---|",
        f"| PutItem, not saved (baseline, same run) | {persistence['put_without_saving']:.2f} |",
        f"| PutItem, logged before the answer | {persistence['put_saved']:.2f} |",
        f"| GetItem (reads are not saved) | {persistence['get_with_saving_on']:.2f} |",
        f"| TagResource (a write that saves the whole service) | {persistence['tag_saved_whole']:.2f} |",
        "",
        f"An item write costs {persistence['save_cost_ms']:.1f} ms more when logged "
        f"({persistence['file_bytes']} bytes on disk).",
    ]


# --- the deploy loop and make test ------------------------------------------------------------

DEPLOY_MEASURES = (  # key in results, what it is, its target
    ("up", "`make up` from a clean emulator", "make_up_seconds"),
    ("handler_change", "handler change → live (`make up` returns serving it)", "handler_live_seconds"),
    ("plan", "`make plan` (local, the stack deployed by `make up`)", "make_plan_seconds"),
)


def _deploy_loop_targets(results: dict, targets: dict) -> list[str]:
    loop = results["deploy_loop"]
    if "trees" not in loop:
        return [f"| the deploy loop | not measured: {loop['not_measured']} | – |"]
    ours, baseline = loop["trees"]["ours"], loop["trees"]["baseline"]
    lines = []
    for key, label, target in DEPLOY_MEASURES:
        seconds, cpu = ours[key]["seconds"]["median"], ours[key]["cpu_seconds"]["median"]
        before, before_cpu = baseline[key]["seconds"]["median"], baseline[key]["cpu_seconds"]["median"]
        lines.append(
            f"| {label} ≤ {targets[target]} s median | {seconds:.1f} s, CPU {cpu:.1f} s (baseline "
            f"{before:.1f} s, CPU {before_cpu:.1f} s) | {_mark(seconds <= targets[target])} |"
        )
    return lines


def _watch_target(results: dict, targets: dict) -> list[str]:
    """make watch: from saving a handler edit to the gateway serving it (ours only: new)."""
    ours = results["deploy_loop"].get("trees", {}).get("ours", {})
    served = ours.get("watch_save_to_served")
    if not served:
        return []
    after = ours["up_after_watch"]["seconds"]["median"]
    limit = targets["watch_save_to_served_seconds"]
    return [
        f"| `make watch`: a handler edit saved → served ≤ {limit} s median | {served['median']:.2f} s (range "
        f"{served['low']:.2f}–{served['high']:.2f}, {served['runs']} edits); the `make up` after it {after:.1f} s "
        f"| {_mark(served['median'] <= limit)} |"
    ]


def _deploy_loop_section(results: dict) -> list[str]:
    loop = results["deploy_loop"]
    if "trees" not in loop:
        return []
    trees = loop["trees"]
    lines = [
        "",
        f"## The local deploy loop: ours vs the baseline ({loop['baseline_revision']})",
        "",
        "Each tree is a copy of the project with ports of its own; the runs alternate between the",
        "two. Per run: `make up` from a clean emulator (its `.terraform` kept, as after `make down`),",
        "a handler edit (`MAX_AGE_SECONDS`) and `make up` until it returns with the gateway serving",
        "it (checked), `make plan` of the deployed stack, the emulator stopped. Wall and CPU seconds",
        "(CPU: the whole process tree, the provider included).",
        "",
        "| | ours | baseline |",
        "|---|---|---|",
    ]
    measures = (
        ("first_up", "first `make up` of a checkout (terraform init too)"),
        *((key, label) for key, label, _ in DEPLOY_MEASURES),
    )
    for key, label in measures:
        cells = [
            f"{_range(trees[tree][key]['seconds'], 1)}, CPU {trees[tree][key]['cpu_seconds']['median']:.1f}"
            for tree in ("ours", "baseline")
        ]
        lines.append(f"| {label}, s | {cells[0]} | {cells[1]} |")
    for key, label, _ in DEPLOY_MEASURES:
        lines += [
            "",
            f"Where {label} spends its time (medians, s): the steps it prints, the Terraform",
            "commands and checkov inside them (·), and the longest wait Terraform reports per resource type.",
            "",
            "| | ours | baseline |",
            "|---|---|---|",
        ]
        for part, prefix in (("steps", ""), ("phases", "· "), ("waits", "wait: ")):
            names = {name: None for tree in trees.values() for name in tree[key][part]}
            for name in names:
                cells = [
                    f"{trees[tree][key][part][name]['median']:.1f}" if name in trees[tree][key][part] else "–"
                    for tree in ("ours", "baseline")
                ]
                lines.append(f"| {prefix}{name} | {cells[0]} | {cells[1]} |")
    load = ", ".join(f"{value:.2f}" for value in trees["ours"]["plan"]["load_average_after"])
    return [*lines, "", f"Load average after the section: {load}."]


def _make_test_section(results: dict) -> list[str]:
    make_test = results["make_test"]
    trees = make_test.get("trees")
    if not trees:
        return []
    lines = [
        "",
        f"## `make test`: ours vs the baseline ({make_test['baseline_revision']})",
        "",
        "The lint target `make test` runs first (a cold mypy cache), then the tests as the tree's",
        "Makefile runs them, in copies of the two trees, alternating.",
        "",
        "| | ours | baseline |",
        "|---|---|---|",
    ]
    for key, label in (
        ("seconds", "make test, s"),
        ("cpu_seconds", "CPU, s"),
        ("lint_seconds", "lint, s"),
        ("tests_seconds", "tests, s"),
    ):
        lines.append(f"| {label} | {_range(trees['ours'][key], 0)} | {_range(trees['baseline'][key], 0)} |")
    lines.append(f"| tests passed, per run | {trees['ours']['passed']} | {trees['baseline']['passed']} |")
    lines.append(f"| command | `{trees['ours']['command']}` | `{trees['baseline']['command']}` |")
    return lines + _per_file_table(trees["ours"].get("files", {}), trees["baseline"].get("files", {}))


def _per_file_table(ours: dict, baseline: dict) -> list[str]:
    """Seconds per test file (medians), the baseline's slowest first; files only one tree has
    show a dash for the other."""
    if not ours:
        return []
    names = sorted(set(ours) | set(baseline), key=lambda name: -max(baseline.get(name, ours[name])["median"], 0))
    lines = [
        "",
        "Seconds per test file (medians; a file's tests' setup, call and teardown in the process that",
        "ran it, its deployment included):",
        "",
        "| file | ours | baseline |",
        "|---|---|---|",
    ]
    for name in names:
        cells = [f"{tree[name]['median']:.1f}" if name in tree else "–" for tree in (ours, baseline)]
        lines.append(f"| `{name}` | {cells[0]} | {cells[1]} |")
    return lines


def _make_test_target(results: dict, targets: dict) -> list[str]:
    make_test, limit = results["make_test"], targets["make_test_seconds"]
    if "trees" not in make_test:
        return [f"| `make test` ≤ {limit / 60:.0f} min | not measured: {make_test['not_measured']} | – |"]
    tested, tested_baseline = make_test["trees"]["ours"], make_test["trees"]["baseline"]
    minutes = tested["seconds"]["median"] / 60
    passed = minutes * 60 <= limit and not any(tested["exit_codes"])
    return [
        f"| `make test` ≤ {limit / 60:.0f} min (2 cores) | {minutes:.1f} min, "
        f"exits {tested['exit_codes']} (baseline {tested_baseline['seconds']['median'] / 60:.1f} min, "
        f"measured {tested['measured_on']}) | {_mark(passed)} |"
    ]


CI_RUNS = (("bare", "from a bare clone (every cache empty)"), ("cached", "again, from a new clone (caches kept)"))


def _ci_run_target(results: dict, targets: dict) -> list[str]:
    ci_run = results.get("ci_run", {"not_measured": "not run yet"})
    if "trees" not in ci_run:
        return [
            f"| `bash .ci/run` from a bare clone ≤ {targets['ci_bare_seconds'] / 60:.0f} min | not measured: "
            f"{ci_run['not_measured']} | – |"
        ]
    ours, baseline = ci_run["trees"]["ours"]["bare"], ci_run["trees"]["baseline"]["bare"]
    passed = ours["seconds"] <= targets["ci_bare_seconds"] and ours["exit_code"] == 0
    return [
        f"| `bash .ci/run` from a bare clone ≤ {targets['ci_bare_seconds'] / 60:.0f} min | "
        f"{ours['seconds'] / 60:.1f} min, exit {ours['exit_code']} (baseline {baseline['seconds'] / 60:.1f} min) "
        f"| {_mark(passed)} |"
    ]


def _ci_run_section(results: dict) -> list[str]:
    ci_run = results.get("ci_run", {})
    if "trees" not in ci_run:
        return []
    trees = ci_run["trees"]
    lines = [
        "",
        f"## `bash .ci/run`: ours vs the baseline ({ci_run['baseline_revision']})",
        "",
        "CI's command in a copy of each tree with nothing installed, with CI=true and a HOME of its own",
        "(pip, pipenv, npm, jsii and the machine-level installs start empty), then in a second new copy",
        "with the same HOME. Chromium is a machine-wide Debian package and is in neither figure.",
        "",
        "| | ours | baseline |",
        "|---|---|---|",
    ]
    for kind, label in CI_RUNS:
        for key, what in (
            ("seconds", "in all"),
            ("before_tests_seconds", "installs and lint"),
            ("tests_seconds", "tests"),
        ):
            cells = [f"{trees[tree][kind][key]:.0f}" for tree in ("ours", "baseline")]
            lines.append(f"| {label}: {what}, s | {cells[0]} | {cells[1]} |")
        runs = [f"exit {trees[tree][kind]['exit_code']}, {trees[tree][kind]['passed']} passed" for tree in trees]
        lines.append(f"| {label}: result | {runs[0]} | {runs[1]} |")
    return lines


def _machine_section(results: dict) -> list[str]:
    return ["", "## Machine", ""] + [f"- {key}: {value}" for key, value in results["machine"].items()]


# --- what results.md shows, in order ---------------------------------------------------------
# A benchmark adds its rows here: a function (results, targets) -> rows of the targets table,
# and/or a function (results) -> the lines of its section (none when results lack its figures).

TARGET_ROWS: tuple[Callable[[dict, dict], list[str]], ...] = (
    _synth_targets_per_framework,
    _cold_start_target,
    _request_targets,
    _deploy_loop_targets,
    _watch_target,
    _ci_run_target,
    _gateway_target,
    _make_test_target,
)
SECTIONS: tuple[Callable[[dict], list[str]], ...] = (
    _synth_sections,
    _cold_start_section,
    _requests_section,
    _gateway_section,
    _http_layer_section,
    _persistence_section,
    _deploy_loop_section,
    _make_test_section,
    _ci_run_section,
    _machine_section,
)
