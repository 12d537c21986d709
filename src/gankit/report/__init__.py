"""Pictures of a run: sample grids, loss curves and toy-mode scatter plots."""
