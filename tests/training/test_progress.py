"""Progress: plain lines for logs, a time bar for minutes budgets, a warning for long runs."""

from gankit.training.progress import Progress, duration


def test_plain_lines_every_n_steps_without_carriage_returns(capsys):
    progress = Progress(total_steps=30, minutes=None, interactive=False, print_every=10, start_step=0)
    for step in range(1, 31):
        progress.update(step, elapsed=step * 0.5, losses={"loss_d": 0.5})
    progress.close()
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["10/30", "20/30", "30/30"]
    assert "about 10s left" in lines[0] and "loss_d 0.5" in lines[0]


def test_a_minutes_budget_gets_a_time_bar_with_a_total(capsys):
    progress = Progress(total_steps=None, minutes=2, interactive=True, print_every=10, start_step=0)
    assert progress.bar.total == 120 and progress.bar.unit == "s"
    progress.update(1, elapsed=30.2)
    assert progress.bar.n == 30
    assert progress.remaining_seconds(1, 30.2) == 120 - 30.2
    progress.close()


def test_a_run_over_an_hour_is_announced_once(capsys):
    progress = Progress(total_steps=200_000, minutes=None, interactive=False, print_every=1000, start_step=0)
    for step in range(1, 20):
        progress.update(step, elapsed=step * 7.7)
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "200,000 steps take about 427h" in notes[0] and "--steps" in notes[0]


def test_short_runs_and_minutes_budgets_are_not_announced(capsys):
    for total, minutes in ((100, None), (200_000, 5.0)):
        progress = Progress(total_steps=total, minutes=minutes, interactive=False, print_every=1000, start_step=0)
        for step in range(1, 20):
            progress.update(step, elapsed=step * 7.7)
    assert "note:" not in capsys.readouterr().out


def test_duration_text():
    assert [duration(s) for s in (5, 250, 3 * 3600 + 300)] == ["5s", "4m10s", "3h05m"]
