"""What a user runs on a trained model: the generation and evaluation command lines, and the
libraries they write with (MIDI files with piano rolls, the evaluation measures)."""
