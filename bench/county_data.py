"""The synthetic county of the cross-check benchmark: staff/demo.py's generator, sized up.

`build(persons)` writes `persons` certified persons in survey households (with their
non-disabled members), their survey answers, a poverty-monitoring roster of about
2.5 × persons members (70 % of the survey households plus roster-only households,
30 % of them 监测户), a civil-affairs benefit roster for a third of the certified
persons, and task-area records (education plans, rehabilitation services, pairings,
assistance measures), so that every rule fires somewhere. It is the demo county
(`manage.py seed_demo`) with `BENCH_OPTIONS`: one generator to keep realistic.
Rows go in with COPY (PostgreSQL) or executemany (SQLite). Deterministic for a seed.
"""

from datetime import date

from staff.demo import CountyOptions, build_demo_county

# The demo's roster covers about 1.4 × persons members; covering 70 % of the survey
# households brings it to the ≈ 2.5 × the cross-check targets were set for.
BENCH_OPTIONS = CountyOptions(
    roster_share=0.7,
    civil_roster_share=0.33,
    rehab_service_share=0.3,
    users=False,  # nobody logs in: no password hashing in the generate figure
)


def build(persons: int, seed: int = 2026, as_of: date = date(2026, 6, 30)) -> dict[str, int]:
    """Write the synthetic county into a registry without certificates; returns the rows
    written per model label."""
    summary = build_demo_county(persons=persons, seed=seed, as_of=as_of, options=BENCH_OPTIONS)
    return summary.rows
