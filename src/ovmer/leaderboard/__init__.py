"""``ovmer leaderboard``: many models' result files scored into one table (docs/baselines.md, 'Leaderboard').

- :mod:`.discovery` — upstream baseline roots (both file namings) and ``ovmer bench`` run folders;
- :mod:`.table` — scoring every cell with the one scorer, rows, JSON, the paper's Table 2 rows;
- :mod:`.report` — terminal table, Markdown report, heatmap and mean chart.
"""

from ovmer.leaderboard.table import Leaderboard, Row, build_leaderboard, flat_metrics, paper_table

__all__ = ["Leaderboard", "Row", "build_leaderboard", "flat_metrics", "paper_table"]
