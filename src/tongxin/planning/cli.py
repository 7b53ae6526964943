"""`tongxin plan …`: pool-size advice, capacity (forward and reverse), the staggered schedule.

Every command takes `--json`. Bad input names the option on stderr in Chinese and English
and exits 2; nothing is written (planning only reads).
"""

from __future__ import annotations

from pathlib import Path

import typer

from tongxin.commands import emit, fail

app = typer.Typer(help="Planning: schedules, capacity, pool sizes.", no_args_is_help=True)


@app.command("pool")
def pool(
    prevalence: float | None = typer.Option(
        None,
        "--prevalence",
        help="Prevalence in [0, 1), e.g. 0.01; without it, the estimate from earlier results.",
    ),
    before_round: str | None = typer.Option(
        None, "--before-round", help="Estimate only from rounds that started before this one."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line."),
) -> None:
    """Advise the pool size (1, 5, 10, 20) with the fewest tests per person (Dorfman)."""
    from tongxin.commands import command_session
    from tongxin.planning.rules import PlanningError, advise_pool_size
    from tongxin.planning.service import prevalence_from_results
    from tongxin.screening.cli_setup import round_or_fail

    with command_session() as session:
        before = round_or_fail(session, before_round) if before_round else None
        estimate = prevalence_from_results(session, before=before)
    if prevalence is None:
        if estimate is None:
            fail(
                "没有给出 --prevalence,也没有既往轮次的检测结果可供估计",
                "no --prevalence given and no earlier results to estimate it from",
            )
        prevalence = estimate.estimate
    try:
        advice = advise_pool_size(prevalence)
    except PlanningError as exc:
        fail(f"--prevalence 须在 [0, 1) 之间:{prevalence!r}", str(exc))
    out = advice.as_dict()
    out["prevalence_estimate"] = estimate.as_dict() if estimate else None
    best = next(o for o in advice.options if o.size == advice.best_size)
    text = (
        f"患病率 {advice.prevalence:.4%}: 建议 {advice.best_size} 混 1,"
        f"每人 {best.tests_per_person:.3f} 次检测;每万人阳性管 {best.positive_tubes_per_10k:.1f},"
        f"复核 {best.recalls_per_10k:.1f} 人"
    )
    if estimate:
        text += (
            f"\n既往结果估计患病率 {estimate.estimate:.4%}"
            f"(95% 区间 {estimate.low:.4%}–{estimate.high:.4%},{estimate.tubes} 管)"
        )
    emit(out, as_json=as_json, text=text)


@app.command("capacity")
def capacity(
    population: int = typer.Option(..., "--population", help="People to test."),
    pool_mix: str = typer.Option(
        "20:1", "--pool-mix", help="Pool sizes and shares of people, e.g. 20:0.9,10:0.08,1:0.02."
    ),
    prevalence: float = typer.Option(0.001, "--prevalence", help="Prevalence in [0, 1)."),
    sites: int = typer.Option(20, "--sites"),
    stations_per_site: int = typer.Option(4, "--stations-per-site"),
    samplers_per_station: int = typer.Option(2, "--samplers-per-station"),
    swab_seconds: float = typer.Option(30.0, "--swab-seconds"),
    swab_cv: float = typer.Option(0.0, "--swab-cv", help="Variability of swab times (0 = none)."),
    sampling_hours: float = typer.Option(12.0, "--sampling-hours"),
    box_tubes: int = typer.Option(50, "--box-tubes"),
    cadence_minutes: float = typer.Option(60.0, "--cadence-minutes", help="Courier pick-ups."),
    travel_minutes: float = typer.Option(30.0, "--travel-minutes"),
    sites_per_trip: int = typer.Option(4, "--sites-per-trip"),
    vehicles: int = typer.Option(5, "--vehicles"),
    lab_tubes_per_hour: float = typer.Option(2000.0, "--lab-tubes-per-hour"),
    lab_batch_size: int = typer.Option(96, "--lab-batch-size"),
    lab_batch_minutes: float = typer.Option(150.0, "--lab-batch-minutes"),
    lab_open_hours: float = typer.Option(24.0, "--lab-open-hours"),
    deadline_hours: float = typer.Option(24.0, "--deadline-hours"),
    queue_cap: float = typer.Option(15.0, "--queue-cap"),
    simulate: bool = typer.Option(False, "--simulate", help="Also run the SimPy simulation."),
    seed: int = typer.Option(1, "--seed", help="Seed of the simulation."),
    reverse: bool = typer.Option(
        False, "--reverse", help="Size the resources for the population and deadline instead."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line."),
) -> None:
    """Answer how long a round takes and what limits it, or (--reverse) what it needs."""
    from tongxin.planning.capacity import RoundInputs, analyse, require
    from tongxin.planning.rules import PlanningError, parse_pool_mix
    from tongxin.planning.simulation import simulate as run_simulation

    try:
        mix = parse_pool_mix(pool_mix)
    except PlanningError as exc:
        fail(f"--pool-mix 格式应为 大小:比例,...:{pool_mix!r}", str(exc))
    inputs = RoundInputs(
        population=population,
        pool_mix=mix,
        prevalence=prevalence,
        sites=sites,
        stations_per_site=stations_per_site,
        samplers_per_station=samplers_per_station,
        swab_seconds=swab_seconds,
        swab_cv=swab_cv,
        sampling_hours=sampling_hours,
        box_tubes=box_tubes,
        courier_cadence_minutes=cadence_minutes,
        travel_minutes=travel_minutes,
        sites_per_trip=sites_per_trip,
        vehicles=vehicles,
        lab_tubes_per_hour=lab_tubes_per_hour,
        lab_batch_size=lab_batch_size,
        lab_batch_minutes=lab_batch_minutes,
        lab_open_hours=lab_open_hours,
        deadline_hours=deadline_hours,
        queue_cap=queue_cap,
    )
    try:
        if reverse:
            need = require(inputs)
            out: dict[str, object] = need.as_dict()
            n = need.needed
            thumb = need.rules_of_thumb
            text = (
                f"{population} 人 {deadline_hours:g} 小时内:采样点 {n['sites']}(经验 "
                f"{thumb['sites'][0]}–{thumb['sites'][1]}),采样台 {n['stations']}(经验 "
                f"{thumb['stations'][0]}–{thumb['stations'][1]}),采样人员 {n['samplers']}"
                f"(经验 {thumb['samplers'][0]}),转运车 {n['couriers']},"
                f"实验室 {n['lab_tubes_per_hour']} 管/小时;结果出齐 "
                f"{need.check.stage_completion_hours['results']:.1f} 小时"
            )
        else:
            result = analyse(inputs)
            out = {"analytic": result.as_dict(), "inputs": inputs.as_dict()}
            if simulate:
                out["simulation"] = run_simulation(inputs, seed=seed).as_dict()
            done = result.stage_completion_hours
            text = (
                f"采样 {done['sampling']:.1f} h,转运 {done['transport']:.1f} h,"
                f"检测 {done['lab']:.1f} h,结果 {done['results']:.1f} h;瓶颈 {result.bottleneck};"
                f"{'能' if result.meets_deadline else '不能'}在 {deadline_hours:g} h 内完成"
            )
    except PlanningError as exc:
        fail(f"参数 {exc.field} 不可用:{exc}", f"{exc.field}: {exc}")
    emit(out, as_json=as_json, text=text)


def _parse_throughput(raw: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in raw:
        code, _, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            fail(
                f"--throughput 格式应为 采样点=人/小时:{item!r}",
                f"--throughput is SITE=N: {item!r}",
            )
        if not code or rate <= 0:
            fail(f"--throughput 须为正数:{item!r}", f"--throughput must be positive: {item!r}")
        out[code] = rate
    return out


@app.command("schedule")
def schedule(
    round_code: str = typer.Option(..., "--round", help="Code of the round to schedule."),
    throughput: list[str] = typer.Option(
        [], "--throughput", help="SITE=PEOPLE_PER_STATION_HOUR, overrides the setting per site."
    ),
    teams: int | None = typer.Option(
        None, "--teams", min=1, help="Home-sampling teams (default: by visits per team)."
    ),
    svg_dir: Path | None = typer.Option(
        None, "--svg-dir", help="Write the queue chart of each site as SITE.svg here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Assign every building (big ones by unit) to a site and a time slot; exit 1 if it cannot."""
    from tongxin.commands import command_session
    from tongxin.planning.rules import PlanningError
    from tongxin.planning.service import build_schedule, schedule_json, site_chart
    from tongxin.screening.cli_setup import round_or_fail
    from tongxin.settings import get_settings

    overrides = _parse_throughput(throughput)
    with command_session() as session:
        rnd = round_or_fail(session, round_code)
        try:
            result = build_schedule(
                session, rnd=rnd, settings=get_settings(), throughput=overrides, teams=teams
            )
        except PlanningError as exc:
            fail(f"无法排班({exc.field}):{exc}", f"cannot schedule ({exc.field}): {exc}")
        out = schedule_json(result)
        if svg_dir is not None and result.plan.feasible:
            svg_dir.mkdir(parents=True, exist_ok=True)
            for site in result.data.sites:
                (svg_dir / f"{site.code}.svg").write_text(site_chart(result, site), "utf-8")
    plan = result.plan
    if plan.feasible:
        text = (
            f"轮次 {round_code}: {len(result.data.groups)} 组分配到 "
            f"{len(result.data.sites)} 个采样点;峰值预计排队 {plan.peak_queue:.2f} 人"
            f"(下界 {plan.lower_bound:.2f},差距 {plan.gap:.1%}),"
            f"步行 {plan.walking_person_minutes:.0f} 人·分钟;上门 {len(result.data.home_tasks)} 人,"
            f"{len(result.routes)} 个小组"
        )
    else:
        text = "\n".join(f"无法排班:{p.zh}\ncannot schedule: {p.en}" for p in plan.problems)
    emit(out, as_json=as_json, text=text)
    if not plan.feasible:
        raise typer.Exit(1)
