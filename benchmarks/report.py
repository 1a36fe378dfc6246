"""Renders results.json as benchmarks/results.md: figures, targets (PASS/MISS), machine."""


def _range(summary: dict, digits: int = 2) -> str:
    return (f"{summary['median']:.{digits}f} (range {summary['low']:.{digits}f}–{summary['high']:.{digits}f}, "
            f"{summary['runs']} runs)")


def _mark(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def markdown(results: dict, notes: str) -> str:
    targets, synth = results["targets"], results["synth"]
    fast, eager = synth["fast"], synth["eager"]
    cold, requests = results["cold_start_ms"], results["requests"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (benchmarks/run.py); raw figures in results.json. Medians, with the",
        "range over the runs. Targets are reported, never enforced.",
        "",
        "## Targets",
        "",
        "| Target | Measured | Result |",
        "|---|---|---|",
        f"| synth (fast loading) ≤ {targets['synth_seconds']} s median | {fast['seconds']['median']:.2f} s "
        f"| {_mark(fast['seconds']['median'] <= targets['synth_seconds'])} |",
        f"| synth ≤ {targets['synth_vs_eager']}× eager import | {synth['ratio']:.2f}× "
        f"| {_mark(synth['ratio'] <= targets['synth_vs_eager'])} |",
        f"| synth peak memory (python + node) ≤ {targets['synth_peak_mb']} MB | {fast['peak_mb']['median']:.0f} MB "
        f"| {_mark(fast['peak_mb']['median'] <= targets['synth_peak_mb'])} |",
        f"| handler cold start ≤ {targets['cold_start_ratio']}× bare boto3 client | {cold['ratio']:.2f}× "
        f"| {_mark(cold['ratio'] <= targets['cold_start_ratio'])} |",
    ]
    for route, figures in requests.items():
        lines.append(f"| `{route}` handler ≤ {targets['request_ratio']}× bare DynamoDB call | {figures['ratio']:.2f}× "
                     f"| {_mark(figures['ratio'] <= targets['request_ratio'])} |")
    make_test = results["make_test"]
    if "seconds" in make_test:
        lines.append(f"| `make test` ≤ {targets['make_test_seconds'] / 60:.0f} min | {make_test['seconds'] / 60:.1f} min "
                     f"(exit {make_test['exit_code']}, measured {make_test['measured_on']}) "
                     f"| {_mark(make_test['seconds'] <= targets['make_test_seconds'] and make_test['exit_code'] == 0)} |")
    else:
        lines.append(f"| `make test` ≤ {targets['make_test_seconds'] / 60:.0f} min | not measured: "
                     f"{make_test['not_measured']} | – |")

    lines += [
        "",
        "## Synth: `python main.py`, fast provider loading vs eager import",
        "",
        "| | fast loading | eager import |",
        "|---|---|---|",
        f"| wall time, s | {_range(fast['seconds'])} | {_range(eager['seconds'])} |",
        f"| cdk.tf.json written after, s | {_range(fast['json_written_after_seconds'])} "
        f"| {_range(eager['json_written_after_seconds'])} |",
        f"| peak RSS, each process's peak summed, MB | {_range(fast['peak_mb'], 0)} | {_range(eager['peak_mb'], 0)} |",
        f"| peak RSS, largest simultaneous sum seen, MB | {_range(fast['peak_simultaneous_mb'], 0)} "
        f"| {_range(eager['peak_simultaneous_mb'], 0)} |",
        f"| worst peak by process, MB | {_by_command(fast)} | {_by_command(eager)} |",
        "",
        f"Ratio of medians, fast / eager: **{synth['ratio']:.2f}×**. The time after \"cdk.tf.json written\" is",
        "interpreter and jsii kernel shutdown.",
        "",
        "## Handler cold start (fresh interpreter; import + client creation, start-up excluded)",
        "",
        f"- `import reviews.app; reviews.app.default_app()`: {_range(cold['handler'])} ms",
        f"- `import boto3; boto3.client('dynamodb', ...)`: {_range(cold['bare_boto3'])} ms",
        f"- ratio: **{cold['ratio']:.2f}×**",
        "",
        "## Handler overhead per request (Stubber answers both sides; µs per request)",
        "",
        "| route | handler end to end | bare boto3 call(s) | ratio | extra per request |",
        "|---|---|---|---|---|",
    ]
    for route, f in requests.items():
        lines.append(f"| `{route}` | {f['handler_us']:.0f} ({f['handler_range_us'][0]:.0f}–{f['handler_range_us'][1]:.0f}) "
                     f"| {f['bare_us']:.0f} ({f['bare_range_us'][0]:.0f}–{f['bare_range_us'][1]:.0f}) "
                     f"| {f['ratio']:.2f}× | {f['handler_us'] - f['bare_us']:.0f} µs |")
    lines += ["", "## Local gateway (localaws): GET /v1/reviews?product_id=…", ""]
    gateway = results["gateway"]
    if "not_measured" in gateway:
        lines.append(f"not measured: {gateway['not_measured']}")
    else:
        lines += [f"Deploying (emulator, synth, terraform init + apply, gateway start) took "
                  f"{gateway['deploy_seconds']:.0f} s.", "",
                  "| caller | concurrency | requests/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
        for caller in ("gateway", "direct_handler"):
            for concurrency, f in gateway[caller].items():
                lines.append(f"| {caller.replace('_', ' ')} | {concurrency} | {f['requests_per_second']:.0f} "
                             f"| {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['errors']} |")
    machine = results["machine"]
    lines += ["", "## Machine", ""] + [f"- {key}: {value}" for key, value in machine.items()]
    return "\n".join(lines) + "\n\n" + (notes or "## Where the time and memory go\n\n(not written yet)\n")


def _by_command(variant: dict) -> str:
    return ", ".join(f"{command} {mb}" for command, mb in sorted(variant["peak_mb_by_command"].items()))
