"""Training a MusicVAE: the experiment config, the Sacred experiment, the loop and its parts
(schedules, the training checkpoint, the run log, stop signals, several processes)."""
