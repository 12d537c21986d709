"""What a training run tells the person watching it: a bar on a terminal, plain lines in a log.

On a terminal with ``train.progress`` on, a tqdm bar counts steps towards a step budget, or
seconds towards a ``minutes`` budget (so the bar has a total and an ETA either way). Piped
output, or ``train.progress: false`` (``--no-progress``), gets one plain line every
``train.print_every`` steps instead, with no carriage returns. After the first steps the
run's duration is estimated once, and a budget that would take over an hour is said so.

    progress = Progress(total_steps=3000, minutes=None, interactive=True, print_every=100, start_step=0)
    progress.update(step, elapsed, losses)   # after each step
    progress.close()
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

WARN_AFTER_SECONDS = 3600.0  # a run estimated to take longer gets a one-line warning
ESTIMATE_AFTER_STEPS = 5  # steps timed before estimating (the first one includes warm-up)


def duration(seconds: float) -> str:
    """``3h05m``, ``4m10s``, ``12s``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def is_terminal() -> bool:
    return sys.stdout.isatty()


class Progress:
    def __init__(self, *, total_steps: int | None, minutes: float | None, interactive: bool,
                 print_every: int, start_step: int, start_elapsed: float = 0.0, enabled: bool = True) -> None:
        self.total_steps = total_steps
        self.budget_seconds = None if minutes is None else minutes * 60
        self.print_every = print_every
        self.enabled = enabled
        self.start_step, self.start_elapsed = start_step, start_elapsed
        self.estimated = not enabled
        self.first_step_end: tuple[int, float] | None = None  # (step, elapsed) after warm-up
        self.bar = None
        if enabled and interactive:
            self.bar = self._time_bar() if self._by_time() else tqdm(
                total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def _by_time(self) -> bool:
        return self.total_steps is None and self.budget_seconds is not None

    def _time_bar(self) -> tqdm:
        return tqdm(total=round(self.budget_seconds), initial=round(self.start_elapsed), unit="s", dynamic_ncols=True,
                    bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}{postfix}]")

    def remaining_seconds(self, step: int, elapsed: float) -> float | None:
        """The estimated seconds left: the nearer of the step budget (at the rate so far) and the time budget."""
        left = []
        if self.budget_seconds is not None:
            left.append(self.budget_seconds - elapsed)
        done = step - self.start_step
        if self.total_steps is not None and done > 0:
            left.append((self.total_steps - step) * (elapsed - self.start_elapsed) / done)
        return max(0.0, min(left)) if left else None

    def update(self, step: int, elapsed: float, losses: dict[str, float] | None = None) -> None:
        if not self.enabled:
            return
        if not self.estimated:
            self._estimate(step, elapsed)
        if self.bar is not None:
            if self._by_time():
                self.bar.update(max(0, min(round(elapsed), self.bar.total) - self.bar.n))
            else:
                self.bar.update(step - self.bar.n)
            if losses:
                self.bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
        elif step % self.print_every == 0:
            print(self._line(step, elapsed, losses), flush=True)

    def _line(self, step: int, elapsed: float, losses: dict[str, float] | None) -> str:
        of = f"/{self.total_steps:,}" if self.total_steps is not None else ""
        remaining = self.remaining_seconds(step, elapsed)
        eta = f", about {duration(remaining)} left" if remaining is not None else ""
        scalars = "".join(f"  {k} {v:.3g}" for k, v in (losses or {}).items())
        return f"step {step:,}{of}  {duration(elapsed)} elapsed{eta}{scalars}"

    def _estimate(self, step: int, elapsed: float) -> None:
        """Once, after the first steps: warn when the run would take over an hour."""
        if self.first_step_end is None:
            self.first_step_end = (step, elapsed)  # the first step's time includes warm-up: not counted
            return
        first_step, first_elapsed = self.first_step_end
        if step - first_step < ESTIMATE_AFTER_STEPS:
            return
        self.estimated = True
        per_step = (elapsed - first_elapsed) / (step - first_step)
        if self.total_steps is None:
            return  # a minutes budget says its own duration
        seconds = (self.total_steps - step) * per_step + elapsed
        if self.budget_seconds is not None:
            seconds = min(seconds, self.budget_seconds)
        if seconds > WARN_AFTER_SECONDS:
            self.write(f"note: at {per_step:.2g} s per step, {self.total_steps:,} steps take about {duration(seconds)}; "
                       "set a smaller budget with --steps N or --minutes M")

    def write(self, line: str) -> None:
        (self.bar.write if self.bar is not None else print)(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
