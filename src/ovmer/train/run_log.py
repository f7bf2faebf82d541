"""What a training run writes about itself: metrics, the loss curve, skipped samples, trackers, progress.

Files in the run folder (docs/training.md, "Logging")::

    metrics.jsonl     one row every ``run.log_every`` steps: step, epoch, loss, lr, samples/s,
                      tokens/s, step time (means over the steps since the previous row)
    loss_curve.png    loss against step, redrawn when the run ends (also after an interruption)
    skipped.jsonl     samples whose media failed while training (dropped from their batch)

Only the main process writes files and shows the progress bar; accelerate trackers
(``run.log_with``: TensorBoard, wandb …) receive the same values as ``metrics.jsonl``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from ovmer.atomic import atomic_open, write_text_atomic
from ovmer.results.jsonl import append_json_lines, read_json_lines
from ovmer.train.config import TrainConfig

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
SKIPPED_FILE = "skipped.jsonl"
LOSS_PNG = "loss_curve.png"


class RunLog:
    """The metrics log of one run: call :meth:`start`, then :meth:`add_step` per step, then :meth:`close`."""

    def __init__(self, cfg: TrainConfig, accelerator: Any, *, resumed_at: int | None) -> None:
        """Open the log; ``resumed_at``: the step of the checkpoint the run resumed from, if any."""
        self.cfg = cfg
        self.accelerator = accelerator
        self.run_dir = Path(cfg.run.output_dir)
        self.main = accelerator.is_main_process
        self.progress: Any = None
        self._window: list[torch.Tensor] = []
        self._window_samples = self._window_tokens = 0
        self._window_start = time.perf_counter()
        if self.main and resumed_at is not None:
            truncate_metrics(self.run_dir / METRICS_FILE, resumed_at)
        if self.main and cfg.run.log_with:
            accelerator.init_trackers(cfg.name, config=_flat_config(cfg))

    def start(self, step: int) -> None:
        """Show the progress bar and start timing the first metrics window at ``step``."""
        self.progress = _progress(self.main and self.cfg.run.progress, step, self.cfg.total_steps)
        self._window_start = time.perf_counter()

    def record_skipped(self, step: int, rows: list[dict[str, Any]]) -> None:
        """Append the samples dropped at (0-based) ``step`` to ``skipped.jsonl``, with a warning each."""
        if not rows:
            return
        append_json_lines(self.run_dir / SKIPPED_FILE, [{"step": step, **row} for row in rows])
        for row in rows:
            log.warning("skipped sample %s at step %d: %s", row["name"], step, row["error"])

    def add_step(self, done: int, loss: torch.Tensor, samples: int, tokens: int, lr: float) -> None:
        """Count optimiser step ``done`` (1-based): its loss (mean over processes), this process's
        samples and non-padding tokens, and the learning rate after it; write a row when one is due."""
        self._window.append(loss)
        self._window_samples += samples
        self._window_tokens += tokens
        if self.progress is not None:
            self.progress.update(0, completed=done, loss=float(loss))
        if done % self.cfg.run.log_every == 0 or done == self.cfg.total_steps:
            self._write_row(done, lr)

    def _write_row(self, done: int, lr: float) -> None:
        elapsed = time.perf_counter() - self._window_start
        world = self.accelerator.num_processes
        row = {
            "step": done,
            "epoch": done / self.cfg.run.iters_per_epoch,
            "loss": float(torch.stack(self._window).mean()),
            "lr": lr,
            "samples_per_s": self._window_samples * world / elapsed,
            "tokens_per_s": self._window_tokens * world / elapsed,
            "step_time_s": elapsed / len(self._window),
        }
        if self.main:
            append_json_lines(self.run_dir / METRICS_FILE, [row])
        if self.cfg.run.log_with:
            self.accelerator.log({k: v for k, v in row.items() if k != "step"}, step=done)
        self._window, self._window_samples, self._window_tokens = [], 0, 0
        self._window_start = time.perf_counter()

    def close(self) -> None:
        """Stop the progress bar, redraw the loss curve and close the trackers."""
        if self.progress is not None:
            self.progress.stop()
        if self.main and (self.run_dir / METRICS_FILE).is_file():
            plot_loss_curve(self.run_dir / METRICS_FILE, self.run_dir / LOSS_PNG)
        if self.cfg.run.log_with:
            self.accelerator.end_training()


def plot_loss_curve(metrics_path: Path, png_path: Path) -> bool:
    """Loss against step from ``metrics.jsonl`` into a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (extra [plot]); no %s written", png_path.name)
        return False
    rows = read_json_lines(metrics_path)
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=1.2)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (answer tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        with atomic_open(png_path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=100)
    finally:
        plt.close(fig)
    return True


def truncate_metrics(path: Path, last_step: int) -> None:
    """On resume, drop metric rows written after the checkpoint (they will be written again), and a
    torn last row of a killed run."""
    if not path.is_file():
        return
    keep = [row for row in read_json_lines(path) if row["step"] <= last_step]
    write_text_atomic(path, "".join(json.dumps(row) + "\n" for row in keep))


def _flat_config(cfg: TrainConfig) -> dict[str, Any]:
    """The config as ``section.key`` -> scalar, the form trackers take as hyperparameters."""
    flat: dict[str, Any] = {}
    for section, values in cfg.to_dict().items():
        if isinstance(values, dict):
            for k, v in values.items():
                flat[f"{section}.{k}"] = v if isinstance(v, (int, float, str, bool)) else str(v)
        else:
            flat[section] = values
    return flat


def _progress(enabled: bool, start: int, total: int) -> Any:
    if not enabled:
        return None
    from rich.progress import TextColumn

    from ovmer.progress import progress_bar

    bar = progress_bar("train", TextColumn("loss {task.fields[loss]:.4f}"))
    bar.add_task("train", total=total, completed=start, loss=float("nan"))
    bar.start()
    return bar
